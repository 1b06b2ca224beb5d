// glacier-restore's loop: reads archives (the planner), starts retrieval jobs within the pace set (the pacer),
// follows them (the job tracker), downloads the ready ones verified piece by piece and whole into the sink (the
// fetcher), and records each step in the journal before the next, so a run stopped at any instant continues
// where it stopped.
import { InterruptedError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import type { Journal } from './journal.js';
import { makeFetcher, type Fetched } from './fetcher.js';
import type { Namer } from './names.js';
import { makePacer } from './pacer.js';
import { makePlanner } from './planner.js';
import type { Glacier, InventoryArchive } from './seam.js';
import type { Shard } from './shard.js';
import { DirSink, type ArchiveSink, type Item } from './sinks.js';
import { join } from 'node:path';
import { makeTracker, type Task } from './tracker.js';

export { checkArchive } from './planner.js';

export interface RestoreOptions {
  glacier: Glacier;
  vault: string;
  input: AsyncIterable<InventoryArchive>;
  sink: ArchiveSink;
  journal: Journal;
  namer: Namer;
  shard?: Shard;
  tier: string;
  maxJobs: number;
  maxBytesPerDay?: number;
  /** Archives downloading at once. */
  concurrency: number;
  /** Ranged GETs in flight per archive. */
  pieceConcurrency?: number;
  intervalMs: number;
  signal: AbortSignal;
  /** One record per archive (and the summary) for stdout. */
  emit(record: object): void | Promise<void>;
  progress?(s: Stats): void;
  warn(message: string): void;
  /** What the run does, for stderr (quiet with -q). */
  info?(message: string): void;
  now?: () => number;
}

export interface Stats {
  archives: number; // seen so far in the input (in this shard)
  inputDone: boolean;
  done: number;
  doneBefore: number;
  failed: number;
  integrity: number;
  /** Archives the vault no longer holds (deleted since the inventory): not retried, not a failure of the run. */
  missing: number;
  bytes: number; // of the archives seen
  bytesDone: number;
  waiting: number;
  ready: number;
  downloading: number;
  jobsStarted: number;
  /** Jobs already running in the vault for an archive, taken up instead of starting one. */
  jobsAdopted: number;
  /** Archives the destination already held whole (found before a job was started for them, or after). */
  found: number;
  startedAt: number;
  /** When archives wait for their job: until when the pace holds the next one (ms; Infinity: --max-jobs out), else 0. */
  heldUntil?: number;
}

/**
 * Restores every archive of `input` (in this shard, not yet done) to the sink. Resolves with the stats when
 * every archive was handed over or failed; throws InterruptedError when the signal fires (the journal is then
 * consistent, and a rerun continues). Failures of single archives are records, not throws.
 */
export async function restore(o: RestoreOptions): Promise<Stats> {
  const now = o.now ?? Date.now;
  const st: Stats = { archives: 0, inputDone: false, done: 0, doneBefore: 0, failed: 0, integrity: 0, missing: 0, bytes: 0, bytesDone: 0, waiting: 0, ready: 0, downloading: 0, jobsStarted: 0, jobsAdopted: 0, found: 0, startedAt: now() };
  const retry: Item[] = []; // archives to start a job for again (expired, failed)
  const pool = new HashPool(1);
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let held: Item | undefined; // read from the input, waiting for the pace to allow its job
  const downloads = new Set<Promise<void>>();
  let failure: unknown = null; // what ends the run (a journal write that failed, an unexpected error)

  const finishItem = (item: Item, status: string, extra: object = {}) => {
    // An archive a client stored compressed or encrypted is restored as stored: its line says so.
    if (item.encoding && status === 'done') o.warn(`${item.archiveId} (${item.name}) was stored ${item.encoding} by the client that uploaded it; restored as stored ("encoding" in its line)`);
    o.emit({ archiveId: item.archiveId, name: item.name, size: item.size, status, to: o.sink.where(item), ...(item.encoding ? { encoding: item.encoding } : {}), ...extra });
  };
  const planner = makePlanner({
    input: o.input, namer: o.namer, journal: o.journal, shard: o.shard,
    onSeen: (item) => {
      st.archives++;
      st.bytes += item.size;
    },
    onDoneBefore: async (item) => {
      st.doneBefore++;
      st.bytesDone += item.size;
      await o.emit({ archiveId: item.archiveId, name: item.name, size: item.size, status: 'done', before: true, to: o.sink.where(item), ...(item.encoding ? { encoding: item.encoding } : {}) });
    },
    taken: o.sink.taken?.bind(o.sink),
    refuses: o.sink.refuses?.bind(o.sink),
    onRefused: (item, reason, r) => {
      if (r.integrity) {
        st.integrity++;
        finishItem(item, 'integrity', { refused: true, error: `${reason} (refused in an earlier run: no job is started for this line again)` });
        return;
      }
      st.failed++;
      finishItem(item, 'failed', { refused: true, error: `refused for good: ${reason}` });
    },
    onMissing: (item) => {
      st.missing++;
      finishItem(item, 'missing', { error: 'not in the vault when an earlier run asked for it (deleted since the inventory was taken: not retried)' });
    },
    onRenamed: (item, from) => o.warn(`${o.sink.where({ ...item, name: from })} holds something else (not archive ${item.archiveId}): it is left as it is, and the archive is restored as ${o.sink.where(item)}`),
    onFolder: async (item) => {
      try {
        await o.sink.makeFolder?.(item);
      } catch (e) {
        st.failed++;
        finishItem(item, 'failed', { folder: true, error: (e as Error).message });
        return;
      }
      await o.journal.recordDone(item.archiveId, item.size);
      st.done++;
      finishItem(item, 'done', { folder: true });
    },
  });
  const pacer = makePacer({ maxJobs: o.maxJobs, maxBytesPerDay: o.maxBytesPerDay, journal: o.journal, now, floor: o.concurrency });
  /**
   * A job expired before any of its output was downloaded: fewer jobs out from now on, and the user told why.
   * `startedAt`: when the job was started (its life so far is how long the pace waits before rising again).
   */
  const slowDown = (t: Task, startedAt = o.journal.job(t.item.archiveId)?.at) => {
    // A job left ready by an earlier run (or another host) before this one began says nothing of this run's pace.
    if (!t.ours) return;
    const limit = pacer.expired(startedAt === undefined ? undefined : now() - startedAt);
    if (limit === undefined) return;
    o.warn(
      `job ${t.jobId} expired before its output was downloaded: the downloads drain fewer jobs than --max-jobs ${o.maxJobs} within a job's life; ` +
        `at most ${limit} jobs outstanding from now on (run with --max-jobs ${limit}, or more downloads at once with -c)`,
    );
  };
  const tracker = makeTracker({
    glacier: o.glacier, vault: o.vault, tier: o.tier, journal: o.journal, intervalMs: o.intervalMs, signal: o.signal, warn: o.warn, now,
    onDropped: (item) => retry.push(item),
    onGone: (t) => slowDown(t),
    onStarted: () => st.jobsStarted++,
    onRefused: (t, error) => {
      st.integrity++;
      finishItem(t.item, 'integrity', { jobId: t.jobId, error });
      // Recorded for this input line, so that later runs start no job for it again (a corrected line is tried).
      o.journal.recordRefused(t.item.archiveId, error, { line: { size: t.item.size, treeHash: t.item.treeHash }, integrity: true }).catch((e) => (failure ??= e));
    },
  });
  // A folder whose file at an archive's name was made by another process meanwhile: the next free name.
  if (o.sink instanceof DirSink) {
    const sink = o.sink;
    sink.renameWith({
      next: async (item) => (await o.namer.claim(item.archiveId, item.description, { size: item.size, taken: (n, f) => sink.taken(n, f, item) })).name,
      record: async (item, name) => {
        await o.journal.recordRename(item.archiveId, name);
        o.warn(`${sink.where(item)} appeared meanwhile and holds something else (not archive ${item.archiveId}): it is left as it is, and the archive is restored as ${join(sink.dir, name)}`);
      },
    });
  }
  const fetcher = makeFetcher({
    glacier: o.glacier, vault: o.vault, sink: o.sink, pool, pieceConcurrency: o.pieceConcurrency, concurrency: o.concurrency, signal: o.signal, warn: o.warn,
    onBytes: (n) => (st.bytesDone += n),
    beforeFinish: () => o.journal.durable(),
  });
  // Archives whose folder this run asked about before starting their job (nextItem): not asked again, since the
  // folder never replaces what another process makes there meanwhile (link(2)). (S3 is asked again.)
  const checked = new WeakSet<Item>();
  for (const r of planner.resumed()) tracker.take(r.item, r.jobId);
  // Jobs already running in the vault are taken up before any is started (never paid twice).
  try {
    const n = await tracker.loadRunning();
    if (n) o.info?.(`${n} archive retrieval job(s) in progress or succeeded in the vault: those for archives of this run are taken up instead of starting others`);
  } catch (e) {
    if (o.signal.aborted) throw o.signal.reason instanceof InterruptedError ? o.signal.reason : e;
    o.warn(`cannot list the vault's jobs (${(e as Error).message}); jobs already running for these archives are not taken up`);
  }

  /** The next archive that needs a job: the destination is asked first (a run whose state was lost). */
  const nextItem = async (): Promise<Item | undefined> => {
    for (;;) {
      const item = await planner.next();
      if (!item) return undefined;
      if (!(await o.sink.holds(item).catch(() => false))) {
        if (o.sink instanceof DirSink) checked.add(item);
        return item;
      }
      await o.journal.recordDone(item.archiveId, item.size);
      st.done++;
      st.found++;
      st.bytesDone += item.size;
      await o.emit({ archiveId: item.archiveId, name: item.name, size: item.size, status: 'done', to: o.sink.where(item), treeHash: item.treeHash, found: true });
    }
  };

  /** The end of one ready job's download: journal, stats and the archive's record. */
  const settle = async (t: Task, r: Fetched) => {
    const item = t.item;
    if (r.status === 'expired') {
      const kept = r.kept ? ` (${r.kept} verified bytes kept: the next job continues after them)` : '';
      const startedAt = o.journal.job(item.archiveId)?.at;
      await tracker.drop(t, `the output of job ${t.jobId} is gone (expired)${kept}${r.warning ? `; ${r.warning}` : ''}`);
      if (!r.got) slowDown(t, startedAt);
      return;
    }
    if (r.status === 'done') await o.journal.recordDone(item.archiveId, item.size);
    tracker.finish(t);
    if (r.status === 'done') {
      // A job drained within its life: after a quiet period the pace may rise again towards --max-jobs.
      const raised = pacer.drained();
      if (raised !== undefined) o.info?.(`jobs drain within their life again: at most ${raised} jobs outstanding from now on (--max-jobs ${o.maxJobs})`);
      st.done++;
      if (r.found) {
        st.found++;
        st.bytesDone += item.size;
      }
      finishItem(item, 'done', { jobId: t.jobId, treeHash: item.treeHash, ...(r.found ? { found: true } : {}) });
    } else {
      if (r.status === 'integrity') st.integrity++;
      else st.failed++;
      finishItem(item, r.status, { jobId: t.jobId, error: r.error });
    }
  };

  try {
    for (;;) {
      if (o.signal.aborted) throw o.signal.reason;
      if (failure) throw failure;
      const unwritten = o.journal.writeError();
      if (unwritten) throw unwritten;
      st.inputDone = planner.inputDone;
      // 1. start jobs while the pace allows
      while (pacer.canTry(tracker.size)) {
        const item = held ?? retry.shift() ?? (await nextItem());
        held = undefined;
        if (!item) break;
        // A job already running in the vault is paid for: taking it up spends no budget.
        if (!tracker.running(item) && !pacer.allows(item.size)) {
          held = item;
          break;
        }
        const r = await tracker.start(item);
        if (r.kind === 'adopted') st.jobsAdopted++;
        else if (r.kind === 'missing') {
          await o.journal.recordMissing(item.archiveId); // later runs report it without asking again
          st.missing++;
          finishItem(item, 'missing', { error: `${r.error} (deleted since the inventory was taken: not retried)` });
        } else if (r.kind === 'failed') {
          st.failed++;
          finishItem(item, 'failed', { error: r.error });
        } else if (r.kind === 'later') {
          pacer.holdUntil(now() + Math.min(o.intervalMs, 60_000));
          held = item;
          break;
        }
      }
      st.inputDone = planner.inputDone;
      const next = held || retry.length || !planner.inputDone ? pacer.nextTry(tracker.size) : 0;
      st.heldUntil = next > now() ? next : 0;
      // 2. poll the jobs due (the first poll at once)
      await tracker.poll();
      // 3. downloads
      while (downloads.size < o.concurrency) {
        const t = tracker.nextReady();
        if (!t) break;
        const p: Promise<void> = fetcher
          .fetch(t.item, t.jobId, { checked: checked.has(t.item) })
          .then((r) => settle(t, r))
          .catch((e) => {
            failure ??= e;
          })
          .finally(() => {
            downloads.delete(p);
            notify();
          });
        downloads.add(p);
      }
      const counts = { waiting: tracker.waiting, ready: tracker.ready };
      Object.assign(st, counts, { downloading: downloads.size });
      o.progress?.(st);
      if (st.inputDone && !held && !retry.length && !tracker.size && !downloads.size) break;
      // 4. sleep until something can move
      const waits: number[] = [];
      const poll = tracker.nextPoll();
      if (poll !== Infinity) waits.push(poll);
      if (held || retry.length || !st.inputDone) {
        const next = pacer.nextTry(tracker.size);
        if (next !== Infinity) waits.push(next);
      }
      if (counts.ready && downloads.size < o.concurrency) waits.push(now());
      const until = waits.length ? Math.min(...waits) : Infinity;
      const ms = Math.max(0, Math.min(until - now(), 60_000));
      if (ms > 0 || !waits.length) await pause(ms === 0 ? 60_000 : ms, o.signal, (w) => (wake = w));
      else await new Promise((r) => setImmediate(r));
    }
  } catch (e) {
    await Promise.allSettled(downloads);
    throw o.signal.aborted && o.signal.reason instanceof InterruptedError ? o.signal.reason : e;
  } finally {
    await pool.close();
  }
  return st;
}

/** Waits `ms`, or until woken (`arm` receives the waker), or until the signal fires; leaves no timer or listener. */
function pause(ms: number, signal: AbortSignal, arm: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    arm(done);
  });
}
