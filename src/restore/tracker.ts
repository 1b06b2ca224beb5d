// The job tracker: the retrieval jobs of a run, from InitiateJob (recorded in the journal before anything else
// is done with it) through polling to ready, and their end: expired or failed jobs are dropped from the journal
// and their archive handed back for a new job.
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import type { Journal } from './journal.js';
import { archiveRecord } from './planner.js';
import { describeJob, errorCode, initiateJob, type Glacier } from './seam.js';
import type { Item } from './sinks.js';

/** One archive's job. `waiting`: not yet complete; `ready`: its output can be downloaded; `downloading`: taken by the fetcher. */
export interface Task {
  item: Item;
  jobId: string;
  state: 'waiting' | 'ready' | 'downloading';
  /** When to ask about the job next (ms since the epoch; 0 = at once). */
  nextPoll: number;
}

/** How a start went: a job is out, the archive cannot be retrieved (`failed`, with the service's error), or not now (`later`). */
export type Started = { kind: 'started'; task: Task } | { kind: 'failed'; error: string } | { kind: 'later' };

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
  /** Starts a job for `item` (InitiateJob, then its journal record) and follows it. */
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
  /** A job was started (InitiateJob answered and recorded). */
  onStarted?(t: Task): void;
}

/** The job tracker of a run (see JobTracker). Polls with DescribeJob, 8 at a time. */
export function makeTracker(o: TrackerOptions): JobTracker {
  const tasks = new Map<string, Task>(); // by archive id

  const drop = async (t: Task, why: string) => {
    o.warn(`${why}; starting a new job for ${t.item.archiveId}`);
    await o.journal.recordDrop(t.item.archiveId, t.jobId);
    tasks.delete(t.item.archiveId);
    o.onDropped(t.item);
  };

  const pollOne = async (t: Task) => {
    let job: GlacierJobDescription;
    try {
      job = await describeJob(o.glacier, o.vault, t.jobId);
    } catch (e) {
      if (o.signal.aborted) throw e;
      if (errorCode(e) === 'ResourceNotFoundException') return drop(t, `job ${t.jobId} is gone (expired)`);
      o.warn(`cannot ask about job ${t.jobId} (${(e as Error).message}); asking again later`);
      t.nextPoll = o.now() + o.intervalMs;
      return;
    }
    if (job.StatusCode === 'Succeeded') t.state = 'ready';
    else if (job.StatusCode === 'Failed') await drop(t, `job ${t.jobId} failed (${job.StatusMessage ?? 'no reason given'})`);
    else t.nextPoll = o.now() + o.intervalMs;
  };

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
    async start(item) {
      let jobId: string;
      try {
        jobId = await initiateJob(o.glacier, o.vault, { Type: 'archive-retrieval', ArchiveId: item.archiveId, Tier: o.tier });
      } catch (e) {
        if (o.signal.aborted) throw e;
        const name = errorCode(e);
        if (name === 'ResourceNotFoundException' || name === 'InvalidParameterValueException') return { kind: 'failed', error: `${name}: ${(e as Error).message}` };
        o.warn(`cannot start a job for ${item.archiveId} now (${(e as Error).message}); trying again in ${Math.round(o.intervalMs / 1000)} s`);
        return { kind: 'later' };
      }
      await o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId, at: o.now() });
      const task: Task = { item, jobId, state: 'waiting', nextPoll: 0 };
      tasks.set(item.archiveId, task);
      o.onStarted?.(task);
      return { kind: 'started', task };
    },
    async poll() {
      const now = o.now();
      const due = [...tasks.values()].filter((t) => t.state === 'waiting' && t.nextPoll <= now);
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
