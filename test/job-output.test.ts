// glacier-job output of a large archive (uploaded by glacier-put), the real binary over real pipes against a real
// glacier-local: through a pipe and with -o (FILE only when complete), a response corrupted once (fetched again),
// a connection dropped mid-piece, corrupted on every attempt (exit 3, nothing unverified written), killed with -o
// and resumed (only the missing ranges fetched), cut short by `| head`. The archive is two pieces of the default
// 16 MiB (the last one short), and eighteen of the 1 MiB pieces the fault cases ask for (more than the default 4 in
// flight, the last one short): what the sizes exercise; more bytes only cost time.
// job-tls.test.ts runs this file again over HTTPS.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { errorLines, run, sh, show, start, type Ran } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const A = { accountId: '-' };
const VAULT = 'restore';
const DEFAULT_PIECE = 16 * MiB; // glacier-job's default --piece-size
const PIECE = MiB; // the --piece-size of the fault cases
const BIG = DEFAULT_PIECE + MiB + 4321; // two default pieces, eighteen of 1 MiB; the last one short

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let local: Local;
let env: NodeJS.ProcessEnv;
let dir: string;
let big: Buffer; // uploaded by glacier-put
let bigId: string;
let bigTreeHash: string;

const job = (args: string[]): Promise<Ran> => run('glacier-job', args, { env });

function oneJson(r: Ran): Json {
  assert.equal(r.code, 0, show(r));
  const lines = r.stdout.toString('utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 1, show(r));
  return JSON.parse(lines[0]) as Json;
}

const admin = <T = Json>(method: string, path: string, body?: unknown) => local.admin<T>(method, path, body);
/** The ranges GetJobOutput was asked for since the counters were last reset, in order. */
async function outputRanges(): Promise<{ start: number; end: number; fault?: string }[]> {
  return (await admin<Json[]>('GET', 'requests'))
    .filter((r) => r.op === 'GetJobOutput' && r.range)
    .map((r) => {
      const [s, e] = String(r.range).split('-').map(Number);
      return { start: s, end: e, fault: r.fault as string | undefined };
    });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-job-output-test-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  await local.client().send(new CreateVaultCommand({ ...A, vaultName: VAULT }));
  big = randomBytes(BIG);
  bigTreeHash = treeHash(big);
  const file = join(dir, 'big.bin');
  writeFileSync(file, big);
  const put = await run('glacier-put', ['-v', VAULT, '-q', file], { env });
  assert.equal(put.code, 0, show(put));
  const res = JSON.parse(put.stdout.toString('utf8')) as Json;
  assert.equal(res.checksum, bigTreeHash);
  bigId = res.archiveId;
  rmSync(file);
});

after(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('glacier-job output of a 17 MiB archive', () => {
  let jobId: string;

  before(async () => {
    const j = oneJson(await job(['retrieve', '-v', VAULT, '--tier', 'Expedited', '--', bigId]));
    jobId = j.JobId;
    const done = oneJson(await job(['wait', '-v', VAULT, '--interval', '200ms', '--', jobId]));
    assert.equal(done.SHA256TreeHash, bigTreeHash);
  });

  it('through a pipe equals the uploaded bytes', async () => {
    await admin('DELETE', 'counters');
    const r = await job(['output', '-v', VAULT, '--', jobId]);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout.length, BIG);
    assert.ok(r.stdout.equals(big), 'stdout equals the archive');
    const ranges = await outputRanges();
    assert.equal(ranges.length, Math.ceil(BIG / DEFAULT_PIECE), 'parallel ranged GETs, one per piece');
    assert.deepEqual(ranges.map((x) => x.start).sort((a, b) => a - b), [0, DEFAULT_PIECE], 'pieces of the default 16 MiB');
  });

  it('-c 24 pieces of 1 MiB in flight: exact, and no warning on stderr', async () => {
    const r = await job(['output', '-v', VAULT, '--piece-size', '1M', '-c', '24', '--', jobId]);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stderr, '', 'nothing on stderr (before: MaxListenersExceededWarning)');
    assert.ok(r.stdout.equals(big), 'stdout equals the archive');
  });

  it('into -o FILE in pieces of the default 64 MiB (written in place, not held)', async () => {
    await admin('DELETE', 'counters');
    const file = join(dir, 'in-place.bin');
    const r = await job(['output', '-v', VAULT, '-o', file, '--', jobId]);
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.ok(readFileSync(file).equals(big), 'FILE equals the archive');
    assert.deepEqual(await outputRanges(), [{ start: 0, end: BIG - 1, fault: undefined }], 'one ranged GET for the 17 MiB');
    rmSync(file);
  });

  it('with -o: FILE appears only complete, at the end; FILE.partial and FILE.partial.json are gone', async () => {
    const file = join(dir, 'restored.bin');
    // The first response is held a moment: FILE.partial is there to be seen however fast the rest goes.
    await admin('PUT', 'faults', { spec: 'GetJobOutput:slow:count=1,ms=300' });
    const s = start('glacier-job', ['output', '-v', VAULT, '--piece-size', '1M', '-o', file, '--', jobId], { env });
    let sawPartial = false;
    let early: string | null = null;
    const poll = setInterval(() => {
      try {
        if (existsSync(`${file}.partial`)) sawPartial = true;
        if (existsSync(file) && statSync(file).size !== BIG) early ??= `FILE seen with ${statSync(file).size} bytes`;
      } catch {
        // renamed between the two calls
      }
    }, 5);
    const r = await s.done;
    clearInterval(poll);
    await admin('DELETE', 'faults');
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.length, 0);
    assert.equal(early, null);
    assert.ok(sawPartial, 'the download went to FILE.partial first');
    assert.ok(readFileSync(file).equals(big), 'FILE equals the archive');
    for (const f of [`${file}.partial`, `${file}.partial.json`, `${file}.partial.json.tmp`]) assert.ok(!existsSync(f), `${f} removed`);
    rmSync(file);
  });

  it('a response corrupted once: that piece is fetched again and the output is still exact', async () => {
    await admin('DELETE', 'counters');
    await admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt:count=1' });
    try {
      const r = await job(['output', '-v', VAULT, '--piece-size', '1M', '--', jobId]);
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      assert.ok(r.stdout.equals(big), 'stdout equals the archive');
      assert.deepEqual(errorLines(r.stderr, 'glacier-job'), [], 'only warnings on stderr');
      assert.match(r.stderr, /^glacier-job: warning: fetching bytes \d+-\d+ again \(.*tree hash/m);
      const ranges = await outputRanges();
      const bad = ranges.filter((x) => x.fault === 'corrupt');
      assert.equal(bad.length, 1, JSON.stringify(ranges));
      const key = (x: { start: number; end: number }) => `${x.start}-${x.end}`;
      const times = new Map<string, number>();
      for (const x of ranges) times.set(key(x), (times.get(key(x)) ?? 0) + 1);
      assert.equal(times.get(key(bad[0])), 2, `the corrupted range ${key(bad[0])} was fetched twice`);
      for (const [k, n] of times) if (k !== key(bad[0])) assert.equal(n, 1, `${k} fetched once`);
      assert.equal(times.size, Math.ceil(BIG / PIECE));
    } finally {
      await admin('DELETE', 'faults');
    }
  });

  it('a connection dropped mid-piece: that piece is fetched again and the output is still exact', async () => {
    await admin('DELETE', 'counters');
    await admin('PUT', 'faults', { spec: 'GetJobOutput:drop:count=1' });
    try {
      const r = await job(['output', '-v', VAULT, '--piece-size', '1M', '--', jobId]);
      assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
      assert.ok(r.stdout.equals(big), 'stdout equals the archive');
      assert.deepEqual(errorLines(r.stderr, 'glacier-job'), [], 'only warnings on stderr');
      const ranges = await outputRanges();
      const dropped = ranges.filter((x) => x.fault === 'drop');
      assert.equal(dropped.length, 1, JSON.stringify(ranges));
      assert.equal(ranges.filter((x) => x.start === dropped[0].start).length, 2, 'the dropped range was fetched again');
    } finally {
      await admin('DELETE', 'faults');
    }
  });

  it('corrupted on every attempt: exit 3 and nothing unverified on stdout', async () => {
    const isVerifiedPrefix = (out: Buffer) => out.length % PIECE === 0 && out.equals(big.subarray(0, out.length));
    // Three attempts a piece (AWS_MAX_ATTEMPTS, which the piece retries follow): the default ten would spend about
    // 40 s of each run sleeping through backoff for the same outcome.
    const every = (args: string[]) => run('glacier-job', args, { env: { ...env, AWS_MAX_ATTEMPTS: '3' } });
    await admin('DELETE', 'counters');
    await admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt' });
    try {
      const r = await every(['output', '-v', VAULT, '--piece-size', '1M', '--', jobId]);
      assert.equal(r.code, 3, `exit ${r.code}: ${r.stderr}`);
      assert.ok(isVerifiedPrefix(r.stdout), `stdout (${r.stdout.length} bytes) is a prefix of whole verified pieces`);
      const errs = errorLines(r.stderr, 'glacier-job');
      assert.equal(errs.length, 1, r.stderr);
      assert.match(errs[0], /^glacier-job: bytes \d+-\d+ do not match their tree hash .*on every attempt/);
      const ranges = await outputRanges();
      assert.ok(ranges.length > 1 && ranges.every((x) => x.fault === 'corrupt'));
      const tries = new Map<number, number>();
      for (const x of ranges) tries.set(x.start, (tries.get(x.start) ?? 0) + 1);
      assert.equal(Math.max(...tries.values()), 3, `the failing piece was tried the 3 attempts, none more: ${JSON.stringify([...tries])}`);
    } finally {
      await admin('DELETE', 'faults');
    }
    // The first three responses are good, every later one corrupt: exactly those three pieces reach stdout.
    await admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt:skip=3' });
    try {
      const r = await every(['output', '-v', VAULT, '-c', '1', '--piece-size', '1M', '--', jobId]);
      assert.equal(r.code, 3, `exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout.length, 3 * PIECE, 'the three verified pieces, nothing more');
      assert.ok(isVerifiedPrefix(r.stdout));
      assert.match(errorLines(r.stderr, 'glacier-job').join('\n'), new RegExp(`^glacier-job: bytes ${3 * PIECE}-${4 * PIECE - 1} do not match`));
    } finally {
      await admin('DELETE', 'faults');
    }
  });

  it('killed mid-download with -o, a second run resumes: only ranges after the verified bytes are fetched, and the file is exact', async () => {
    const file = join(dir, 'resumed.bin');
    const record = `${file}.partial.json`;
    await admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=300' });
    let verified = 0;
    try {
      const s = start('glacier-job', ['output', '-v', VAULT, '-c', '1', '--piece-size', '1M', '-o', file, '--', jobId], { env });
      // Killed once the record says some bytes are verified (each piece is held 300 ms, so many remain).
      verified = await until(() => {
        try {
          return (JSON.parse(readFileSync(record, 'utf8')) as Json).verified as number;
        } catch {
          return 0; // not written yet
        }
      }, 'verified bytes in the download record', 60_000, 50);
      s.proc.kill('SIGKILL');
      const killed = await s.done;
      assert.equal(killed.signal, 'SIGKILL', show(killed));
    } finally {
      await admin('DELETE', 'faults');
    }
    assert.ok(!existsSync(file), 'FILE does not exist before the download is complete');
    const rec = JSON.parse(readFileSync(record, 'utf8')) as Json;
    verified = rec.verified;
    assert.ok(verified > 0 && verified < BIG && verified % PIECE === 0, `verified ${verified}`);
    assert.ok(statSync(`${file}.partial`).size >= verified);

    await admin('DELETE', 'counters');
    const r = await job(['output', '-v', VAULT, '-o', file, '--', jobId]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stderr, new RegExp(`^glacier-job: resuming .*resumed\\.bin after ${verified} verified bytes$`, 'm'));
    assert.deepEqual(errorLines(r.stderr, 'glacier-job').filter((l) => !/resuming/.test(l)), []);
    const ranges = await outputRanges();
    assert.ok(ranges.length > 0);
    for (const x of ranges) assert.ok(x.start >= verified, `range ${x.start}-${x.end} is before the verified offset ${verified}`);
    assert.equal(Math.min(...ranges.map((x) => x.start)), verified, 'it starts right at the verified offset');
    assert.equal(ranges.reduce((n, x) => n + x.end - x.start + 1, 0), BIG - verified, 'only the missing bytes, once each');
    assert.ok(readFileSync(file).equals(big), 'the resumed file equals the archive');
    assert.ok(!existsSync(`${file}.partial`) && !existsSync(record));
    rmSync(file);
  });

  it('`glacier-job output ... | head -c 100` ends quietly', async () => {
    const code = join(dir, 'head.code');
    const err = join(dir, 'head.err');
    const s = await sh(`{ "$NODE" "$BIN/glacier-job" output -v "$1" -- "$2" 2>"$3"; echo $? >"$4"; } | head -c 100`, [VAULT, jobId, err, code], { env }).done;
    assert.equal(s.code, 0, show(s));
    assert.ok(s.stdout.equals(big.subarray(0, 100)), 'head got the first 100 bytes');
    assert.equal(readFileSync(code, 'utf8').trim(), '0', 'glacier-job exits 0');
    assert.equal(readFileSync(err, 'utf8'), '', 'and prints nothing on stderr');
  });
});
