// --limit-rate at the size the issue names: 40 MiB at 8 MiB/s takes 5 s ± 10%, for glacier-put (parts of 8 MiB,
// 5 in flight) and for glacier-job output (pieces of 8 MiB, 4 at once), each next to the same command unlimited
// in the same run. The transfer is timed from the first data request sent to the last one answered, as --debug
// prints them (the process's start-up, which a busy machine stretches to seconds, is not the rate's to pace);
// the whole wall time is printed beside it.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { spawn } from 'node:child_process';
import { run, show, type Ran } from '../helpers/bins.js';
import { BIN } from '../helpers/local.js';
import { startLocal, type Local } from '../helpers/local.js';
import { within } from '../helpers/time.js';

const MiB = 2 ** 20;

/** Runs a binary with --debug and times its data requests (`op`): from the first sent to the last answered. */
function timed(name: string, args: string[], op: string): Promise<Ran & { transferMs: number }> {
  const t0 = Date.now();
  const p = spawn(process.execPath, [BIN(name), '--debug', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  let first = 0;
  let last = 0;
  p.stdout.on('data', (d: Buffer) => out.push(d));
  p.stderr.setEncoding('utf8');
  p.stderr.on('data', (d: string) => {
    const now = Date.now();
    err += d;
    if (!first && d.includes(`debug: ${op} `)) first = now;
    if (new RegExp(`debug: ${op} \\d{3} in`).test(d)) last = now;
  });
  // A download's answer comes with its headers, before its body: its transfer ends when the process does.
  const ends = op === 'GetJobOutputCommand' ? 'close' : 'answer';
  return new Promise((resolve) => p.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0, transferMs: (ends === 'close' ? Date.now() : last) - first })));
}
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


const s = (ms: number) => (ms / 1000).toFixed(2);

describe('--limit-rate 8M on 40 MiB: 5 s ± 10%', () => {
  let archiveId: string;

  it('glacier-put', { timeout: within(120_000) }, async (t) => {
    const free = await timed('glacier-put', ['-v', 'rate', '-p', '8M', file], 'UploadMultipartPartCommand');
    assert.equal(free.code, 0, show(free));
    const paced = await timed('glacier-put', ['-v', 'rate', '-p', '8M', '--limit-rate', '8M', file], 'UploadMultipartPartCommand');
    assert.equal(paced.code, 0, show(paced));
    archiveId = JSON.parse(paced.stdout.toString()).archiveId;
    t.diagnostic(`glacier-put 40 MiB: unlimited ${s(free.transferMs)} s of transfer (${s(free.ms)} s wall); --limit-rate 8M ${s(paced.transferMs)} s of transfer, ${(paced.transferMs / 5000).toFixed(3)} of 5 s (${s(paced.ms)} s wall)`);
    assert.ok(paced.transferMs >= 4500 && paced.transferMs <= within(5500), `40 MiB at 8 MiB/s went in ${paced.transferMs} ms`);
  });

  it('glacier-job output', { timeout: within(120_000) }, async (t) => {
    const job = await run('glacier-job', ['retrieve', '-v', 'rate', '--', archiveId], { env });
    assert.equal(job.code, 0, show(job));
    const jobId = JSON.parse(job.stdout.toString()).JobId as string;
    const args = ['output', '-v', 'rate', '--wait', '--interval', '1s', '--piece-size', '8M', '-o', join(work, 'out')];
    const free = await timed('glacier-job', [...args, '--', jobId], 'GetJobOutputCommand');
    assert.equal(free.code, 0, show(free));
    rmSync(join(work, 'out'));
    const paced = await timed('glacier-job', [...args, '--limit-rate', '8M', '--', jobId], 'GetJobOutputCommand');
    assert.equal(paced.code, 0, show(paced));
    t.diagnostic(`glacier-job output 40 MiB: unlimited ${s(free.transferMs)} s of transfer (${s(free.ms)} s wall); --limit-rate 8M ${s(paced.transferMs)} s of transfer, ${(paced.transferMs / 5000).toFixed(3)} of 5 s (${s(paced.ms)} s wall)`);
    // Timed to the process's end: the whole is verified, renamed into place and the process exits after the last
    // byte, which on a busy machine takes up to half a second more than the bytes do.
    assert.ok(paced.transferMs >= 4500 && paced.transferMs <= within(5500) + 500, `40 MiB at 8 MiB/s went in ${paced.transferMs} ms`);
  });
});
