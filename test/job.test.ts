// glacier-job end to end: the real binary spawned over real pipes against a real glacier-local whose jobs take
// time (Expedited 1 s, Standard 2 s, Bulk 3 s) and whose list pages hold 2 items. Retrieval (whole and ranged)
// and inventory (JSON and CSV) jobs, describe, list with filters over several pages, wait (done, failed, timed
// out), get in one command; and bad input refused with one line. The output of a large archive (pieces, faults,
// resume) is job-output.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, DescribeJobCommand, InitiateJobCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { run, show, type Ran } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const A = { accountId: '-' };
const VAULT = 'restore';
const OTHER = 'elsewhere';
const LISTS = 'lists';
const DELAYS = { Expedited: 1000, Standard: 2000, Bulk: 3000 };
const DESC = 'notes, "quoted", a,b "c" - kept';
const SNS = 'arn:aws:sns:us-east-1:123456789012:restores';
const BIG = 3 * MiB + 5; // uploaded by glacier-put: its description is its file name

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let local: Local;
let g: GlacierClient;
let env: NodeJS.ProcessEnv;
let dir: string;
let small: Buffer; // 5,000,000 bytes, uploaded with the SDK, description DESC
let smallId: string;
let big: Buffer; // uploaded by glacier-put
let bigId: string;
let bigTreeHash: string;

const job = (args: string[]): Promise<Ran> => run('glacier-job', args, { env });

/** The JSON lines a successful run printed. */
function jsonLines(r: Ran): Json[] {
  assert.equal(r.code, 0, show(r));
  const text = r.stdout.toString('utf8');
  assert.ok(text === '' || text.endsWith('\n'), `stdout ends with a newline: ${JSON.stringify(text)}`);
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Json);
}

function oneJson(r: Ran): Json {
  const lines = jsonLines(r);
  assert.equal(lines.length, 1, show(r));
  return lines[0];
}

/** A failure: the exit code, nothing on stdout, and exactly one line `glacier-job: ...` on stderr. */
function oneErrorLine(r: Ran, code: number, re?: RegExp): string {
  assert.equal(r.code, code, show(r));
  assert.equal(r.stdout.length, 0, show(r));
  assert.match(r.stderr, /^glacier-job: [^\n]+\n$/, `one error line: ${show(r)}`);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  if (re) assert.match(r.stderr, re);
  return r.stderr.trim();
}

const admin = <T = Json>(method: string, path: string, body?: unknown) => local.admin<T>(method, path, body);
const requests = () => admin<Json[]>('GET', 'requests');
/** The ranges GetJobOutput was asked for since the counters were last reset, in order. */
async function outputRanges(): Promise<{ start: number; end: number; fault?: string }[]> {
  return (await requests())
    .filter((r) => r.op === 'GetJobOutput' && r.range)
    .map((r) => {
      const [s, e] = String(r.range).split('-').map(Number);
      return { start: s, end: e, fault: r.fault as string | undefined };
    });
}

async function uploadSmall(vaultName: string, data: Buffer, description?: string): Promise<string> {
  const r = await g.send(new UploadArchiveCommand({ ...A, vaultName, body: data, checksum: treeHash(data), archiveDescription: description }));
  return r.archiveId!;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-job-test-'));
  local = await startLocal(['--memory', '--job-delay', 'Expedited=1s,Standard=2s,Bulk=3s', '--page-size', '2']);
  g = local.client({ maxAttempts: 1 });
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  for (const v of [VAULT, OTHER, LISTS]) await g.send(new CreateVaultCommand({ ...A, vaultName: v }));
  small = randomBytes(5_000_000);
  smallId = await uploadSmall(VAULT, small, DESC);
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

describe('glacier-job jobs, with job delays on', () => {
  let wholeJob: Json; // retrieval of `small`, Expedited

  it('retrieve prints the job (tier, description, SNS topic echoed); output is not ready (exit 4), then --wait waits and outputs', async () => {
    // A long delay for this job alone, so a loaded machine cannot let it finish before the "not ready" check.
    await admin('PUT', 'config', { jobDelays: { ...DELAYS, Expedited: within(120_000) } });
    const r = await job(['retrieve', '-v', VAULT, '--tier', 'Expedited', '-d', 'restore notes', '--sns', SNS, '--', smallId]);
    await admin('PUT', 'config', { jobDelays: DELAYS });
    wholeJob = oneJson(r);
    assert.equal(r.stderr, '', show(r));
    assert.equal(wholeJob.Action, 'ArchiveRetrieval');
    assert.equal(wholeJob.ArchiveId, smallId);
    assert.equal(wholeJob.Tier, 'Expedited');
    assert.equal(wholeJob.JobDescription, 'restore notes');
    assert.equal(wholeJob.SNSTopic, SNS);
    assert.equal(wholeJob.ArchiveSizeInBytes, small.length);
    assert.equal(wholeJob.RetrievalByteRange, `0-${small.length - 1}`);
    assert.equal(wholeJob.StatusCode, 'InProgress');
    assert.equal(wholeJob.Completed, false);
    assert.match(wholeJob.VaultARN, new RegExp(`:vaults/${VAULT}$`));

    // Not ready yet: exit 4 with one line that says how to wait.
    const early = await job(['output', '-v', VAULT, '--', wholeJob.JobId]);
    oneErrorLine(early, 4, /still in progress/);
    assert.ok(early.stderr.includes(wholeJob.JobId), 'names the job');

    // The job is completed once output --wait has polled it in progress (glacier-local's request log).
    const polls = async () => (await requests()).filter((q) => q.op === 'DescribeJob' && String(q.path).endsWith(`/jobs/${wholeJob.JobId}`)).length;
    const polledBefore = await polls();
    const waiting = job(['output', '-v', VAULT, '--wait', '--interval', '200ms', '--', wholeJob.JobId]);
    await until(async () => (await polls()) > polledBefore, 'output --wait to poll the job in progress', 60_000, 50);
    await admin('POST', `jobs/${wholeJob.JobId}/complete`);
    const out = await waiting;
    assert.equal(out.code, 0, show(out));
    assert.equal(out.stderr, '', show(out));
    assert.ok(out.stdout.equals(small), `output equals the archive (${out.stdout.length} bytes)`);

    // output --range: a part of the job's output, from a megabyte boundary to its ragged end (three pieces).
    const part = await job(['output', '-v', VAULT, '--range', `${MiB}-${small.length - 1}`, '--piece-size', '2M', '--', wholeJob.JobId]);
    assert.equal(part.code, 0, show(part));
    assert.ok(part.stdout.equals(small.subarray(MiB)), `output --range gives those bytes (${part.stdout.length})`);
  });

  it('describe prints the job as the service describes it', async () => {
    const r = await job(['describe', '-v', VAULT, '--', wholeJob.JobId]);
    const j = oneJson(r);
    const { $metadata: _, ...sdk } = await g.send(new DescribeJobCommand({ ...A, vaultName: VAULT, jobId: wholeJob.JobId }));
    assert.deepEqual(j, JSON.parse(JSON.stringify(sdk)));
    assert.equal(j.StatusCode, 'Succeeded');
    assert.equal(j.Completed, true);
    assert.equal(j.SHA256TreeHash, treeHash(small));
    assert.equal(j.Tier, 'Expedited');
    assert.equal(j.SNSTopic, SNS);
  });

  it('retrieve --range (megabyte- and tree-hash-aligned) gives exactly those bytes; wait exits 0 when the job succeeds', async () => {
    const [a, b] = [2 * MiB, 4 * MiB - 1];
    const r = await job(['retrieve', '-v', VAULT, '--range', `${a}-${b}`, '--', smallId]);
    const j = oneJson(r);
    assert.equal(j.RetrievalByteRange, `${a}-${b}`);
    assert.equal(j.Tier, 'Standard', 'the default tier');
    assert.equal(j.StatusCode, 'InProgress');
    // A megabyte-aligned range that is not a node of the hash tree: Glacier sends no hash for it. (glacier-job
    // retrieve widens such a range to an aligned one, so this job is started by another client.)
    const odd = (await g.send(new InitiateJobCommand({ ...A, vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: smallId, RetrievalByteRange: `${MiB}-${3 * MiB - 1}` } }))) as Json;
    odd.JobId = odd.jobId;

    const w = await job(['wait', '-v', VAULT, '--interval', '200ms', '--', j.JobId]);
    const done = oneJson(w);
    assert.equal(done.StatusCode, 'Succeeded');
    assert.equal(done.JobId, j.JobId);
    assert.equal(done.SHA256TreeHash, treeHash(small.subarray(a, b + 1)));

    const out = await job(['output', '-v', VAULT, '--', j.JobId]);
    assert.equal(out.code, 0, show(out));
    assert.ok(out.stdout.equals(small.subarray(a, b + 1)), `ranged output equals bytes ${a}-${b}`);

    // The unaligned one cannot be verified, so it is refused (exit 3) rather than passed on.
    oneJson(await job(['wait', '-v', VAULT, '--interval', '200ms', '--', odd.JobId]));
    oneErrorLine(await job(['output', '-v', VAULT, '--', odd.JobId]), 3, /tree-hash/);
  });

  it('inventory in JSON and CSV; --archives gives one JSON line per archive; a description with , and " survives CSV', async () => {
    const [rj, rc] = await Promise.all([
      job(['inventory', '-v', VAULT]),
      job(['inventory', '-v', VAULT, '--format', 'CSV', '-d', 'csv inventory']),
    ]);
    const [jj, jc] = [oneJson(rj), oneJson(rc)];
    assert.equal(jj.Action, 'InventoryRetrieval');
    assert.equal(jj.InventoryRetrievalParameters?.Format, 'JSON');
    assert.equal(jc.InventoryRetrievalParameters?.Format, 'CSV');
    assert.equal(jc.JobDescription, 'csv inventory');
    assert.equal(jj.StatusCode, 'InProgress');
    await Promise.all([jj, jc].map(async (x) => oneJson(await job(['wait', '-v', VAULT, '--interval', '250ms', '--', x.JobId]))));

    const [rawJson, rawCsv] = await Promise.all([job(['output', '-v', VAULT, '--', jj.JobId]), job(['output', '-v', VAULT, '--', jc.JobId])]);
    assert.equal(rawJson.code, 0, show(rawJson));
    const doc = JSON.parse(rawJson.stdout.toString('utf8')) as Json;
    assert.ok(Array.isArray(doc.ArchiveList));
    assert.equal(rawCsv.code, 0, show(rawCsv));
    assert.match(rawCsv.stdout.toString('utf8'), /^ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r?\n/);

    const want = new Map([
      [smallId, { Size: small.length, SHA256TreeHash: treeHash(small), ArchiveDescription: DESC }],
      [bigId, { Size: BIG, SHA256TreeHash: bigTreeHash, ArchiveDescription: 'big.bin' }],
    ]);
    const listed = await Promise.all([jj.JobId, jc.JobId].map((id) => job(['output', '-v', VAULT, '--archives', '--', id])));
    for (const [i, r] of listed.entries()) {
      const id = [jj.JobId, jc.JobId][i];
      const lines = jsonLines(r);
      assert.equal(lines.length, want.size, show(r));
      for (const a of lines) {
        const w = want.get(a.ArchiveId);
        assert.ok(w, `unexpected archive ${a.ArchiveId}`);
        assert.equal(a.Size, w.Size);
        assert.equal(a.SHA256TreeHash, w.SHA256TreeHash);
        assert.equal(a.ArchiveDescription, w.ArchiveDescription, `description of ${id === jc.JobId ? 'CSV' : 'JSON'} inventory`);
        assert.ok(!Number.isNaN(Date.parse(a.CreationDate)));
      }
    }
  });

  it('inventory filters: --limit pages the inventory with a marker, --end-date before every archive gives none', async () => {
    const limited = oneJson(await job(['inventory', '-v', VAULT, '--limit', '1']));
    assert.equal(limited.InventoryRetrievalParameters.Limit, '1');
    const first = jsonLines(await job(['output', '-v', VAULT, '--wait', '--interval', '200ms', '--archives', '--', limited.JobId]));
    assert.equal(first.length, 1, 'one archive with --limit 1');
    const after = oneJson(await job(['describe', '-v', VAULT, '--', limited.JobId]));
    assert.ok(after.InventoryRetrievalParameters.Marker, 'the marker for the next inventory is given');
    const old = oneJson(await job(['inventory', '-v', VAULT, '--end-date', '2000-01-01', '--start-date', '1999-01-01']));
    assert.equal(old.InventoryRetrievalParameters.EndDate, '2000-01-01T00:00:00Z');
    assert.deepEqual(jsonLines(await job(['output', '-v', VAULT, '--wait', '--interval', '200ms', '--archives', '--', old.JobId])), []);
    oneErrorLine(await job(['inventory', '-v', VAULT, '--start-date', 'yesterday']), 2, /--start-date/);
  });

  it('list: every job over several pages (page size 2), filtered by --completed and --status', async () => {
    // Jobs that stay in progress for this test: long delays while they are started, then back to the usual.
    await admin('PUT', 'config', { jobDelays: { Expedited: 600_000, Standard: 600_000, Bulk: 600_000 } });
    let ids: Record<string, string>;
    try {
      const archive = await uploadSmall(LISTS, randomBytes(MiB + 7));
      const start = async (p: Json) => (await g.send(new InitiateJobCommand({ ...A, vaultName: LISTS, jobParameters: p }))).jobId!;
      const ret = (Tier: string) => start({ Type: 'archive-retrieval', ArchiveId: archive, Tier });
      ids = { s1: await ret('Expedited'), s2: await ret('Standard'), inv: await start({ Type: 'inventory-retrieval' }), f1: await ret('Expedited'), p1: await ret('Bulk'), p2: await ret('Standard') };
      for (const k of ['s1', 's2', 'inv']) await admin('POST', `jobs/${ids[k]}/complete`);
      await admin('POST', `jobs/${ids.f1}/fail`, { message: 'tape jammed' });
    } finally {
      await admin('PUT', 'config', { jobDelays: DELAYS });
    }
    const idsOf = (r: Ran) => jsonLines(r).map((j) => j.JobId as string).sort();
    const set = (...keys: string[]) => keys.map((k) => ids[k]).sort();

    await admin('DELETE', 'counters');
    const all = await job(['list', '-v', LISTS]);
    assert.deepEqual(idsOf(all), set('s1', 's2', 'inv', 'f1', 'p1', 'p2'), show(all));
    assert.ok((await local.counters()).ListJobs >= 3, `six jobs at two a page take three ListJobs calls or more: ${JSON.stringify(await local.counters())}`);
    const pages = (await requests()).filter((r) => r.op === 'ListJobs');
    assert.ok(pages.length >= 3);

    const [done, running, ok, failed, inProgress] = await Promise.all([
      job(['list', '-v', LISTS, '--completed', 'true']),
      job(['list', '-v', LISTS, '--completed', 'false']),
      job(['list', '-v', LISTS, '--status', 'Succeeded']),
      job(['list', '-v', LISTS, '--status', 'Failed']),
      job(['list', '-v', LISTS, '--status', 'InProgress']),
    ]);
    assert.deepEqual(idsOf(done), set('s1', 's2', 'inv', 'f1'));
    assert.deepEqual(idsOf(running), set('p1', 'p2'));
    assert.deepEqual(idsOf(ok), set('s1', 's2', 'inv'));
    assert.deepEqual(idsOf(failed), set('f1'));
    assert.equal(jsonLines(failed)[0].StatusMessage, 'tape jammed');
    assert.deepEqual(idsOf(inProgress), set('p1', 'p2'));
    for (const j of jsonLines(running)) assert.equal(j.Completed, false);
  });

  it('wait: a failed job exits 1; a timeout shorter than the job exits 4', async () => {
    const f = oneJson(await job(['retrieve', '-v', VAULT, '--tier', 'Bulk', '--', smallId]));
    // A job that surely outlasts the timeout even on a loaded machine: Bulk takes a minute (or more, scaled) while it is started.
    await admin('PUT', 'config', { jobDelays: { Bulk: within(60_000) } });
    let slow: Json;
    try {
      slow = oneJson(await job(['retrieve', '-v', VAULT, '--tier', 'Bulk', '--', smallId]));
    } finally {
      await admin('PUT', 'config', { jobDelays: DELAYS });
    }
    assert.equal(f.Tier, 'Bulk');
    await admin('POST', `jobs/${f.JobId}/fail`, { message: 'the archive could not be read' });
    const [w, out, t] = await Promise.all([
      job(['wait', '-v', VAULT, '--interval', '200ms', '--', f.JobId]),
      job(['output', '-v', VAULT, '--wait', '--interval', '200ms', '--', f.JobId]),
      job(['wait', '-v', VAULT, '--interval', '200ms', '--timeout', '700ms', '--', slow.JobId]),
    ]);
    oneErrorLine(w, 1, /failed/);
    assert.ok(w.stderr.includes(f.JobId), show(w));
    oneErrorLine(out, 1, /failed/);
    oneErrorLine(t, 4, /still InProgress/);
    assert.ok(t.ms < within(15_000), `gave up at the timeout (${t.ms} ms), long before the job ends`);
  });

  it('get retrieves, waits and outputs in one command (to stdout, and with -o)', async () => {
    const file = join(dir, 'got.bin');
    const [r, ro] = await Promise.all([
      job(['get', '-v', VAULT, '--tier', 'Expedited', '--interval', '200ms', '--', smallId]),
      job(['get', '-v', VAULT, '-q', '--tier', 'Expedited', '--interval', '200ms', '-o', file, '--', smallId]),
    ]);
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.equals(small), 'get to stdout equals the archive');
    assert.match(r.stderr, /^glacier-job: job \S+ started \(Expedited\)/);
    assert.ok(r.ms >= DELAYS.Expedited, 'it waited for the job');
    assert.equal(ro.code, 0, show(ro));
    assert.equal(ro.stderr, '', '-q: nothing on stderr');
    assert.equal(ro.stdout.length, 0);
    assert.ok(readFileSync(file).equals(small));
    assert.ok(!existsSync(`${file}.partial`) && !existsSync(`${file}.partial.json`));
  });
});

describe('glacier-job bad input: one line, with its exit code', () => {
  let jobId: string; // a finished job of VAULT

  before(async () => {
    const j = await g.send(new InitiateJobCommand({ ...A, vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: smallId, Tier: 'Expedited' } }));
    jobId = j.jobId!;
    await admin('POST', `jobs/${jobId}/complete`);
  });

  it('an unknown job id: exit 1, naming the job', async () => {
    for (const sub of ['describe', 'output', 'wait']) {
      const msg = oneErrorLine(await job([sub, '-v', VAULT, '--', 'NoSuchJob-0123456789']), 1);
      assert.ok(msg.includes('NoSuchJob-0123456789'), msg);
    }
  });

  it('a job of another vault: exit 1', async () => {
    for (const sub of ['describe', 'output']) {
      const msg = oneErrorLine(await job([sub, '-v', OTHER, '--', jobId]), 1);
      assert.ok(msg.includes(jobId) && msg.includes(OTHER), msg);
    }
  });

  it('usage errors exit 2 before any request is sent', async () => {
    const before = await local.counters();
    const cases: [string[], RegExp][] = [
      [['retrieve', '-v', VAULT, '--range', '100-2000000', '--', smallId], /megabyte/],
      [['retrieve', '-v', VAULT, '--tier', 'Fast', '--', smallId], /tier "Fast"/],
      [['get', '-v', VAULT, '--tier', 'Fast', '--', smallId], /tier "Fast"/],
      [['restore', '-v', VAULT, '--', smallId], /unknown subcommand "restore"/],
      [['describe', '-v', VAULT, '--tier', 'Bulk', '--', jobId], /--tier does not apply to "describe"/],
      [['list', '-v', VAULT, '--archives'], /--archives does not apply to "list"/],
      [['retrieve', '-v', VAULT, '--wait', '--', smallId], /--wait does not apply to "retrieve"/],
      [['list', '-v', VAULT, '--status', 'Done'], /--status/],
      [['output', '-v', VAULT, '--bogus', '--', jobId], /unknown option --bogus/],
    ];
    const results = await Promise.all(cases.map(([args]) => job(args)));
    results.forEach((r, i) => oneErrorLine(r, 2, cases[i][1]));
    assert.deepEqual(await local.counters(), before, 'no request reached the service');
    oneErrorLine(await job(['output', '-v', VAULT, '--piece-size', '3M', '--', jobId]), 2, /piece-size/);
  });
});
