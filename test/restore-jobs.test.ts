// glacier-restore and the life of retrieval jobs: an archive whose download outlasts its job is continued by the
// next job (never restarted from byte 0); a run whose downloads drain fewer jobs than it starts within a job's
// life slows down instead of paying for jobs that expire unused; jobs already running in the vault are taken up,
// and outstanding jobs are followed by ListJobs pages. Counted in glacier-local's request log.
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';
import { startLocal } from './helpers/local.js';
import { within } from './helpers/time.js';
import { inventoryOutput, restoreFixture, type RestoreFixture } from './helpers/restore-fixture.js';

const MiB = 1024 * 1024;
type Rec = Record<string, any>;
type LogEntry = { op: string; path?: string; jobId?: string; status?: number; range?: string };

function records(out: Buffer): Rec[] {
  return out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

type Fixture = RestoreFixture;

/** glacier-local on disk (its job output comes in 1 MiB chunks, which `slow` paces), a vault, and archives. */
const fixture = (vault: string, localArgs: string[], sizes: number[]): Promise<Fixture> =>
  restoreFixture(vault, localArgs, sizes, { prefix: 'glacier-restore-jobs-', onDisk: true });

const fixtures: Fixture[] = [];
after(async () => {
  for (const f of fixtures) {
    await f.local.stop();
    rmSync(f.work, { recursive: true, force: true });
  }
});

/** Every archive of `f` is in its `done` record's file, byte for byte. */
function allRestored(f: Fixture, out: Buffer): Rec[] {
  const recs = records(out);
  for (const [id, body] of f.data) {
    const rec = recs.find((x) => x.archiveId === id && x.status === 'done');
    assert.ok(rec && readFileSync(rec.to).equals(body), `${id} restored`);
  }
  return recs;
}

// Each test has its own glacier-local, vault and folders, and mostly waits (jobs expiring, slowed outputs, poll
// intervals): they run side by side.
describe('glacier-restore and retrieval jobs', { concurrency: 3 }, () => {
  describe('glacier-restore: an archive whose download needs three job lifetimes', () => {
    it('completes byte-identical, each job continuing the verified prefix, no byte fetched more than twice', { timeout: within(240_000) }, async () => {
      // 5 pieces of 16 MiB (--limit-rate 64M asks for pieces of at most a quarter second of it, where a folder's
      // default is 64 MiB; it never binds: the slowed answers come at 25 MiB/s). A job lives 4 s after it
      // completes; each GetJobOutput waits 2 s before its answer and trickles 16 MiB out in 0.64 s: the two pieces
      // asked for at once are served, the next two are asked for after the job expired. Each job gives at most
      // two pieces, so the archive needs at least three jobs.
      const f = await fixture('lifetimes', ['--job-delay', '0', '--job-expiry', '4s'], [80 * MiB + 12345]);
      fixtures.push(f);
      await f.local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=2000' });
      await f.local.admin('DELETE', 'counters');
      const dir = join(f.work, 'out');
      const r = await run('glacier-restore', ['-v', 'lifetimes', '--to', dir, '--interval', '200ms', '--limit-rate', '64M'], { env: f.env, input: f.jsonl });
      assert.equal(r.code, 0, show(r));
      const [id, body] = [...f.data][0];
      const rec = records(r.stdout).find((x) => x.archiveId === id && x.status === 'done');
      assert.ok(rec, show(r));
      assert.ok(readFileSync(rec.to).equals(body), 'bytes identical');
      assert.deepEqual(readdirSync(dir), ['f0.bin'], 'no .partial left');
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      const jobs = log.filter((e) => e.op === 'InitiateJob' && e.status === 202).map((e) => e.jobId!);
      assert.ok(jobs.length >= 3, `three job lifetimes at least (jobs: ${jobs.length})`);
      const served = log.filter((e) => e.op === 'GetJobOutput' && e.status === 206);
      const gave = new Set(served.map((e) => e.jobId));
      assert.ok(gave.size >= 3, `bytes came from ${gave.size} jobs`);
      // Each MiB of the archive in at most two answered ranges.
      const cover = new Array(Math.ceil(body.length / MiB)).fill(0);
      for (const e of served) {
        const [a, b] = e.range!.split('-').map(Number);
        for (let m = Math.floor(a / MiB); m <= Math.floor(b / MiB); m++) cover[m]++;
      }
      assert.ok(Math.max(...cover) <= 2, `no byte fetched more than twice (coverage per MiB: ${cover.join('')})`);
      assert.match(r.stderr, /verified bytes kept/);
    });
  });

  describe('glacier-restore: more jobs than downloads drain within a job\'s life', () => {
    it('converges: fewer than 2x the archives in InitiateJob calls, and stderr names the option', { timeout: within(300_000) }, async () => {
      // 12 archives of 1 MiB, one download at a time, each GetJobOutput taking 1 s; a job lives 2.5 s after it
      // completes. Six jobs at once cannot all be downloaded in time.
      const f = await fixture('pace', ['--job-delay', '0', '--job-expiry', '2500ms'], Array.from({ length: 12 }, (_, i) => MiB - i));
      fixtures.push(f);
      await f.local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=1000' });
      await f.local.admin('DELETE', 'counters');
      const dir = join(f.work, 'out');
      const r = await run('glacier-restore', ['-v', 'pace', '--to', dir, '--interval', '200ms', '--max-jobs', '6', '-c', '1'], { env: f.env, input: f.jsonl });
      assert.equal(r.code, 0, show(r));
      const recs = records(r.stdout);
      for (const [id, body] of f.data) {
        const rec = recs.find((x) => x.archiveId === id && x.status === 'done');
        assert.ok(rec && readFileSync(rec.to).equals(body), `${id} restored`);
      }
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      const initiated = log.filter((e) => e.op === 'InitiateJob').length;
      assert.ok(initiated < 2 * 12, `InitiateJob calls: ${initiated} for 12 archives`);
      assert.match(r.stderr, /expired before its output was downloaded.*--max-jobs \d+/);
    });
  });

  describe('glacier-restore: never pays twice', () => {
    it('takes up jobs started beforehand with glacier-job retrieve (no InitiateJob for them)', { timeout: within(120_000) }, async () => {
      const f = await fixture('adopt', ['--job-delay', '1s'], [1000, 2000, 3000, 4000]);
      fixtures.push(f);
      const ids = [...f.data.keys()];
      const before: string[] = [];
      for (const id of ids.slice(0, 2)) {
        const r = await run('glacier-job', ['retrieve', '-v', 'adopt', id], { env: f.env });
        assert.equal(r.code, 0, show(r));
        before.push(/"JobId":"([^"]+)"/.exec(r.stdout.toString())![1]);
      }
      await f.local.admin('DELETE', 'counters');
      const r = await run('glacier-restore', ['-v', 'adopt', '--to', join(f.work, 'out'), '--interval', '200ms'], { env: f.env, input: f.jsonl });
      assert.equal(r.code, 0, show(r));
      allRestored(f, r.stdout);
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      assert.equal(log.filter((e) => e.op === 'InitiateJob').length, 2, 'jobs started only for the two archives without one');
      const fetchedFrom = new Set(log.filter((e) => e.op === 'GetJobOutput').map((e) => e.jobId));
      for (const j of before) assert.ok(fetchedFrom.has(j), `the output of ${j}, started beforehand, was taken`);
      const summary = records(r.stdout).at(-1)!;
      assert.equal(summary.jobsAdopted, 2);
      assert.equal(summary.jobsStarted, 2);
    });

    it('a rerun to a folder with the state file deleted starts no job and rewrites nothing', { timeout: within(120_000) }, async () => {
      const f = await fixture('lost', ['--job-delay', '0'], [1000, 2 * MiB + 3, 3000]);
      fixtures.push(f);
      const dir = join(f.work, 'out');
      const args = ['-v', 'lost', '--to', dir, '--interval', '200ms'];
      const first = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
      assert.equal(first.code, 0, show(first));
      const files = allRestored(f, first.stdout).filter((x) => x.status === 'done').map((x) => x.to as string);
      const stamps = files.map((p) => { const s = statSync(p); return `${s.ino}:${s.mtimeMs}:${s.ctimeMs}`; });
      rmSync(join(f.work, 'state'), { recursive: true, force: true });
      await f.local.admin('DELETE', 'counters');
      const again = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
      assert.equal(again.code, 0, show(again));
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      assert.deepEqual(log.filter((e) => e.op === 'InitiateJob' || e.op === 'GetJobOutput'), [], 'no job started, no output fetched');
      assert.deepEqual(files.map((p) => { const s = statSync(p); return `${s.ino}:${s.mtimeMs}:${s.ctimeMs}`; }), stamps, 'files untouched');
      const summary = records(again.stdout).at(-1)!;
      assert.equal(summary.done, 3);
      assert.equal(summary.found, 3);
      assert.equal(summary.jobsStarted, 0);
    });
  });

  describe('glacier-restore: polls by the page', () => {
    it('with 600 jobs outstanding, at least ten times fewer poll requests than one DescribeJob per job', { timeout: within(300_000) }, async (t) => {
      const work = mkdtempSync(join(tmpdir(), 'glacier-restore-pages-'));
      const local = await startLocal(['--memory', '--job-delay', '0']);
      fixtures.push({ local, work, env: {}, data: new Map(), jsonl: '' });
      const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
      await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'many' }));
      await local.admin('POST', 'fill', { vault: 'many', count: 600, size: 1 });
      const lines = await inventoryOutput('many', env);
      // Jobs now take 3 s: several polls of every outstanding job before it completes.
      await local.admin('PUT', 'config', { jobDelays: { Bulk: 3000, Standard: 3000, Expedited: 3000 } });
      await local.admin('DELETE', 'counters');
      const r = await run('glacier-restore', ['-v', 'many', '--to', join(work, 'out'), '--interval', '5s', '--max-jobs', '600', '-c', '8'], { env, input: lines });
      assert.equal(r.code, 0, show(r));
      assert.equal(records(r.stdout).filter((x) => x.status === 'done').length, 600);
      const log = await local.admin<LogEntry[]>('GET', 'requests');
      const polls = log.filter((e) => e.op === 'DescribeJob' || e.op === 'ListJobs').length;
      t.diagnostic(`poll requests for 600 jobs: ${polls} (DescribeJob ${log.filter((e) => e.op === 'DescribeJob').length}, ListJobs ${log.filter((e) => e.op === 'ListJobs').length})`);
      // One DescribeJob per job is at least 600 requests (each job asked about once, at least).
      assert.ok(polls * 10 <= 600, `poll requests: ${polls} (DescribeJob ${log.filter((e) => e.op === 'DescribeJob').length}, ListJobs ${log.filter((e) => e.op === 'ListJobs').length})`);
    });
  });

  describe('glacier-restore: the job\'s own description against the input', () => {
    it('"Size": 0, a wrong size or a wrong tree hash for a real archive is refused before anything is written', { timeout: within(120_000) }, async () => {
      const f = await fixture('liar', ['--job-delay', '0'], [5000, 6000, 7000, 8000]);
      fixtures.push(f);
      const lines = f.jsonl.trim().split('\n').map((l) => JSON.parse(l));
      lines[0].Size = 0;
      lines[1].Size = 6001;
      lines[2].SHA256TreeHash = 'ab'.repeat(32);
      const dir = join(f.work, 'out');
      const r = await run('glacier-restore', ['-v', 'liar', '--to', dir, '--interval', '200ms'], { env: f.env, input: lines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
      assert.equal(r.code, 3, show(r));
      const recs = records(r.stdout);
      for (const l of lines.slice(0, 3)) {
        const rec = recs.find((x) => x.archiveId === l.ArchiveId)!;
        assert.equal(rec.status, 'integrity', JSON.stringify(rec));
        assert.match(rec.error, /nothing was written/);
      }
      assert.deepEqual(readdirSync(dir), ['f3.bin'], 'only the honest archive was written (no .partial either)');
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      assert.equal(log.filter((e) => e.op === 'GetJobOutput').length, 1, 'no output fetched for the refused three');
    });
  });
});
