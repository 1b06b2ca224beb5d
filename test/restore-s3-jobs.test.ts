// glacier-restore to S3 and to a command across job lifetimes, and S3 names when the state file is lost: an
// archive whose download outlasts its job is continued by the next job from where the last part S3 confirmed
// ends (S3) or from the byte the command last received (--exec, its stdin kept open), never from byte 0; a name
// whose key holds another archive is never given to this one, and an object already holding this archive counts
// as done. Counted in glacier-local's request log and in a recording proxy in front of moto's S3 server.
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { CreateVaultCommand, ListJobsCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TreeHasher } from '../src/core/tree-hash.js';
import type { PartRecord } from '../src/restore/journal.js';
import { S3Sink, type UploadRecords } from '../src/restore/s3-sink.js';
import type { ArchiveWriter, Item } from '../src/restore/sinks.js';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';
import { composite, isCreate, isPart, partNumber, records, startMoto, type Moto, type RecordingProxy } from './helpers/s3-moto.js';

const MiB = 1024 * 1024;
const BUCKET = 'jobs-moved';
type LogEntry = { op: string; jobId?: string; status?: number; range?: string };
/** How many answered GetJobOutput ranges covered each MiB of an archive of `size` bytes. */
function coverage(log: LogEntry[], size: number): number[] {
  const cover = new Array(Math.ceil(size / MiB)).fill(0);
  for (const e of log.filter((x) => x.op === 'GetJobOutput' && x.status === 206)) {
    const [a, b] = e.range!.split('-').map(Number);
    for (let m = Math.floor(a / MiB); m <= Math.floor(b / MiB); m++) cover[m]++;
  }
  return cover;
}

/**
 * The request log shows an archive of `size` bytes downloaded over three job lifetimes at least: three jobs
 * started, bytes from three, and no MiB fetched more than twice (each job continued the last one's verified bytes).
 * Returns the coverage per MiB.
 */
function threeLifetimes(log: LogEntry[], size: number): number[] {
  const jobs = log.filter((e) => e.op === 'InitiateJob' && e.status === 202);
  assert.ok(jobs.length >= 3, `three job lifetimes at least (jobs: ${jobs.length})`);
  const gave = new Set(log.filter((e) => e.op === 'GetJobOutput' && e.status === 206).map((e) => e.jobId));
  assert.ok(gave.size >= 3, `bytes came from ${gave.size} jobs`);
  const cover = coverage(log, size);
  assert.ok(Math.max(...cover) <= 2, `no byte fetched more than twice (coverage per MiB: ${cover.join('')})`);
  return cover;
}

let moto: Moto;
let proxy: RecordingProxy;
let s3: S3Client;
let work: string;
const locals: Local[] = [];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'glacier-restore-s3-jobs-'));
  moto = await startMoto(BUCKET);
  ({ proxy, s3 } = moto);
});
after(async () => {
  moto?.stop();
  for (const l of locals) await l.stop();
  rmSync(work, { recursive: true, force: true });
});

/** The S3 requests the proxy saw from its `from`th on, to keys under `prefix` (the tests run side by side). */
const seenSince = (from: number, prefix: string) => proxy.log.slice(from).filter((s) => s.url.startsWith(`/${BUCKET}/${prefix}`));

/** glacier-local with `args`, a vault, and archives of `bodies` described `descriptions`; their input lines. */
async function vaultWith(vault: string, args: string[], archives: { body: Buffer; description: string }[]) {
  const local = await startLocal(['--memory', ...args]);
  locals.push(local);
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
  const out: { id: string; body: Buffer; line: string }[] = [];
  for (const a of archives) {
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body: a.body, archiveDescription: a.description }));
    const line = JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: a.description, CreationDate: new Date().toISOString(), Size: a.body.length, SHA256TreeHash: r.checksum });
    out.push({ id: r.archiveId!, body: a.body, line: `${line}\n` });
  }
  const env = { ...local.env, AWS_ENDPOINT_URL_S3: moto.endpoint, XDG_STATE_HOME: join(work, `state-${vault}`) };
  return { local, g, env, archives: out };
}

/**
 * Runs glacier-restore to its end, or stops it (SIGTERM) once glacier-local saw more than `maxJobs` InitiateJob
 * calls: an archive started again from byte 0 at every expiry never completes.
 */
async function runBounded(local: Local, args: string[], env: NodeJS.ProcessEnv, input: string, maxJobs: number) {
  const s = start('glacier-restore', args, { env, input });
  let ended = false;
  let runaway = false;
  const watch = (async () => {
    while (!ended) {
      const log = await local.admin<LogEntry[]>('GET', 'requests').catch(() => []);
      if (log.filter((e) => e.op === 'InitiateJob').length > maxJobs) {
        runaway = true;
        s.proc.kill('SIGTERM');
        return;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  const r = await s.done;
  ended = true;
  await watch;
  return { ...r, runaway };
}

// Each test has its own glacier-local, vault, state and key prefix (the proxy's record read by prefix), and mostly
// waits for jobs to expire: two at a time.
describe('glacier-restore to S3 and to a command across jobs', { concurrency: 2 }, () => {
  describe('glacier-restore: an archive whose download needs three job lifetimes, to S3 and to a command', () => {
    // 80 MiB + 12345 bytes in 16 MiB pieces. A job lives 4 s after it completes; each GetJobOutput waits 2 s before
    // its answer and trickles 16 MiB out in 0.64 s: the two pieces asked for at once are served, the next two are
    // asked for after the job expired. Each job gives at most two pieces: the archive needs at least three jobs.
    const SIZE = 80 * MiB + 12345;

    it('to S3: each job continues the same multipart upload after the parts S3 confirmed; no byte fetched more than twice, no part uploaded twice', { timeout: within(300_000) }, async () => {
      const { local, env, archives } = await vaultWith('lifetimes-s3', ['--job-delay', '0', '--job-expiry', '4s'], [{ body: randomBytes(SIZE), description: 'big.bin' }]);
      const [a] = archives;
      await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=2000' });
      await local.admin('DELETE', 'counters');
      const from = proxy.log.length;
      const args = ['-v', 'lifetimes-s3', '--to', `s3://${BUCKET}/lifetimes/`, '--storage-class', 'STANDARD', '--part-size', '8M', '--interval', '200ms', '--state', join(work, 'lifetimes-s3.jsonl')];
      const r = await runBounded(local, args, env, a.line, 12);
      assert.ok(!r.runaway, `the archive never completed: more than 12 jobs started\n${show(r)}`);
      assert.equal(r.code, 0, show(r));
      const rec = records(r.stdout).find((x) => x.archiveId === a.id && x.status === 'done');
      assert.ok(rec, show(r));
      assert.equal(rec.to, `s3://${BUCKET}/lifetimes/big.bin`);
      const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'lifetimes/big.bin' }));
      assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(a.body), 'bytes identical');
      const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'lifetimes/big.bin', ChecksumMode: 'ENABLED' }));
      assert.equal(h.ChecksumSHA256?.replace(/-\d+$/, ''), composite(a.body, 8 * MiB), 'composite checksum');

      const cover = threeLifetimes(await local.admin<LogEntry[]>('GET', 'requests'), SIZE);
      assert.ok(cover.every((c) => c >= 1));

      // One upload, each part answered 200 once.
      const seen = seenSince(from, 'lifetimes/');
      assert.equal(seen.filter((s) => isCreate(s) && s.status === 200).length, 1, 'one multipart upload');
      const sent = seen.filter((s) => isPart(s) && s.status === 200).map(partNumber).sort((x, y) => x - y);
      assert.deepEqual(sent, Array.from({ length: 11 }, (_, i) => i + 1), 'each of the 11 parts uploaded once');
      assert.match(r.stderr, /verified bytes kept/);
      const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: 'lifetimes/' }));
      assert.deepEqual(open.Uploads ?? [], [], 'no upload left open');
    });

    it('to --exec: the command keeps its stdin across jobs and receives the archive once, byte-identical; no byte fetched more than twice', { timeout: within(300_000) }, async () => {
      const { local, env, archives } = await vaultWith('lifetimes-exec', ['--job-delay', '0', '--job-expiry', '4s'], [{ body: randomBytes(SIZE), description: 'big.bin' }]);
      const [a] = archives;
      await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=2000' });
      await local.admin('DELETE', 'counters');
      const out = join(work, 'exec-out');
      mkdirSync(out);
      // Each start of the command is counted; its stdin goes to a file of the archive's name.
      const cmd = 'echo start >> "$OUT/starts"; cat > "$OUT/$GLACIER_NAME"';
      const args = ['-v', 'lifetimes-exec', '--exec', cmd, '--interval', '200ms', '--state', join(work, 'lifetimes-exec.jsonl')];
      const r = await runBounded(local, args, { ...env, OUT: out }, a.line, 12);
      assert.ok(!r.runaway, `the archive never completed: more than 12 jobs started\n${show(r)}`);
      assert.equal(r.code, 0, show(r));
      const rec = records(r.stdout).find((x) => x.archiveId === a.id && x.status === 'done');
      assert.ok(rec, show(r));
      assert.ok(readFileSync(join(out, 'big.bin')).equals(a.body), 'the bytes the command received are the archive');
      assert.equal(readFileSync(join(out, 'starts'), 'utf8'), 'start\n', 'the command was started once');

      threeLifetimes(await local.admin<LogEntry[]>('GET', 'requests'), SIZE);
      assert.match(r.stderr, /verified bytes kept/);
    });
  });

  describe('glacier-restore to S3: names when the state file is lost after a subset run', () => {
    for (const order of ['A then B', 'B then A']) {
      it(`input ${order}: every archive where its done line says, no object replaced, no job for the archive already there`, { timeout: within(240_000) }, async () => {
        // Two archives of one description. The subset run restores the one listed second in the full run, which
        // takes the plain name; the state is lost; the full run lists the other first.
        const vault = `names-${order[0]}`;
        const prefix = `names-${order[0]}/`;
        const { local, g, env, archives } = await vaultWith(vault, ['--job-delay', '0'], [
          { body: randomBytes(6 * MiB + 5), description: 'same.bin' },
          { body: randomBytes(5 * MiB + 7), description: 'same.bin' },
        ]);
        const [first, second] = order === 'A then B' ? archives : [archives[1], archives[0]];
        const state = join(work, `${vault}.jsonl`);
        const args = ['-v', vault, '--to', `s3://${BUCKET}/${prefix}`, '--storage-class', 'STANDARD', '--part-size', '5M', '--interval', '200ms', '--state', state];
        const subset = await run('glacier-restore', args, { env, input: second.line });
        assert.equal(subset.code, 0, show(subset));
        assert.equal(records(subset.stdout).find((x) => x.archiveId === second.id)?.to, `s3://${BUCKET}/${prefix}same.bin`);
        const before = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}same.bin` }));
        rmSync(state);
        await local.admin('DELETE', 'counters');
        const from = proxy.log.length;

        const all = await run('glacier-restore', args, { env, input: first.line + second.line });
        assert.equal(all.code, 0, show(all));
        const recs = records(all.stdout);
        for (const a of archives) {
          const rec = recs.find((x) => x.archiveId === a.id && x.status === 'done');
          assert.ok(rec, `${a.id} done: ${show(all)}`);
          const key = rec.to.slice(`s3://${BUCKET}/`.length);
          const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
          assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(a.body), `${a.id}'s bytes at ${rec.to}`);
          assert.equal(o.Metadata?.['glacier-archive-id'], a.id);
        }
        const secondRec = recs.find((x) => x.archiveId === second.id)!;
        assert.equal(secondRec.to, `s3://${BUCKET}/${prefix}same.bin`, 'the archive already there keeps its name');
        assert.equal(secondRec.found, true, 'found in S3, not restored again');
        assert.notEqual(recs.find((x) => x.archiveId === first.id)!.to, secondRec.to);
        // Nothing written to the object already there, and one job: for the archive not yet restored.
        const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `${prefix}same.bin` }));
        assert.equal(after.ETag, before.ETag);
        assert.equal(after.LastModified?.getTime(), before.LastModified?.getTime());
        const writes = seenSince(from, prefix).filter((s) => s.method !== 'GET' && s.method !== 'HEAD');
        assert.ok(writes.every((s) => !s.url.split('?')[0].endsWith(`/${prefix}same.bin`)), `no write to ${prefix}same.bin: ${writes.map((s) => `${s.method} ${s.url}`).join(', ')}`);
        assert.equal(writes.filter(isCreate).length, 1, 'one upload: the archive not yet restored');
        const log = await local.admin<LogEntry[]>('GET', 'requests');
        assert.equal(log.filter((e) => e.op === 'InitiateJob').length, 1, 'one job started in the full run');
        const { JobList } = await g.send(new ListJobsCommand({ accountId: '-', vaultName: vault }));
        const jobsFor = (id: string) => (JobList ?? []).filter((j) => j.ArchiveId === id).length;
        assert.equal(jobsFor(second.id), 1, 'no job for the archive already in S3 beyond the subset run\'s');
        assert.equal(jobsFor(first.id), 1);
      });
    }
  });

  describe('glacier-restore to S3: a job that cannot give a whole part', () => {
    // 24 MiB in the default 16 MiB parts; a job lives 5 s after it completes and the download is paced at 1800K/s:
    // a job gives about 9 MiB, never part 1 whole. The parts after a cut are made smaller (8 MiB, then 5 MiB).
    it('completes byte-identical with smaller parts after the first cut; no MiB fetched more than three times; the warning names --part-size', { timeout: within(300_000) }, async () => {
      const SIZE = 24 * MiB;
      const { local, env, archives } = await vaultWith('cut-parts', ['--job-delay', '0', '--job-expiry', '5s'], [{ body: randomBytes(SIZE), description: 'cut.bin' }]);
      const [a] = archives;
      await local.admin('DELETE', 'counters');
      const state = join(work, 'cut-parts.jsonl');
      const args = ['-v', 'cut-parts', '--to', `s3://${BUCKET}/cut/`, '--storage-class', 'STANDARD', '--limit-rate', '1800K', '--interval', '200ms', '--state', state];
      const r = await runBounded(local, args, env, a.line, 10);
      assert.ok(!r.runaway, `the archive never completed: more than 10 jobs started\n${show(r)}`);
      assert.equal(r.code, 0, show(r));
      const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'cut/cut.bin' }));
      assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(a.body), 'bytes identical');
      assert.match(r.stderr, /part 1 \(16 MiB\) was cut by the expiry: the parts from byte 0 on are 8 MiB .*--part-size/);
      const log = await local.admin<LogEntry[]>('GET', 'requests');
      const cover = coverage(log, SIZE);
      // The first job's bytes beyond what the second stores whole are fetched by a third: three at most.
      assert.ok(Math.max(...cover) <= 3, `no MiB fetched more than three times (coverage per MiB: ${cover.join('')})`);
      assert.ok(cover.every((c) => c >= 1));
      assert.match(readFileSync(state, 'utf8'), /"t":"upload"[^\n]*"s":8388608/, 'the smaller part size recorded in the state');
    });
  });

  describe('glacier-restore: a job left by a stopped run that expires before the rerun downloads it', () => {
    it('does not lower the jobs outstanding nor blame the pace; the rerun restores the archive', { timeout: within(120_000) }, async () => {
      // Jobs take 8 s: the first run's first poll after starting its job (within 5 s) finds it in progress.
      const { local, g, env, archives } = await vaultWith('leftover', ['--job-delay', '8s', '--job-expiry', '2s'], [{ body: randomBytes(MiB + 7), description: 'left.bin' }]);
      const [a] = archives;
      const state = join(work, 'leftover.jsonl');
      const args = (interval: string) => ['-v', 'leftover', '--to', `s3://${BUCKET}/leftover/`, '--storage-class', 'STANDARD', '--max-jobs', '10', '-c', '1', '--interval', interval, '--state', state];
      // The first run starts the job, asks once (in progress) and is stopped while it waits to ask again.
      const first = start('glacier-restore', args('1h'), { env, input: a.line });
      // It asks about its job with a ListJobs page (or a DescribeJob) once it has started it.
      const askedAfterStart = (log: LogEntry[]) => {
        const i = log.findIndex((e) => e.op === 'InitiateJob');
        return i >= 0 && log.slice(i + 1).some((e) => e.op === 'ListJobs' || e.op === 'DescribeJob');
      };
      await until(async () => askedAfterStart(await local.admin<LogEntry[]>('GET', 'requests')), 'the first run to ask about its job', within(60_000), 100);
      first.proc.kill('SIGTERM');
      await first.done;
      const { JobList } = await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'leftover' }));
      const jobId = JobList![0].JobId!;
      await until(() => g.send(new ListJobsCommand({ accountId: '-', vaultName: 'leftover' })).then((r) => !(r.JobList ?? []).some((j) => j.JobId === jobId)), 'the job to expire', within(60_000), 200);
      const r = await run('glacier-restore', args('200ms'), { env, input: a.line });
      assert.equal(r.code, 0, show(r));
      assert.match(r.stderr, new RegExp(`job ${jobId} is gone \\(expired\\)`), 'the leftover job was found gone in the rerun');
      assert.doesNotMatch(r.stderr, /jobs outstanding from now on/, 'the pace is not lowered for a job this run neither started nor saw running');
      const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'leftover/left.bin' }));
      assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(a.body), 'bytes identical');
    });
  });
});

/** Upload records in memory, as the journal keeps them (a part out of order is not kept). */
function memoryRecords(): UploadRecords & { parts: Map<string, { u: string; parts: PartRecord[]; roots: string }> } {
  const uploads = new Map<string, { u: string; key: string; s?: number }>();
  const parts = new Map<string, { u: string; parts: PartRecord[]; roots: string }>();
  return {
    parts,
    upload: (id) => uploads.get(id),
    allUploads: () => [...uploads.values()],
    recordUpload: async (id, u, key, s) => void uploads.set(id, { u, key, s }),
    recordUploadEnd: async (id, u) => {
      if (uploads.get(id)?.u === u) uploads.delete(id);
      parts.delete(id);
    },
    uploadParts: (id) => parts.get(id),
    recordPart: async (id, u, p, roots) => {
      const r = parts.get(id)?.u === u ? parts.get(id)! : { u, parts: [], roots: '' };
      if (p.n !== r.parts.length + 1) return;
      r.parts.push(p);
      r.roots = roots;
      parts.set(id, r);
    },
  };
}

/** Hands `data[from, to)` to the writer in 1 MiB pieces, each leaf folded into its tree hash as the download does. */
async function feed(w: ArchiveWriter, data: Buffer, from: number, to: number): Promise<void> {
  for (let o = from; o < to; o += MiB) {
    const piece = data.subarray(o, Math.min(to, o + MiB));
    await w.write(piece, o);
    w.combiner!.push(createHash('sha256').update(piece).digest());
  }
}

describe('the S3 sink across jobs, alone', () => {
  const data = randomBytes(13 * MiB + 11);
  const treeHash = new TreeHasher().update(data).digest().treeHash;

  it('the next job continues after the parts recorded, the whole tree hash checked; a part S3 holds with other bytes is sent again and the upload completes', async () => {
    for (const changed of [false, true]) {
      const records = memoryRecords();
      const prefix = changed ? 'alone-changed/' : 'alone/';
      const sink = new S3Sink({ bucket: BUCKET, prefix }, { client: s3, storageClass: 'STANDARD', partSize: 5 * MiB, records, signal: new AbortController().signal });
      const item: Item = { archiveId: `ALONE-${changed}`, name: 'x.bin', size: data.length, treeHash, description: 'x.bin', creationDate: '' };
      const w = await sink.open(item);
      assert.equal(w.resumed, 0);
      await feed(w, data, 0, 12 * MiB); // parts 1 and 2 whole, part 3 begun: the job expires
      await w.suspend!();
      assert.deepEqual(records.parts.get(item.archiveId)?.parts.map((p) => p.n), [1, 2], 'parts 1 and 2 recorded');
      assert.equal(w.kept!(), 10 * MiB);
      if (changed) {
        const { u } = records.upload(item.archiveId)!;
        await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: `${prefix}x.bin`, UploadId: u, PartNumber: 2, Body: randomBytes(5 * MiB) }));
      }
      const next = await sink.open(item);
      if (changed) {
        // Part 2 holds another writer's bytes: nothing is taken on trust, and it is sent again from the archive's.
        assert.equal(next.resumed, 0, 'part 2 no longer holds what was sent: nothing is taken on trust');
        await feed(next, data, 0, data.length);
      } else {
        assert.equal(next.resumed, 10 * MiB, 'continued after part 2');
        await feed(next, data, 10 * MiB, data.length);
      }
      assert.equal(next.combiner!.digest().toString('hex'), treeHash, 'the whole archive\'s tree hash, continued from the recorded state');
      await next.finish();
      const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `${prefix}x.bin` }));
      assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(data), 'bytes identical');
    }
  });

  it('a part cut by an expiry makes the parts after it smaller (recorded: a new sink keeps it); a 5 MiB part no job gives whole fails the archive', async () => {
    const big = randomBytes(24 * MiB);
    const bigHash = new TreeHasher().update(big).digest().treeHash;
    const records = memoryRecords();
    const sink = () => new S3Sink({ bucket: BUCKET, prefix: 'shrink/' }, { client: s3, storageClass: 'STANDARD', partSize: 16 * MiB, records, signal: new AbortController().signal });
    const item: Item = { archiveId: 'SHRINK', name: 'y.bin', size: big.length, treeHash: bigHash, description: 'y.bin', creationDate: '' };
    let w = await sink().open(item);
    await feed(w, big, 0, 9 * MiB); // part 1 (16 MiB) cut
    await w.suspend!();
    assert.equal(w.kept!(), 0);
    assert.match(w.afterExpiry!()?.warning ?? '', /part 1 \(16 MiB\) was cut .* 8 MiB .*--part-size/);
    assert.equal(records.upload(item.archiveId)?.s, 8 * MiB, 'the smaller size recorded with the upload');
    w = await sink().open(item); // a new sink: as a rerun
    await feed(w, big, 0, 9 * MiB); // part 1 (8 MiB) whole, part 2 cut
    await w.suspend!();
    assert.equal(w.kept!(), 8 * MiB, 'part 1 of 8 MiB kept');
    assert.equal(records.upload(item.archiveId)?.s, 5 * MiB, 'then 5 MiB, never less');
    w = await sink().open(item);
    assert.equal(w.resumed, 8 * MiB);
    await feed(w, big, 8 * MiB, 12 * MiB); // not one 5 MiB part whole
    await w.suspend!();
    assert.match(w.afterExpiry!()?.error ?? '', /one whole 5 MiB part .* higher --limit-rate, or fewer downloads at once \(-c\)/);
    w = await sink().open(item);
    assert.equal(w.resumed, 8 * MiB, 'what is kept stays for the next run');
    await feed(w, big, 8 * MiB, big.length);
    await w.finish();
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'shrink/y.bin' }));
    assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(big), 'bytes identical');
    // Parts of 8, 5, 5, 5 and 1 MiB: S3's composite checksum is that of these parts.
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'shrink/y.bin', ChecksumMode: 'ENABLED' }));
    const ends = [8, 13, 18, 23, 24].map((m) => m * MiB);
    const digests = ends.map((e, i) => createHash('sha256').update(big.subarray(i ? ends[i - 1] : 0, e)).digest());
    assert.equal(h.ChecksumSHA256?.replace(/-\d+$/, ''), createHash('sha256').update(Buffer.concat(digests)).digest('base64'), 'parts of 8, 5, 5, 5, 1 MiB');
  });
});
