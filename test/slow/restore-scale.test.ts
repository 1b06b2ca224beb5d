// Slow: a 100,000-archive inventory (JSON, streamed) through glacier-restore --dry-run, with its peak RSS printed
// and bounded; and the same archives as JSON lines on stdin. Run by hand: npm run test:slow
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run, show } from '../helpers/bins.js';
import { startLocal } from '../helpers/local.js';

const N = 100_000;

test(`--dry-run over ${N} archives: every one planned, peak RSS under 200 MB`, { timeout: 20 * 60_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'restore-scale-'));
  const local = await startLocal(['--memory', '--job-delay', '0']);
  try {
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'many' }));
    // Names that collide in groups of 7, and mt2 paths, so the namer's memory is exercised too.
    await local.admin('POST', 'fill', { vault: 'many', count: N, size: 1000, description: 'photo-{i}.jpg' });
    const inv = await run('glacier-job', ['inventory', '-v', 'many'], { env });
    assert.equal(inv.code, 0, show(inv));
    const file = join(work, 'inventory.json');
    const out = await run('glacier-job', ['output', '-v', 'many', JSON.parse(inv.stdout.toString()).JobId, '--wait', '--interval', '1s', '-o', file], { env });
    assert.equal(out.code, 0, show(out));
    process.stderr.write(`inventory: ${(statSync(file).size / 2 ** 20).toFixed(1)} MiB of JSON\n`);

    const r = await run('glacier-restore', ['-v', 'many', '--to', join(work, 'out'), '--inventory', file, '--dry-run', '--max-jobs', '1000', '--max-bytes-per-day', '20M'], { env });
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.toString().trim().split('\n');
    const plan = JSON.parse(lines.at(-1)!);
    assert.equal(plan.archives, N);
    assert.equal(lines.length, N + 1);
    assert.equal(plan.bytes, N * 1000);
    assert.equal(new Set(lines.slice(0, -1).map((l) => JSON.parse(l).name)).size, N, 'every name unique');
    process.stderr.write(`glacier-restore --dry-run, ${N} archives from a JSON inventory: peak RSS ${(plan.peakRssBytes / 2 ** 20).toFixed(1)} MiB in ${(r.ms / 1000).toFixed(1)} s; ${plan.days} days at the pace set\n`);
    assert.ok(plan.peakRssBytes < 200 * 2 ** 20, `peak RSS ${plan.peakRssBytes}`);

    // The same archives as JSON lines on stdin.
    const jsonl = (JSON.parse(readFileSync(file, 'utf8')).ArchiveList as object[]).map((a) => JSON.stringify(a)).join('\n');
    const s = await run('glacier-restore', ['-v', 'many', '--to', join(work, 'out'), '--dry-run'], { env, input: jsonl });
    assert.equal(s.code, 0, show(s));
    const p2 = JSON.parse(s.stdout.toString().trim().split('\n').at(-1)!);
    assert.equal(p2.archives, N);
    process.stderr.write(`glacier-restore --dry-run, ${N} archives as JSON lines on stdin: peak RSS ${(p2.peakRssBytes / 2 ** 20).toFixed(1)} MiB\n`);
    assert.ok(p2.peakRssBytes < 200 * 2 ** 20, `peak RSS ${p2.peakRssBytes}`);
  } finally {
    await local.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
