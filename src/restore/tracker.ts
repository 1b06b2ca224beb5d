// The job tracker: the retrieval jobs of a run, from InitiateJob (recorded in the journal before anything else
// is done with it) through polling to ready, and their end: expired or failed jobs are dropped from the journal
// and their archive handed back for a new job. Jobs already running in the vault for an archive (started by
// `glacier-job retrieve`, another host, a run whose state was lost) are taken up instead of starting another,
// and many jobs are followed with ListJobs pages (50 jobs a request on AWS) rather than one DescribeJob each.
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import type { Journal } from './journal.js';
import { archiveRecord } from './planner.js';
import { describeJob, errorCode, initiateJob, listJobPages, type Glacier } from './seam.js';
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

/** Due waiting jobs from which one poll lists the vault's jobs by the page rather than a DescribeJob each. */
export const PAGE_POLL_FROM = 4;

/**
 * Follows the run's jobs, one per archive id. Rejects only when the run's signal fired (an interrupted request);
 * a service error on one job is a warning and a later poll, or the job dropped.
 */
export interface JobTracker {
  /** Jobs outstanding (waiting, ready or downloading). */
  readonly size: number;
  tasks(): IterableIterator<Task>;
  /** Takes up a job started earlier (by an earlier run: already in the journal). */
  take(item: Item, jobId: string): Task;
  /**
   * Lists the vault's retrieval jobs in progress or succeeded (ListJobs, every page), for `running` and `start`
   * to take up. Call once, before the first `start`. Memory: one entry per such job of the vault.
   */
  loadRunning(): Promise<number>;
  /** Whether a job of the vault (listed by `loadRunning`) retrieves all of `item`: its job id, or undefined. */
  running(item: Item): string | undefined;
  /**
   * Follows a job for `item`: one already running in the vault (recorded in the journal, no InitiateJob), else a
   * new one (InitiateJob, then its journal record).
   */
  start(item: Item): Promise<Started>;
  /** Asks about every waiting job whose poll is due; marks the complete ones ready, drops the expired or failed. */
  poll(): Promise<void>;
  /** Drops a job (expired, failed): journal record, warning naming `why`, archive handed to `onDropped`. */
  drop(t: Task, why: string): Promise<void>;
  /** Forgets a job whose archive is finished (done, failed, integrity). */
  finish(t: Task): void;
  /** The earliest poll due among waiting jobs (Infinity when none waits). */
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

/** The job tracker of a run (see JobTracker). Polls a few jobs with DescribeJob (8 at a time), many by ListJobs pages. */
export function makeTracker(o: TrackerOptions): JobTracker {
  const tasks = new Map<string, Task>(); // by archive id

  const drop = async (t: Task, why: string) => {
    o.warn(`${why}; starting a new job for ${t.item.archiveId}`);
    await o.journal.recordDrop(t.item.archiveId, t.jobId);
    tasks.delete(t.item.archiveId);
    o.onDropped(t.item);
  };

  /** Applies what the service says of a job: ready, dropped (failed), refused (another archive), or later. */
  const apply = async (t: Task, job: GlacierJobDescription) => {
    const wrong = disagreement(t.item, job);
    if (wrong) {
      await o.journal.recordDrop(t.item.archiveId, t.jobId);
      tasks.delete(t.item.archiveId);
      o.onRefused(t, wrong);
      return;
    }
    if (job.StatusCode === 'Succeeded') t.state = 'ready';
    else if (job.StatusCode === 'Failed') await drop(t, `job ${t.jobId} failed (${job.StatusMessage ?? 'no reason given'})`);
    else {
      t.ours = true; // in progress: it becomes ready during this run
      t.nextPoll = o.now() + o.intervalMs;
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
      t.nextPoll = o.now() + o.intervalMs;
      return;
    }
    await apply(t, job);
  };

  /** Many due jobs: the vault's jobs by the page, until each due job was seen; those never listed get a DescribeJob. */
  const pollPages = async (due: Task[]) => {
    const left = new Map(due.map((t) => [t.jobId, t]));
    try {
      for await (const page of listJobPages(o.glacier, o.vault)) {
        for (const job of page) {
          const t = job.JobId ? left.get(job.JobId) : undefined;
          if (!t) continue;
          left.delete(job.JobId!);
          if (tasks.get(t.item.archiveId) === t) await apply(t, job);
        }
        if (!left.size) break;
      }
    } catch (e) {
      if (o.signal.aborted) throw e;
      o.warn(`cannot list the vault's jobs (${(e as Error).message}); asking about each`);
    }
    // Not listed: expired (DescribeJob says so), or the listing failed.
    const rest = [...left.values()];
    for (let i = 0; i < rest.length; i += 8) await Promise.all(rest.slice(i, i + 8).map(pollOne));
  };

  /** Running or succeeded retrieval jobs of the vault by archive id: the newest whole-archive one of each. */
  const inVault = new Map<string, GlacierJobDescription>();

  return {
    get size() {
      return tasks.size;
    },
    tasks: () => tasks.values(),
    take(item, jobId) {
      const t: Task = { item, jobId, state: 'waiting', nextPoll: 0 };
      tasks.set(item.archiveId, t);
      return t;
    },
    async loadRunning() {
      for await (const page of listJobPages(o.glacier, o.vault)) {
        for (const j of page) {
          if (j.Action !== 'ArchiveRetrieval' || !j.ArchiveId || !j.JobId) continue;
          if (j.StatusCode !== 'InProgress' && j.StatusCode !== 'Succeeded') continue;
          const size = j.ArchiveSizeInBytes;
          if (size === undefined || (j.RetrievalByteRange && j.RetrievalByteRange !== `0-${size - 1}`)) continue; // a part only
          const had = inVault.get(j.ArchiveId);
          // A succeeded job first (its output is there now), then the newest (it expires last).
          const ok = (x: GlacierJobDescription) => x.StatusCode === 'Succeeded';
          if (!had || (ok(j) !== ok(had) ? ok(j) : String(j.CreationDate) > String(had.CreationDate))) inVault.set(j.ArchiveId, j);
        }
      }
      return inVault.size;
    },
    running(item) {
      const j = inVault.get(item.archiveId);
      return j && j.ArchiveSizeInBytes === item.size ? j.JobId : undefined;
    },
    async start(item) {
      const running = this.running(item);
      if (running) {
        inVault.delete(item.archiveId);
        await o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId: running, at: o.now() });
        const task: Task = { item, jobId: running, state: 'waiting', nextPoll: 0 };
        tasks.set(item.archiveId, task);
        return { kind: 'adopted', task };
      }
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
      await o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId, at: o.now() });
      const task: Task = { item, jobId, state: 'waiting', nextPoll: 0, ours: true };
      tasks.set(item.archiveId, task);
      o.onStarted?.(task);
      return { kind: 'started', task };
    },
    async poll() {
      const now = o.now();
      const due = [...tasks.values()].filter((t) => t.state === 'waiting' && t.nextPoll <= now);
      if (due.length >= PAGE_POLL_FROM) return pollPages(due);
      for (let i = 0; i < due.length; i += 8) await Promise.all(due.slice(i, i + 8).map(pollOne));
    },
    drop,
    finish(t) {
      tasks.delete(t.item.archiveId);
    },
    nextPoll() {
      let m = Infinity;
      for (const t of tasks.values()) if (t.state === 'waiting' && t.nextPoll < m) m = t.nextPoll;
      return m;
    },
  };
}
