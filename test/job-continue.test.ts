// A FILE.partial belongs to the archive, not to the job that wrote it: `glacier-job output -o FILE` given a new
// job for the same archive continues the verified prefix another job left; the kept prefix is checked again
// against the tree hashes it was verified with, and what no longer matches (changed on disk since) is fetched
// again, so the result is exact. The file sink behind glacier-restore --to DIR continues across jobs the same way.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, InitiateJobCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { FileSink } from '../src/retrieve/file-sink.js';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const VAULT = 'continue';
const SIZE = 40 * MiB;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let local: Local;
let g: GlacierClient;
let env: NodeJS.ProcessEnv;
let dir: string;
let data: Buffer;
let archiveId: string;

const admin = <T = Json>(method: string, path: string, body?: unknown) => local.admin<T>(method, path, body);
async function outputRanges(): Promise<{ start: number; end: number }[]> {
  return (await admin<Json[]>('GET', 'requests'))
    .filter((r) => r.op === 'GetJobOutput' && r.range)
    .map((r) => {
      const [s, e] = String(r.range).split('-').map(Number);
      return { start: s, end: e };
    });
}

async function newJob(): Promise<string> {
  const r = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' } }));
  return r.jobId!;
}

/** Starts `glacier-job output -o file` slowly, waits until its record claims verified bytes, and kills it with SIGKILL. */
async function killedMidway(file: string, jobId: string): Promise<number> {
  await admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=300' });
  try {
    const s = start('glacier-job', ['output', '-v', VAULT, '-c', '1', '--piece-size', '4M', '-o', file, '--', jobId], { env });
    const verified = await until(() => {
      try {
        return (JSON.parse(readFileSync(`${file}.partial.json`, 'utf8')) as Json).verified as number;
      } catch {
        return 0;
      }
    }, `a verified prefix in ${file}.partial.json: ${s.stderr()}`, 60_000);
    s.proc.kill('SIGKILL');
    assert.equal((await s.done).signal, 'SIGKILL');
  } finally {
    await admin('DELETE', 'faults');
  }
  const verified = (JSON.parse(readFileSync(`${file}.partial.json`, 'utf8')) as Json).verified as number;
  assert.ok(verified > 0 && verified < SIZE, `verified ${verified}`);
  assert.ok(!existsSync(file), 'FILE does not exist before it is complete');
  return verified;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-job-continue-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  data = randomBytes(SIZE);
  archiveId = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, checksum: treeHash(data) }))).archiveId!;
});

after(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('glacier-job output -o FILE continues a .partial of the same archive', { timeout: within(240_000) }, () => {
  it('a new job for the same archive continues the verified prefix another job left (kill -9), fetching only the rest', async () => {
    const file = join(dir, 'continued.bin');
    const verified = await killedMidway(file, await newJob());
    const second = await newJob();
    await admin('DELETE', 'counters');
    const r = await run('glacier-job', ['output', '-v', VAULT, '-o', file, '--', second], { env });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, new RegExp(`resuming .*continued\\.bin after ${verified} verified bytes`));
    const ranges = await outputRanges();
    assert.equal(Math.min(...ranges.map((x) => x.start)), verified, 'the new job is read from the verified offset on');
    assert.equal(ranges.reduce((n, x) => n + x.end - x.start + 1, 0), SIZE - verified, 'only the missing bytes, once each');
    assert.ok(readFileSync(file).equals(data), 'the file equals the archive');
    assert.ok(!existsSync(`${file}.partial`) && !existsSync(`${file}.partial.json`));
  });

  it('a .partial whose verified bytes changed on disk is checked again: what no longer matches is fetched again, the result exact', async () => {
    const file = join(dir, 'corrupted.bin');
    const jobId = await newJob();
    const verified = await killedMidway(file, jobId);
    // One byte of the verified prefix changes on disk after it was verified.
    const at = Math.floor(verified / 2);
    const fd = openSync(`${file}.partial`, 'r+');
    writeSync(fd, Buffer.from([data[at] ^ 0xff]), 0, 1, at);
    closeSync(fd);
    await admin('DELETE', 'counters');
    const r = await run('glacier-job', ['output', '-v', VAULT, '-o', file, '--', jobId], { env });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, /no longer match the tree hash they were verified against; fetching them again/);
    const ranges = await outputRanges();
    assert.ok(ranges.some((x) => x.start <= at && at <= x.end), `the changed byte ${at} is fetched again: ${JSON.stringify(ranges)}`);
    assert.ok(readFileSync(file).equals(data), 'the file equals the archive');
  });
});

describe('the file sink continues across jobs (glacier-restore --to DIR)', () => {
  it('a new job id for the same archive id and tree hash keeps the verified prefix; another archive does not', async () => {
    const path = join(dir, 'sink.bin');
    const want = { jobId: 'job-one', vault: '', from: 0, to: SIZE - 1, archiveId, archiveTreeHash: treeHash(data), first: 0 };
    const a = await FileSink.open(path, want);
    assert.equal(a.resumed, 0);
    for (let s = 0; s < 8 * MiB; s += 4 * MiB) await a.sink.write(data.subarray(s, s + 4 * MiB), s);
    await a.sink.close();
    const b = await FileSink.open(path, { ...want, jobId: 'job-two' });
    assert.equal(b.resumed, 8 * MiB, 'the new job continues after the verified prefix');
    const leaves = treeHash(data.subarray(0, 8 * MiB));
    assert.equal(b.combiner.digest().toString('hex'), leaves, 'the running tree hash of the kept prefix');
    await b.sink.close();
    const c = await FileSink.open(path, { ...want, jobId: 'job-three', archiveId: 'another-archive' });
    assert.equal(c.resumed, 0, 'another archive starts afresh');
    await c.sink.close();
  });
});
