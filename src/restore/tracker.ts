// The job tracker: the retrieval jobs of a run, from InitiateJob (recorded in the journal before anything else
// is done with it) through polling to ready, and their end: expired or failed jobs are dropped from the journal
// and their archive handed back for a new job. Jobs already running in the vault for an archive (started by
// `glacier-job retrieve`, another host, a run whose state was lost) are taken up instead of starting another,
// and jobs are followed with ListJobs pages (50 jobs a request on AWS) rather than one DescribeJob each: polls
// come in rounds (every --interval; the first at once), and a round lists from the page where the oldest job due
// was last seen, not from the vault's first page, and stops once every job due was seen.
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import type { Journal } from './journal.js';
import { archiveRecord } from './planner.js';
import { describeJob, errorCode, initiateJob, listJobPagesFrom, type Glacier } from './seam.js';
import type { Item } from './sinks.js';

/** Errors of InitiateJob that no wait mends within a run (AWS error codes; Node's for an endpoint not reached). */
const FATAL = new Set(['UnrecognizedClientException', 'InvalidSignatureException', 'AccessDeniedException', 'ExpiredTokenException', 'MissingAuthenticationTokenException', 'ECONNREFUSED', 'ENOTFOUND']);

/** One archive's job. `waiting`: not yet complete; `ready`: its output can be downloaded; `downloading`: taken by the fetcher. */
export interface Task {
  item: Item;
  jobId: string;
  state: 'waiting' | 'ready' | 'downloading';
  /** When to ask about the job next (ms since the epoch; 0 = at once). */
  nextPoll: number;
  /** When the job was started (ms since the epoch; 0 when not known): ListJobs lists jobs in this order. */
  at: number;
  /** The ListJobs marker of a page at or before the job's place in the listing (undefined: the first page). */
  from?: string;
  /**
   * Started by this run, or seen in progress by it: its expiry unused says the pace is too fast. A job an earlier
   * run (or another host) left ready before this run began says nothing of this run's pace.
   */
  ours?: boolean;
}

/**
 * How a start went: a job is out (`started`), one already running in the vault was taken up (`adopted`, no
 * InitiateJob), the archive is not in the vault (`missing`: deleted since the inventory), it cannot be retrieved
 * (`failed`, with the service's error), or not now (`later`).
 */
export type Started = { kind: 'started' | 'adopted'; task: Task } | { kind: 'missing' | 'failed'; error: string } | { kind: 'later' };

/** A job started after the first round is first asked about this long after the last round (or --interval, if shorter). */
export const FIRST_POLL_MS = 5_000;

/**
 * Follows the run's jobs, one per archive id. Rejects only when the run's signal fired (an interrupted request);
 * a service error on one job is a warning and a later poll, or the job dropped.
 */
export interface JobTracker {
  /** Jobs outstanding (waiting, ready or downloading). */
  readonly size: number;
  tasks(): IterableIterator<Task>;
  /** Jobs waiting for Glacier, and jobs ready to download (kept as counts: no walk over the jobs). */
  readonly waiting: number;
  readonly ready: number;
  /** The job ready longest, marked `downloading` for the caller to fetch; undefined when none is ready. */
  nextReady(): Task | undefined;
  /** Takes up a job started earlier (by an earlier run: already in the journal). */
  take(item: Item, jobId: string): Task;
  /**
   * Lists the vault's retrieval jobs in progress or succeeded (ListJobs, every page), for `running` and `start`
   * to take up. Call once, before the first `start`. Memory: one entry per such job of the vault.
   */
  loadRunning(): Promise<number>;
  /**
   * Whether a job of the vault (listed by `loadRunning`) retrieves all of `item`'s archive: its job id, or
   * undefined. Matched by archive id alone: a job whose description disagrees with the input line (a wrong Size or
   * SHA256TreeHash) is still taken up, never paid for again, and its first poll refuses the line (`onRefused`).
   */
  running(item: Item): string | undefined;
  /**
   * Follows a job for `item`: one already running in the vault (recorded in the journal, no InitiateJob), else a
   * new one (InitiateJob, then its journal record).
   */
  start(item: Item): Promise<Started>;
  /**
   * When a waiting job's poll is due, one round: ListJobs pages from the page where the oldest job due was last
   * seen until every job due was seen (a job not listed from there is looked for from the first page; one not
   * listed at all gets a DescribeJob, which says it is gone). Every waiting job listed on the way is updated:
   * the complete ones marked ready, the failed dropped, the others asked about again a round later.
   */
  poll(): Promise<void>;
  /** Drops a job (expired, failed): journal record, warning naming `why`, archive handed to `onDropped`. */
  drop(t: Task, why: string): Promise<void>;
  /** Forgets a job whose archive is finished (done, failed, integrity). */
  finish(t: Task): void;
  /** The earliest poll due among waiting jobs, or a little earlier (Infinity when none waits). */
  nextPoll(): number;
}

export interface TrackerOptions {
  glacier: Glacier;
  vault: string;
  tier: string;
  journal: Journal;
  intervalMs: number;
  signal: AbortSignal;
  warn(message: string): void;
  now: () => number;
  /** An archive whose job was dropped: it needs a new one. */
  onDropped(item: Item): void;
  /** A waiting job was gone when asked about (it completed and expired between two polls); `onDropped` follows. */
  onGone?(t: Task): void;
  /** A job was started (InitiateJob answered and recorded). */
  onStarted?(t: Task): void;
  /**
   * The job's own description disagrees with the input about the archive (ArchiveSizeInBytes, SHA256 tree hash):
   * the job is dropped and nothing is fetched. `error` says what differs.
   */
  onRefused(t: Task, error: string): void;
}

/**
 * What a job's own description says against the input's record of the archive (its size, its tree hash), or
 * undefined when they agree. A job answers for the archive as Glacier holds it (protocol §7.2: ArchiveSizeInBytes,
 * ArchiveSHA256TreeHash); an input that disagrees (a stale or edited inventory, "Size": 0) would have the bytes
 * verified against the wrong hash, or not at all.
 */
export function disagreement(item: Item, job: GlacierJobDescription): string | undefined {
  if (typeof job.ArchiveSizeInBytes === 'number' && job.ArchiveSizeInBytes !== item.size) {
    return `archive ${item.archiveId}: the input says ${item.size} bytes, the vault's job ${job.JobId} says ${job.ArchiveSizeInBytes}; nothing was written (take the archive's line from a current inventory)`;
  }
  if (job.ArchiveSHA256TreeHash && job.ArchiveSHA256TreeHash.toLowerCase() !== item.treeHash) {
    return `archive ${item.archiveId}: the input's SHA256TreeHash ${item.treeHash} is not the vault's (${job.ArchiveSHA256TreeHash.toLowerCase()}, job ${job.JobId}); nothing was written (take the archive's line from a current inventory)`;
  }
  return undefined;
}

/** The job tracker of a run (see JobTracker). Polls by ListJobs pages; DescribeJob only for a job no listing shows. */
export function makeTracker(o: TrackerOptions): JobTracker {
  const tasks = new Map<string, Task>(); // by archive id
  const byJob = new Map<string, Task>(); // the same tasks by job id
  /** When the last round began (undefined before the first): jobs started later are first asked about a round later. */
  let lastRound: number | undefined;
  /** The marker of the last page of the latest listing: a job started after it is listed on that page or later. */
  let tail: string | undefined;
  const add = (t: Task) => {
    tasks.set(t.item.archiveId, t);
    byJob.set(t.jobId, t);
    waiting++;
    if (t.nextPoll < soonest) soonest = t.nextPoll;
  };
  const forget = (t: Task) => {
    if (tasks.get(t.item.archiveId) === t) {
      tasks.delete(t.item.archiveId);
      if (t.state === 'waiting') waiting--;
      else if (t.state === 'ready') ready--;
    }
    if (byJob.get(t.jobId) === t) byJob.delete(t.jobId);
  };
  // Counts and the ready queue, kept as jobs change state, so that a run of 100,000 jobs never walks them all
  // for each archive; `soonest` is at most the earliest poll due (exact after each poll).
  let waiting = 0;
  let ready = 0;
  const readyQueue: Task[] = [];
  let readyHead = 0;
  let soonest = Infinity;
  const schedule = (t: Task, at: number) => {
    t.nextPoll = at;
    if (at < soonest) soonest = at;
  };
  /**
   * A task for a job just started or taken up: asked about in the first round (at once), or in a round
   * FIRST_POLL_MS (at most --interval) after the last, with every other job started meanwhile.
   */
  const task = (item: Item, jobId: string, at: number, from: string | undefined): Task => ({
    item, jobId, state: 'waiting', nextPoll: lastRound === undefined ? 0 : lastRound + Math.min(o.intervalMs, FIRST_POLL_MS), at, from,
  });

  const drop = async (t: Task, why: string) => {
    o.warn(`${why}; starting a new job for ${t.item.archiveId}`);
    await o.journal.recordDrop(t.item.archiveId, t.jobId);
    forget(t);
    o.onDropped(t.item);
  };

  /** Applies what the service says of a job: ready, dropped (failed), refused (another archive), or later. */
  const apply = async (t: Task, job: GlacierJobDescription) => {
    const wrong = disagreement(t.item, job);
    if (wrong) {
      await o.journal.recordDrop(t.item.archiveId, t.jobId);
      forget(t);
      o.onRefused(t, wrong);
      return;
    }
    if (job.StatusCode === 'Succeeded') {
      t.state = 'ready';
      waiting--;
      ready++;
      readyQueue.push(t);
    } else if (job.StatusCode === 'Failed') await drop(t, `job ${t.jobId} failed (${job.StatusMessage ?? 'no reason given'})`);
    else {
      t.ours = true; // in progress: it becomes ready during this run
      schedule(t, o.now() + o.intervalMs);
    }
  };

  const pollOne = async (t: Task) => {
    let job: GlacierJobDescription;
    try {
      job = await describeJob(o.glacier, o.vault, t.jobId);
    } catch (e) {
      if (o.signal.aborted) throw e;
      if (errorCode(e) === 'ResourceNotFoundException') {
        o.onGone?.(t);
        return drop(t, `job ${t.jobId} is gone (expired)`);
      }
      o.warn(`cannot ask about job ${t.jobId} (${(e as Error).message}); asking again later`);
      schedule(t, o.now() + o.intervalMs);
      return;
    }
    await apply(t, job);
  };

  /**
   * Lists from `from` until every job of `left` was seen (or the listing ends), applying what it says to each
   * waiting job listed (removed from `left`). Rejects with the listing's error (a stale marker, the service).
   */
  const listFrom = async (from: string | undefined, left: Map<string, Task>, round: number) => {
    for await (const page of listJobPagesFrom(o.glacier, o.vault, from)) {
      for (const job of page.jobs) {
        const t = job.JobId ? byJob.get(job.JobId) : undefined;
        if (!t || t.state !== 'waiting' || tasks.get(t.item.archiveId) !== t) continue;
        left.delete(t.jobId);
        t.from = page.at;
        await apply(t, job);
        if (t.state === 'waiting') schedule(t, round + o.intervalMs);
      }
      tail = page.at;
      if (!left.size) return;
    }
  };

  /** One round (see JobTracker.poll). */
  const round = async (due: Task[]) => {
    const now = o.now();
    lastRound = now;
    const left = new Map(due.map((t) => [t.jobId, t]));
    // Jobs are listed by initiation time: from the oldest due job's page, every due job is on that page or after.
    let oldest = due[0];
    for (const t of due) if (t.at < oldest.at) oldest = t;
    const start = oldest.from;
    try {
      await listFrom(start, left, now);
      // Not listed after `start` (a marker the service no longer knows, jobs listed in another order): from the top.
      if (left.size && start !== undefined) await listFrom(undefined, left, now);
    } catch (e) {
      if (o.signal.aborted) throw e;
      if (start !== undefined) {
        try {
          await listFrom(undefined, left, now);
        } catch (e2) {
          if (o.signal.aborted) throw e2;
          o.warn(`cannot list the vault's jobs (${(e2 as Error).message}); asking again in ${Math.round(o.intervalMs / 1000)} s`);
          for (const t of left.values()) schedule(t, now + o.intervalMs);
          return;
        }
      } else {
        o.warn(`cannot list the vault's jobs (${(e as Error).message}); asking again in ${Math.round(o.intervalMs / 1000)} s`);
        for (const t of left.values()) schedule(t, now + o.intervalMs);
        return;
      }
    }
    // In no listing from the first page: expired (DescribeJob says so), or gone some other way.
    const rest = [...left.values()].filter((t) => tasks.get(t.item.archiveId) === t);
    for (let i = 0; i < rest.length; i += 8) await Promise.all(rest.slice(i, i + 8).map(pollOne));
  };

  /** Running or succeeded retrieval jobs of the vault by archive id: the newest whole-archive one of each. */
  const inVault = new Map<string, GlacierJobDescription & { from?: string }>();

  return {
    get size() {
      return tasks.size;
    },
    tasks: () => tasks.values(),
    get waiting() {
      return waiting;
    },
    get ready() {
      return ready;
    },
    nextReady() {
      while (readyHead < readyQueue.length) {
        const t = readyQueue[readyHead++];
        if (readyHead > 1024 && readyHead * 2 > readyQueue.length) {
          readyQueue.splice(0, readyHead);
          readyHead = 0;
        }
        if (t.state !== 'ready' || tasks.get(t.item.archiveId) !== t) continue;
        t.state = 'downloading';
        ready--;
        return t;
      }
      return undefined;
    },
    take(item, jobId) {
      const t = task(item, jobId, 0, undefined);
      add(t);
      return t;
    },
    async loadRunning() {
      for await (const page of listJobPagesFrom(o.glacier, o.vault)) {
        tail = page.at;
        for (const j of page.jobs) {
          if (j.Action !== 'ArchiveRetrieval' || !j.ArchiveId || !j.JobId) continue;
          if (j.StatusCode !== 'InProgress' && j.StatusCode !== 'Succeeded') continue;
          const size = j.ArchiveSizeInBytes;
          if (size === undefined || (j.RetrievalByteRange && j.RetrievalByteRange !== `0-${size - 1}`)) continue; // a part only
          const had = inVault.get(j.ArchiveId);
          // A succeeded job first (its output is there now), then the newest (it expires last).
          const ok = (x: GlacierJobDescription) => x.StatusCode === 'Succeeded';
          if (!had || (ok(j) !== ok(had) ? ok(j) : String(j.CreationDate) > String(had.CreationDate))) inVault.set(j.ArchiveId, { ...j, from: page.at });
        }
      }
      return inVault.size;
    },
    running(item) {
      // Not compared with the line's Size: a line of the wrong size would start a second job for an archive whose
      // job is paid for already; the job's own description settles the line at its first poll (apply).
      return inVault.get(item.archiveId)?.JobId;
    },
    async start(item) {
      const running = this.running(item);
      if (running) {
        const j = inVault.get(item.archiveId)!;
        inVault.delete(item.archiveId);
        void o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId: running, at: o.now() }, { queued: true });
        const created = Date.parse(String(j.CreationDate));
        const t = task(item, running, Number.isFinite(created) ? created : 0, j.from);
        add(t);
        return { kind: 'adopted', task: t };
      }
      // The archive's name (queued by the planner) is on disk before its job starts, with the records before it.
      await o.journal.durable();
      let jobId: string;
      try {
        jobId = await initiateJob(o.glacier, o.vault, { Type: 'archive-retrieval', ArchiveId: item.archiveId, Tier: o.tier });
      } catch (e) {
        if (o.signal.aborted) throw e;
        const name = errorCode(e);
        if (name === 'ResourceNotFoundException') return { kind: 'missing', error: `${name}: ${(e as Error).message}` };
        if (name === 'InvalidParameterValueException') return { kind: 'failed', error: `${name}: ${(e as Error).message}` };
        // Refused credentials, or an endpoint that refuses or does not resolve after the request layer's retries,
        // hold for every archive: the run ends (exit 1) rather than waiting for ever, and the next run continues.
        if (FATAL.has(name)) throw e;
        o.warn(`cannot start a job for ${item.archiveId} now (${(e as Error).message}); trying again in ${Math.round(o.intervalMs / 1000)} s`);
        return { kind: 'later' };
      }
      const at = o.now();
      // Queued (group commit): written with the next batch, at most GROUP_MS later and before the archive is
      // handed over (the fetcher waits for durable()). A job whose record a kill -9 lost meanwhile is still in the
      // vault's listing, and the next run takes it up (loadRunning) rather than starting another.
      void o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId, at }, { queued: true });
      // Started after the latest listing's last page: listed there or later (no DescribeJob for a new job).
      const t = task(item, jobId, at, tail);
      t.ours = true;
      add(t);
      o.onStarted?.(t);
      return { kind: 'started', task: t };
    },
    async poll() {
      const now = o.now();
      if (soonest > now) return;
      const list: Task[] = [];
      for (const t of tasks.values()) if (t.state === 'waiting' && t.nextPoll <= now) list.push(t);
      if (list.length) await round(list);
      soonest = Infinity;
      for (const t of tasks.values()) if (t.state === 'waiting' && t.nextPoll < soonest) soonest = t.nextPoll;
    },
    drop,
    finish(t) {
      forget(t);
    },
    nextPoll() {
      return waiting ? soonest : Infinity;
    },
  };
}
