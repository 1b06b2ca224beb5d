// --limit-rate at the size the issue names: 40 MiB at 8 MiB/s takes 5 s ± 10%, for glacier-put (parts of 8 MiB,
// 5 in flight) and for glacier-job output (pieces of 8 MiB, 4 at once), each next to the same command unlimited
// in the same run. The figures are printed; the bound is the command's whole wall time, start-up included.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { run, show } from '../helpers/bins.js';
import { startLocal, type Local } from '../helpers/local.js';
import { within } from '../helpers/time.js';

const MiB = 2 ** 20;
let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;
let file: string;

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  work = mkdtempSync(join(tmpdir(), 'gp-limit-rate-'));
  env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'rate' }));
  file = join(work, 'forty-mib');
  writeFileSync(file, randomBytes(40 * MiB));
});
after(async () => {
  await local?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});


describe('--limit-rate 8M on 40 MiB: 5 s ± 10%', () => {
  let archiveId: string;

  it('glacier-put', { timeout: within(120_000) }, async (t) => {
    const free = await run('glacier-put', ['-v', 'rate', '-p', '8M', file], { env });
    assert.equal(free.code, 0, show(free));
    const paced = await run('glacier-put', ['-v', 'rate', '-p', '8M', '--limit-rate', '8M', file], { env });
    assert.equal(paced.code, 0, show(paced));
    archiveId = JSON.parse(paced.stdout.toString()).archiveId;
    t.diagnostic(`glacier-put 40 MiB: unlimited ${(free.ms / 1000).toFixed(2)} s, --limit-rate 8M ${(paced.ms / 1000).toFixed(2)} s (${(paced.ms / 5000).toFixed(3)} of 5 s)`);
    assert.ok(paced.ms >= 4500 && paced.ms <= within(5500), `40 MiB at 8 MiB/s took ${paced.ms} ms`);
  });

  it('glacier-job output', { timeout: within(120_000) }, async (t) => {
    const job = await run('glacier-job', ['retrieve', '-v', 'rate', '--', archiveId], { env });
    assert.equal(job.code, 0, show(job));
    const jobId = JSON.parse(job.stdout.toString()).JobId as string;
    const args = ['output', '-v', 'rate', '--wait', '--interval', '1s', '--piece-size', '8M', '-o', join(work, 'out')];
    const free = await run('glacier-job', [...args, '--', jobId], { env });
    assert.equal(free.code, 0, show(free));
    rmSync(join(work, 'out'));
    const paced = await run('glacier-job', [...args, '--limit-rate', '8M', '--', jobId], { env });
    assert.equal(paced.code, 0, show(paced));
    t.diagnostic(`glacier-job output 40 MiB: unlimited ${(free.ms / 1000).toFixed(2)} s, --limit-rate 8M ${(paced.ms / 1000).toFixed(2)} s (${(paced.ms / 5000).toFixed(3)} of 5 s)`);
    assert.ok(paced.ms >= 4500 && paced.ms <= within(5500), `40 MiB at 8 MiB/s took ${paced.ms} ms`);
  });
});
