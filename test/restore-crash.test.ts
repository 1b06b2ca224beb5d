// glacier-restore survives what a run over days meets: kill -9 at any moment (then the same command continues,
// every archive done once, nothing partial shown as done), jobs that expire, throttling and corrupted output;
// and it keeps to its pace (--max-jobs outstanding, --max-bytes-per-day per window), checked in glacier-local's
// request log and job list.
import { ListJobsCommand, type GlacierClient, type GlacierJobDescription } from '@aws-sdk/client-glacier';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run, show, start } from './helpers/bins.js';
import { type Local } from './helpers/local.js';
import { until } from './helpers/time.js';
import { restoreFixture, type RestoreFixture } from './helpers/restore-fixture.js';
import { IN_PLACE_PIECE } from '../src/retrieve/download.js';

const MiB = 1024 * 1024;
type Rec = Record<string, any>;
type LogEntry = { op: string; path?: string; jobId?: string; status?: number; fault?: string };

function records(out: Buffer): Rec[] {
  // A run killed mid-line leaves a cut last line: only whole lines count.
  const text = out.toString();
  return text.slice(0, text.lastIndexOf('\n') + 1).split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** The size of the file at `p`, 0 when it is gone (renamed to its name once whole). */
function sizeOf(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}

/** walk(), read while a run is writing: a folder removed meanwhile is read as nothing. */
function walkNow(dir: string): string[] {
  try {
    return walk(dir);
  } catch {
    return [];
  }
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

async function allJobs(g: GlacierClient, vaultName: string): Promise<GlacierJobDescription[]> {
  const jobs: GlacierJobDescription[] = [];
  let marker: string | undefined;
  do {
    const r = await g.send(new ListJobsCommand({ accountId: '-', vaultName, marker }));
    jobs.push(...(r.JobList ?? []));
    marker = r.Marker ?? undefined;
  } while (marker);
  return jobs;
}

type Fixture = RestoreFixture;

const fixture = (vault: string, localArgs: string[], sizes: number[]): Promise<Fixture> =>
  restoreFixture(vault, localArgs, sizes, { prefix: 'glacier-restore-crash-' });

/** What a run being killed has shown so far: its whole stdout records, and glacier-local's request log. */
interface Seen {
  recs: Rec[];
  log: LogEntry[];
  files: string[];
}

/**
 * A moment to kill a run at, defined by what the run has done (never by a time): `what` names it, `reached`
 * says whether it has come, `setup`/`cleanup` arm and disarm the glacier-local faults it needs.
 */
interface Moment {
  what: string;
  reached: (s: Seen) => boolean;
  setup?: (l: Local) => Promise<unknown>;
  cleanup?: (l: Local) => Promise<unknown>;
}

const freshDone = (recs: Rec[]) => recs.filter((x) => x.status === 'done' && !x.before).length;
const ops = (log: LogEntry[], op: string) => log.filter((e) => e.op === op).length;

// Each describe has its own glacier-local(s), vault and folders, and mostly waits (job delays, expiries, pace
// windows): three side by side, the tests within each one after another.
describe('glacier-restore across kills, expiries and limits', { concurrency: 3 }, () => {
  describe('glacier-restore: kill -9 at 5 moments, then the same command', { concurrency: 1 }, () => {
    let f: Fixture;
    before(async () => {
      const sizes = Array.from({ length: 60 }, (_, i) => (i % 10 === 0 ? 3 * MiB + i : 1 + ((i * 7919) % 150_000)));
      f = await fixture('crash', ['--memory', '--job-delay', '300ms'], sizes);
    });
    after(async () => {
      await f?.local.stop();
      if (f) rmSync(f.work, { recursive: true, force: true });
    });

    it('every archive done once, none retrieved again after it was done, nothing partial presented as done', async () => {
      const dir = join(f.work, 'out');
      const args = ['-v', 'crash', '--to', dir, '--interval', '200ms', '--max-jobs', '8', '-c', '2'];
      const runs: { recs: Rec[]; log: LogEntry[] }[] = [];
      // The moments spread over a run's phases: at its first request to the vault, once jobs are started, while an
      // archive is being written (its output trickled out, so a NAME.partial is seen part-written), and after some
      // archives were presented as done (at the first and at the fourth fresh record).
      const when: Moment[] = [
        { what: 'its first request to the vault', reached: (s) => s.log.length > 0 },
        { what: '3 jobs started', reached: (s) => ops(s.log, 'InitiateJob') >= 3 },
        {
          what: 'a NAME.partial part-written',
          reached: (s) => s.files.some((p) => p.endsWith('.partial') && sizeOf(p) > 0),
          setup: (l) => l.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=1000' }),
          cleanup: (l) => l.admin('DELETE', 'faults'),
        },
        { what: '1 archive presented as done', reached: (s) => freshDone(s.recs) >= 1 },
        { what: '4 archives presented as done', reached: (s) => freshDone(s.recs) >= 4 },
      ];
      for (const m of when) {
        await f.local.admin('DELETE', 'counters');
        await m.setup?.(f.local);
        const s = start('glacier-restore', args, { env: f.env, input: f.jsonl });
        // The kill is sent in the same tick the moment is seen: a run near its end has no time to finish meanwhile.
        let out = Buffer.alloc(0);
        let killed = false;
        const killIf = (seen: Seen) => (killed ||= m.reached(seen) && s.proc.kill('SIGKILL'));
        s.proc.stdout!.on('data', (d: Buffer) => {
          out = Buffer.concat([out, d]);
          killIf({ recs: records(out), log: [], files: [] });
        });
        let ended = false;
        void s.done.then(() => (ended = true));
        await until(async () => ended || killed || killIf({ recs: records(out), log: await f.local.admin<LogEntry[]>('GET', 'requests'), files: walkNow(dir) }), m.what, 120_000, 50);
        assert.ok(killed, `the run ended before the moment to kill it (${m.what}): ${show(await s.done)}`);
        const r = await s.done;
        await m.cleanup?.(f.local);
        assert.equal(r.signal, 'SIGKILL', show(r));
        runs.push({ recs: records(r.stdout), log: await f.local.admin<LogEntry[]>('GET', 'requests') });
        // Whatever was presented as done so far is whole and right.
        for (const rec of runs.flatMap((x) => x.recs).filter((x) => x.status === 'done')) {
          assert.ok(readFileSync(rec.to).equals(f.data.get(rec.archiveId)!), `${rec.name} done but not whole after a kill at ${m.what}`);
        }
      }
      await f.local.admin('DELETE', 'counters');
      const last = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
      assert.equal(last.code, 0, show(last));
      runs.push({ recs: records(last.stdout), log: await f.local.admin<LogEntry[]>('GET', 'requests') });
      const counts = runs.map((x) => x.recs.length);
      assert.ok(counts.slice(0, 5).some((n) => n > 0) && counts.slice(0, 5).some((n) => n < 60), `the kills fell mid-run (records per run: ${counts}, kills at ${when.map((m) => m.what).join(', ')})`);

      const jobArchive = new Map((await allJobs(f.local.client(), 'crash')).map((j) => [j.JobId!, j.ArchiveId!]));
      const doneIn = new Map<string, number>(); // archive -> first run that reported it done
      runs.forEach((x, r) => x.recs.filter((y) => y.status === 'done').forEach((y) => doneIn.has(y.archiveId) || doneIn.set(y.archiveId, r)));
      for (const [r, x] of runs.entries()) {
        for (const e of x.log) {
          if (e.op !== 'InitiateJob' && e.op !== 'GetJobOutput') continue;
          const a = jobArchive.get(e.jobId!);
          if (!a) continue; // an InitiateJob refused (no job)
          const d = doneIn.get(a);
          assert.ok(d === undefined || d >= r, `archive ${a} was done in run ${d} and retrieved again (${e.op}) in run ${r}`);
        }
      }
      const fresh = runs.flatMap((x) => x.recs).filter((y) => y.status === 'done' && !y.before);
      assert.equal(new Set(fresh.map((y) => y.archiveId)).size, fresh.length, 'no archive reported done twice');
      const final = runs.at(-1)!.recs;
      assert.equal(final.at(-1)!.summary, true);
      assert.equal(final.at(-1)!.done, 60);
      for (const [id, body] of f.data) {
        const rec = final.find((y) => y.archiveId === id)!;
        assert.ok(readFileSync(rec.to).equals(body), `bytes of ${rec.name}`);
      }
      assert.equal(walk(dir).length, 60, `only the 60 files, no .partial left: ${walk(dir).filter((p) => /partial/.test(p))}`);
    });
  });

  describe('glacier-restore: expired jobs, throttling, corrupted output', { concurrency: 1 }, () => {
    let f: Fixture;
    before(async () => {
      f = await fixture('rough', ['--memory', '--job-delay', '200ms', '--job-expiry', '2s'], Array.from({ length: 12 }, (_, i) => (i === 0 ? 2 * MiB + 5 : 1000 + i * 3000)));
    });
    after(async () => {
      await f?.local.stop();
      if (f) rmSync(f.work, { recursive: true, force: true });
    });

    it('a job that expired before its output was taken is started again (request log)', async () => {
      const out = join(f.work, 'expiry');
      mkdirSync(out);
      const cmd = 'test -z "$REFUSE" && cat > "$OUT/$GLACIER_ARCHIVE_ID"';
      const args = ['-v', 'rough', '--exec', cmd, '--interval', '200ms', '--max-jobs', '20'];
      // The command refuses every archive: the jobs stay recorded, and expire while nobody runs.
      const first = await run('glacier-restore', args, { env: { ...f.env, OUT: out, REFUSE: '1' }, input: f.jsonl });
      assert.equal(first.code, 1, show(first));
      const oldJobs = new Set(records(first.stdout).filter((r) => r.jobId).map((r) => r.jobId));
      assert.equal(oldJobs.size, 12);
      // Until glacier-local has let them expire (--job-expiry 2s after completion): it lists them no more.
      const g = f.local.client();
      await until(async () => !(await allJobs(g, 'rough')).some((j) => oldJobs.has(j.JobId)), 'the jobs of the first run to expire', 60_000, 200);
      await f.local.admin('DELETE', 'counters');
      const second = await run('glacier-restore', args, { env: { ...f.env, OUT: out }, input: f.jsonl });
      assert.equal(second.code, 0, show(second));
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      assert.equal(log.filter((e) => e.op === 'DescribeJob' && e.status === 404 && oldJobs.has(e.path!.split('/').at(-1)!)).length, 12, 'the old jobs were asked about and found gone');
      const started = log.filter((e) => e.op === 'InitiateJob' && e.status === 202).map((e) => e.jobId);
      // At least one new job per archive (on a loaded machine a new job may expire again before its turn).
      assert.ok(started.length >= 12, `${started.length} new jobs`);
      assert.ok(started.every((j) => !oldJobs.has(j!)));
      const fresh = records(second.stdout).filter((x) => x.status === 'done');
      assert.equal(fresh.length, 12);
      assert.ok(fresh.every((x) => !oldJobs.has(x.jobId)), 'every archive came from a new job');
      assert.match(second.stderr, /expired/);
      for (const [id, body] of f.data) assert.ok(readFileSync(join(out, id)).equals(body));
    });

    it('throttled InitiateJob and corrupted job output are survived; every byte verified', async () => {
      // The jobs of the test before are taken up while they last: this run is to start its own.
      const g = f.local.client();
      await until(async () => (await allJobs(g, 'rough')).length === 0, 'the jobs of the test before to expire', 60_000, 200);
      await f.local.admin('DELETE', 'counters');
      // The first three of each (not a rate: at 0.3 of 12 answers, no corruption at all came 1.4% of the time).
      await f.local.admin('PUT', 'faults', { spec: 'InitiateJob:throttle:count=3' });
      await f.local.admin('POST', 'faults', { spec: 'GetJobOutput:corrupt:count=3' });
      const dir = join(f.work, 'rough-out');
      const r = await run('glacier-restore', ['-v', 'rough', '--to', dir, '--interval', '200ms', '--max-jobs', '20'], { env: f.env, input: f.jsonl });
      await f.local.admin('DELETE', 'faults');
      assert.equal(r.code, 0, show(r));
      const fired = (await f.local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters')).faults;
      assert.equal(fired.InitiateJob?.throttle, 3, `throttling fired: ${JSON.stringify(fired)}`);
      assert.equal(fired.GetJobOutput?.corrupt, 3, `corruption fired: ${JSON.stringify(fired)}`);
      for (const rec of records(r.stdout).slice(0, -1)) assert.ok(readFileSync(rec.to).equals(f.data.get(rec.archiveId)!), rec.name);
    });
  });

  describe('glacier-restore: output that never verifies', { concurrency: 1 }, () => {
    let f: Fixture;
    before(async () => {
      f = await fixture('bad', ['--memory', '--job-delay', '100ms'], [3000, 5000]);
    });
    after(async () => {
      await f?.local.stop();
      if (f) rmSync(f.work, { recursive: true, force: true });
    });

    it('exit 3, status "integrity", and nothing kept (no file, no .partial)', async () => {
      await f.local.admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt' });
      const dir = join(f.work, 'never');
      const r = await run('glacier-restore', ['-v', 'bad', '--to', dir, '--interval', '200ms'], { env: f.env, input: f.jsonl });
      assert.equal(r.code, 3, show(r));
      const recs = records(r.stdout).slice(0, -1);
      assert.deepEqual(recs.map((x) => x.status), ['integrity', 'integrity']);
      assert.deepEqual(walk(dir), []);
    });
  });

  describe('glacier-restore: the pace is kept', { concurrency: 1 }, () => {
    // A vault for each test: jobs an earlier test left in a vault are taken up, not started again.
    let f: Fixture;
    let term: Fixture;
    let bytes: Fixture;
    before(async () => {
      f = await fixture('pace', ['--memory', '--job-delay', '300ms'], Array.from({ length: 24 }, (_, i) => 100_000 + i));
      term = await fixture('pace', ['--memory', '--job-delay', '300ms'], Array.from({ length: 24 }, (_, i) => 100_000 + i));
      bytes = await fixture('pace', ['--memory', '--job-delay', '300ms'], Array.from({ length: 9 }, (_, i) => 100_000 + i));
    });
    after(async () => {
      for (const x of [f, term, bytes]) {
        await x?.local.stop();
        if (x) rmSync(x.work, { recursive: true, force: true });
      }
    });

    it('--max-jobs: never more jobs outstanding (started, output not yet taken) than allowed', async () => {
      await f.local.admin('DELETE', 'counters');
      const r = await run('glacier-restore', ['-v', 'pace', '--to', join(f.work, 'jobs'), '--interval', '200ms', '--max-jobs', '3', '-c', '2'], { env: f.env, input: f.jsonl });
      assert.equal(r.code, 0, show(r));
      const log = await f.local.admin<LogEntry[]>('GET', 'requests');
      const lastOutput = new Map<string, number>();
      log.forEach((e, i) => e.op === 'GetJobOutput' && lastOutput.set(e.jobId!, i));
      let peak = 0;
      log.forEach((e, i) => {
        if (e.op !== 'InitiateJob' || e.status !== 202) return;
        const open = log.filter((x, j) => j <= i && x.op === 'InitiateJob' && x.status === 202 && (lastOutput.get(x.jobId!) ?? Infinity) > i).length;
        peak = Math.max(peak, open);
      });
      assert.equal(log.filter((e) => e.op === 'InitiateJob').length, 24);
      assert.ok(peak <= 3, `${peak} jobs outstanding`);
      assert.equal(peak, 3, 'the limit was reached (so the check means something)');
    });

    it('SIGTERM: exit 143, and the same command finishes the rest', async () => {
      const f = term;
      const dir = join(f.work, 'term');
      const args = ['-v', 'pace', '--to', dir, '--interval', '200ms', '--max-jobs', '2', '-c', '1'];
      const s = start('glacier-restore', args, { env: f.env, input: f.jsonl });
      // Stopped once it has restored something (a busy machine may take seconds to get there), not at a fixed time.
      let out = '';
      s.proc.stdout!.on('data', (d: Buffer) => (out += d));
      await until(() => out.includes('"status":"done"'), 'a first archive restored', 60_000);
      s.proc.kill('SIGTERM');
      const r = await s.done;
      assert.equal(r.code, 143, show(r));
      assert.match(r.stderr, /interrupted by SIGTERM/);
      const first = records(r.stdout).filter((x) => x.status === 'done');
      assert.ok(first.length < 24, 'stopped mid-run');
      const again = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
      assert.equal(again.code, 0, show(again));
      const recs = records(again.stdout).slice(0, -1);
      assert.equal(recs.filter((x) => x.before).length, first.length, 'what the first run did is not done again');
      for (const rec of recs) assert.ok(readFileSync(rec.to).equals(f.data.get(rec.archiveId)!), rec.name);
    });

    it('--max-bytes-per-day: never more bytes started within one window', async () => {
      const f = bytes;
      const t0 = Date.now();
      const r = await run('glacier-restore', ['-v', 'pace', '--to', join(f.work, 'bytes'), '--interval', '200ms', '--max-jobs', '50', '--max-bytes-per-day', '300K', '--pace-window', '2s'], { env: f.env, input: f.jsonl.split('\n').slice(0, 9).join('\n') });
      assert.equal(r.code, 0, show(r));
      const names = new Set(records(r.stdout).slice(0, -1).map((x) => x.archiveId));
      const jobs = (await allJobs(f.local.client(), 'pace')).filter((j) => names.has(j.ArchiveId!) && j.Action === 'ArchiveRetrieval' && Date.parse(j.CreationDate!) >= t0 - 100);
      const starts = jobs.map((j) => ({ at: Date.parse(j.CreationDate!), size: Number(j.ArchiveSizeInBytes) })).sort((a, b) => a.at - b.at);
      assert.equal(starts.length, 9);
      // 3 of these archives fit 300 KiB: 9 archives need 3 windows; the server's clock sees them a little late, so
      // each window is checked 100 ms short.
      for (const s of starts) {
        const inWindow = starts.filter((x) => x.at <= s.at && x.at > s.at - 1900).reduce((a, x) => a + x.size, 0);
        assert.ok(inWindow <= 300 * 1024, `${inWindow} bytes started within 2 s`);
      }
      assert.ok(starts.at(-1)!.at - starts[0].at >= 2 * 1900, 'the starts were spread over the windows');
    });
  });

  describe('glacier-restore: interrupted mid-archive, a folder resumes', { concurrency: 1 }, () => {
    let f: Fixture;
    before(async () => {
      // Two pieces of a folder's default piece size (the second short).
      f = await fixture('resume', ['--memory', '--job-delay', '0'], [IN_PLACE_PIECE + MiB + 5]);
    });
    after(async () => {
      // SIGKILL: glacier-local's SIGTERM waits for the requests the test's 60 s slow fault still holds, and nothing
      // of this in-memory server needs a clean stop.
      await f?.local.kill9();
      if (f) rmSync(f.work, { recursive: true, force: true });
    });

    it('SIGTERM keeps the verified prefix: the same command fetches only the rest', async () => {
      const dir = join(f.work, 'out');
      const args = ['-v', 'resume', '--to', dir, '--interval', '200ms'];
      // The first piece trickles out over a second or more (so its record is saved once it is verified: the
      // record is saved at most once a second), the other hangs: the run is stopped with one piece verified.
      // (slow's ms/50 between chunks: 2 ms each, over a second for the first piece.)
      await f.local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:count=1,ms=100' });
      await f.local.admin('POST', 'faults', { spec: 'GetJobOutput:slow:ms=60000' });
      const s = start('glacier-restore', args, { env: f.env, input: f.jsonl });
      const record = join(dir, 'f0.bin.partial.json');
      await until(() => existsSync(record) && JSON.parse(readFileSync(record, 'utf8')).verified >= IN_PLACE_PIECE, 'the first piece verified', 60_000, 100);
      s.proc.kill('SIGTERM');
      const r = await s.done;
      assert.equal(r.code, 143, show(r));
      assert.ok(existsSync(join(dir, 'f0.bin.partial')), 'the partial file is kept');
      await f.local.admin('DELETE', 'faults');
      await f.local.admin('DELETE', 'counters');
      const again = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
      assert.equal(again.code, 0, show(again));
      const [id, body] = [...f.data][0];
      assert.ok(readFileSync(join(dir, 'f0.bin')).equals(body), id);
      const ranges = (await f.local.admin<(LogEntry & { range?: string })[]>('GET', 'requests')).filter((e) => e.op === 'GetJobOutput').map((e) => e.range);
      assert.ok(ranges.length > 0 && ranges.every((r) => r !== undefined && Number(r.split('-')[0]) >= IN_PLACE_PIECE), `the verified first piece is not fetched again: ${ranges}`);
    });
  });
});
