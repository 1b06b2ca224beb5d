// glacier-restore --dry-run to S3: the storage cost counts S3's 40 KB of overhead per object in the GLACIER and
// DEEP_ARCHIVE classes (8 KB at STANDARD's price, 32 KB at the class's), and the plan's table on a terminal says
// which figures are totals for the plan (never a total shown as a price per GB).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PRICES, usd } from '../src/restore/prices.js';
import { run, sh, show } from './helpers/bins.js';
import { BIN, useLocal, type Local } from './helpers/local.js';

const GB = 2 ** 30;
let local: Local;
let work: string;

/** An inventory of `n` archives of `size` bytes each. */
function inventory(n: number, size: number): string {
  const list = Array.from({ length: n }, (_, i) => ({
    ArchiveId: `arch${String(i).padStart(6, '0')}${'y'.repeat(120)}`, ArchiveDescription: `f${i}.bin`,
    CreationDate: new Date(Date.UTC(2016, 0, 1) + i * 60_000).toISOString(), Size: size, SHA256TreeHash: 'b'.repeat(64),
  }));
  const path = join(work, `inv-${n}-${size}.json`);
  writeFileSync(path, JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:000000000000:vaults/v', InventoryDate: '2026-01-01T00:00:00Z', ArchiveList: list }));
  return path;
}

const plan = (stdout: Buffer) => JSON.parse(stdout.toString('utf8').trim().split('\n').at(-1)!);

describe('glacier-restore --dry-run: S3 storage with its per-object overhead, and the table on a terminal', () => {
  const env = () => ({ ...local.env, XDG_STATE_HOME: join(work, 'state') });
  useLocal('restore-plan-table-', (l, w) => ([local, work] = [l, w]));

  it('1,000 archives of 10 KB to DEEP_ARCHIVE: storage is the bytes and 40 KB per object, 8 KB of it at STANDARD', async () => {
    const n = 1000;
    const size = 10_000;
    const r = await run('glacier-restore', ['-v', 'v', '--to', 's3://bucket/p/', '--inventory', inventory(n, size), '--dry-run'], { env: env() });
    assert.equal(r.code, 0, show(r));
    const p = DEFAULT_PRICES.regions['us-east-1'];
    const s = plan(r.stdout);
    const want = ((n * size) / GB) * p.s3StoragePerGBMonth.DEEP_ARCHIVE.usd + ((n * 32 * 1024) / GB) * p.s3StoragePerGBMonth.DEEP_ARCHIVE.usd + ((n * 8 * 1024) / GB) * p.s3StoragePerGBMonth.STANDARD.usd;
    assert.equal(s.cost.s3StoragePerMonth, usd(want));
    // Small objects: the overhead is most of it (more than the bytes themselves).
    assert.ok(s.cost.s3StoragePerMonth > 2 * usd(((n * size) / GB) * p.s3StoragePerGBMonth.DEEP_ARCHIVE.usd));
    assert.equal(s.cost.total, usd(s.cost.retrieval + s.cost.requests + s.cost.transfer + s.cost.s3Requests + s.cost.s3StoragePerMonth));
    // STANDARD has no such overhead: the bytes alone.
    const std = await run('glacier-restore', ['-v', 'v', '--to', 's3://bucket/q/', '--inventory', inventory(n, size), '--dry-run', '--storage-class', 'STANDARD'], { env: env() });
    assert.equal(std.code, 0, show(std));
    assert.equal(plan(std.stdout).cost.s3StoragePerMonth, usd(((n * size) / GB) * p.s3StoragePerGBMonth.STANDARD.usd));
  });

  it('on a terminal, the table labels each cost as a total for the plan, with what it counts', { skip: spawnSync('script', ['--version']).status !== 0 && 'no script(1) here for a terminal' }, async () => {
    const inv = inventory(2000, 5 * 2 ** 20);
    const cmd = [process.execPath, BIN('glacier-restore'), '-v', 'v', '--to', 's3://bucket/t/', '--inventory', inv, '--dry-run'].map((w) => `'${w}'`).join(' ');
    const r = await sh('exec script -qec "$1 >/dev/null" /dev/null', [cmd], { env: { ...env(), SHELL: '/bin/sh' } }).done;
    assert.equal(r.code, 0, show(r));
    const text = r.stdout.toString('utf8').replace(/\r\n/g, '\n');
    const row = (k: string) => text.split('\n').find((l) => l.trimStart().startsWith(`${k} `)) ?? '';
    const s = plan(spawnSync(process.execPath, [BIN('glacier-restore'), '-v', 'v', '--to', 's3://bucket/t/', '--inventory', inv, '--dry-run'], { env: env() }).stdout);
    const $ = (x: number) => `$${x < 100 ? x.toFixed(2) : Math.round(x).toLocaleString('en-US')}`;
    assert.doesNotMatch(text, /per GB/, 'no total is labelled as a price per GB');
    assert.match(row('retrieval'), new RegExp(`^\\s*retrieval\\s+\\${$(s.cost.retrieval)} in all for 9.8 GB \\(Bulk\\)$`));
    assert.match(row('job requests'), new RegExp(`\\${$(s.cost.requests)} in all for 2,000 jobs$`));
    assert.match(row('S3 requests'), new RegExp(`\\${$(s.cost.s3Requests)} in all for 6,000 PUT-class requests$`));
    assert.match(row('S3 storage'), new RegExp(`\\${$(s.cost.s3StoragePerMonth)} a month \\(DEEP_ARCHIVE, with 40 KB of overhead per object\\)$`));
    assert.match(row('total'), new RegExp(`\\${$(s.cost.total)} \\(us-east-1 list prices of ${DEFAULT_PRICES.pricesAsOf}; S3 storage counted for one month\\)$`));
  });
});
