// glacier-restore's loop: reads archives, starts retrieval jobs within the pace set (--max-jobs outstanding,
// --max-bytes-per-day started per window), polls them, downloads the ready ones verified piece by piece and
// whole, hands them to the sink, and records each step in the journal before the next, so a run stopped at
// any instant continues where it stopped.
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import { IntegrityError, InterruptedError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { MiB } from '../core/tree-hash.js';
import { keyOf, type ArchiveRecord, type Journal } from './journal.js';
import { describeJob, download, errorCode, initiateJob, planPieces, type Glacier, type InventoryArchive } from './seam.js';
import type { ArchiveSink, Item } from './sinks.js';
import type { Namer } from './names.js';
import { inShard, type Shard } from './shard.js';

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
  now?: () => number;
}

export interface Stats {
  archives: number; // seen so far in the input (in this shard)
  inputDone: boolean;
  done: number;
  doneBefore: number;
  failed: number;
  integrity: number;
  bytes: number; // of the archives seen
  bytesDone: number;
  waiting: number;
  ready: number;
  downloading: number;
  jobsStarted: number;
  startedAt: number;
}

interface Task {
  item: Item;
  jobId: string;
  state: 'waiting' | 'ready' | 'downloading';
  nextPoll: number;
}

const ID_RE = /^[A-Za-z0-9_-]{1,1024}$/;

/** Checks one input record; throws a message naming what is wrong. */
export function checkArchive(a: InventoryArchive): InventoryArchive {
  if (!a || typeof a !== 'object') throw new Error('not a JSON object');
  if (typeof a.ArchiveId !== 'string' || !ID_RE.test(a.ArchiveId)) throw new Error(`no valid ArchiveId`);
  if (typeof a.Size !== 'number' || !Number.isSafeInteger(a.Size) || a.Size < 0) throw new Error(`Size of ${a.ArchiveId} is not a byte count`);
  if (typeof a.SHA256TreeHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(a.SHA256TreeHash)) throw new Error(`SHA256TreeHash of ${a.ArchiveId} is not 64 hex digits`);
  return { ...a, SHA256TreeHash: a.SHA256TreeHash.toLowerCase() };
}

function record(a: InventoryArchive, name: string, mtime?: Date): Item {
  return {
    archiveId: a.ArchiveId,
    name,
    size: a.Size,
    treeHash: a.SHA256TreeHash,
    description: String(a.ArchiveDescription ?? ''),
    creationDate: String(a.CreationDate ?? ''),
    mtime: mtime?.getTime(),
  };
}

function archiveRecord(i: Item): ArchiveRecord {
  return { archiveId: i.archiveId, size: i.size, treeHash: i.treeHash, description: i.description, creationDate: i.creationDate };
}

/** Largest power-of-two MiB piece that is not much more than the archive (so small archives need small buffers). */
function pieceSizeFor(size: number): number {
  let p = MiB;
  while (p < 16 * MiB && p < size) p *= 2;
  return p;
}

/**
 * Restores every archive of `input` (in this shard, not yet done) to the sink. Resolves with the stats when
 * every archive was handed over or failed; throws InterruptedError when the signal fires (the journal is then
 * consistent, and a rerun continues). Failures of single archives are records, not throws.
 */
export async function restore(o: RestoreOptions): Promise<Stats> {
  const now = o.now ?? Date.now;
  const st: Stats = { archives: 0, inputDone: false, done: 0, doneBefore: 0, failed: 0, integrity: 0, bytes: 0, bytesDone: 0, waiting: 0, ready: 0, downloading: 0, jobsStarted: 0, startedAt: now() };
  const tasks = new Map<string, Task>(); // by archive id
  const retry: Item[] = []; // jobs to start again (expired, failed, or InitiateJob refused for now)
  const seen = new Set<string>(); // keys (22 characters) of the archive ids seen, to take each once
  const fromJournal = new Set<string>(); // archives whose job an earlier run started: taken up first, counted once
  const pool = new HashPool(1);
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  let held: Item | undefined; // read from the input, waiting for the pace to allow its job
  let startBlockedUntil = 0;
  const downloads = new Set<Promise<void>>();

  for (const r of o.journal.outstanding()) {
    if (o.shard && !inShard(r.archive.archiveId, o.shard)) continue;
    const item: Item = { ...r.archive, name: r.name, mtime: r.mtime };
    tasks.set(item.archiveId, { item, jobId: r.jobId, state: 'waiting', nextPoll: 0 });
    fromJournal.add(item.archiveId);
    st.archives++;
    st.bytes += item.size;
  }

  const iterator = o.input[Symbol.asyncIterator]();
  const nextFromInput = async (): Promise<Item | undefined> => {
    while (!st.inputDone) {
      const n = await iterator.next();
      if (n.done) {
        st.inputDone = true;
        return undefined;
      }
      const a = n.value;
      // Names are given before the shard is applied, so every shard names an archive as a whole run would.
      if (seen.has(keyOf(a.ArchiveId))) continue; // listed twice: once is enough
      const { name, mtime } = o.namer.name(a.ArchiveId, a.ArchiveDescription);
      if (o.shard && !inShard(a.ArchiveId, o.shard)) continue;
      seen.add(keyOf(a.ArchiveId));
      if (fromJournal.has(a.ArchiveId)) continue;
      st.archives++;
      st.bytes += a.Size;
      const item = record(a, name, mtime);
      if (o.journal.isDone(a.ArchiveId)) {
        st.doneBefore++;
        st.bytesDone += a.Size;
        await o.emit({ archiveId: a.ArchiveId, name, size: a.Size, status: 'done', before: true, to: o.sink.where(item) });
        continue;
      }
      return item;
    }
    return undefined;
  };

  const outstanding = () => tasks.size;
  const budgetAllows = (size: number): { ok: boolean; until: number } => {
    if (!o.maxBytesPerDay) return { ok: true, until: 0 };
    const w = o.journal.startedInWindow();
    // An archive bigger than a whole day's budget starts alone, when nothing else was started in the window.
    if (w.bytes + size <= o.maxBytesPerDay || w.bytes === 0) return { ok: true, until: 0 };
    return { ok: false, until: w.frees };
  };

  const finishItem = (item: Item, status: string, extra: object = {}) => {
    o.emit({ archiveId: item.archiveId, name: item.name, size: item.size, status, to: o.sink.where(item), ...extra });
  };

  const startJob = async (item: Item): Promise<boolean> => {
    let jobId: string;
    try {
      jobId = await initiateJob(o.glacier, o.vault, { Type: 'archive-retrieval', ArchiveId: item.archiveId, Tier: o.tier });
    } catch (e) {
      if (o.signal.aborted) throw e;
      const name = errorCode(e);
      if (name === 'ResourceNotFoundException' || name === 'InvalidParameterValueException') {
        st.failed++;
        finishItem(item, 'failed', { error: `${name}: ${(e as Error).message}` });
        return true;
      }
      o.warn(`cannot start a job for ${item.archiveId} now (${(e as Error).message}); trying again in ${Math.round(o.intervalMs / 1000)} s`);
      startBlockedUntil = now() + Math.min(o.intervalMs, 60_000);
      return false;
    }
    await o.journal.recordJob({ archive: archiveRecord(item), name: item.name, mtime: item.mtime, jobId, at: now() });
    st.jobsStarted++;
    const t: Task = { item, jobId, state: 'waiting', nextPoll: 0 };
    tasks.set(item.archiveId, t);
    return true;
  };

  const again = async (t: Task, why: string) => {
    o.warn(`${why}; starting a new job for ${t.item.archiveId}`);
    await o.journal.recordDrop(t.item.archiveId, t.jobId);
    tasks.delete(t.item.archiveId);
    retry.push(t.item);
  };

  const poll = async (t: Task) => {
    let job: GlacierJobDescription;
    try {
      job = await describeJob(o.glacier, o.vault, t.jobId);
    } catch (e) {
      if (o.signal.aborted) throw e;
      if (errorCode(e) === 'ResourceNotFoundException') return again(t, `job ${t.jobId} is gone (expired)`);
      o.warn(`cannot ask about job ${t.jobId} (${(e as Error).message}); asking again later`);
      t.nextPoll = now() + o.intervalMs;
      return;
    }
    if (job.StatusCode === 'Succeeded') t.state = 'ready';
    else if (job.StatusCode === 'Failed') await again(t, `job ${t.jobId} failed (${job.StatusMessage ?? 'no reason given'})`);
    else t.nextPoll = now() + o.intervalMs;
  };

  const fetch = async (t: Task) => {
    const item = t.item;
    t.state = 'downloading';
    // A run killed after the sink finished but before the record: the destination already holds it.
    if (await o.sink.holds(item).catch(() => false)) {
      await o.journal.recordDone(item.archiveId);
      tasks.delete(item.archiveId);
      st.done++;
      st.bytesDone += item.size;
      finishItem(item, 'done', { jobId: t.jobId, treeHash: item.treeHash, found: true });
      return;
    }
    let writer;
    try {
      writer = await o.sink.open(item, t.jobId, pool);
    } catch (e) {
      if (o.signal.aborted) throw e;
      tasks.delete(item.archiveId);
      st.failed++;
      finishItem(item, 'failed', { jobId: t.jobId, error: (e as Error).message });
      return;
    }
    try {
      const pieceSize = pieceSizeFor(item.size);
      const pieces = item.size ? planPieces({ rangeStart: 0, rangeEnd: item.size - 1, archiveSize: item.size }, writer.resumed, item.size - 1, pieceSize) : [];
      const got = await download({
        target: { glacier: o.glacier, vault: o.vault }, pool, jobId: t.jobId, pieces, pieceSize,
        concurrency: o.pieceConcurrency ?? 2, sink: writer, combiner: writer.combiner, signal: o.signal, warn: o.warn,
        onBytes: (n) => (st.bytesDone += n),
      });
      if (item.size && got.treeHash !== item.treeHash) throw new IntegrityError(`archive ${item.archiveId}: its bytes hash to ${got.treeHash}, the inventory says ${item.treeHash}`);
      await writer.finish();
    } catch (e) {
      // Interrupted (SIGINT/SIGTERM), a folder keeps its verified prefix, as after kill -9; else nothing is kept.
      if (o.signal.aborted && writer.suspend) await writer.suspend().catch(() => {});
      else await writer.abort().catch(() => {});
      if (o.signal.aborted) throw o.signal.reason instanceof InterruptedError ? o.signal.reason : e;
      if (errorCode(e) === 'ResourceNotFoundException') return again(t, `the output of job ${t.jobId} is gone (expired)`);
      tasks.delete(item.archiveId);
      if (e instanceof IntegrityError) {
        st.integrity++;
        finishItem(item, 'integrity', { jobId: t.jobId, error: e.message });
      } else {
        st.failed++;
        finishItem(item, 'failed', { jobId: t.jobId, error: (e as Error).message });
      }
      return;
    }
    await o.journal.recordDone(item.archiveId);
    tasks.delete(item.archiveId);
    st.done++;
    finishItem(item, 'done', { jobId: t.jobId, treeHash: item.treeHash });
  };

  let failure: unknown = null;
  try {
    for (;;) {
      if (o.signal.aborted) throw o.signal.reason;
      if (failure) throw failure;
      // 1. start jobs while the pace allows
      while (outstanding() < o.maxJobs && now() >= startBlockedUntil) {
        const item = held ?? retry.shift() ?? (await nextFromInput());
        held = undefined;
        if (!item) break;
        const b = budgetAllows(item.size);
        if (!b.ok) {
          held = item;
          startBlockedUntil = Math.max(startBlockedUntil, b.until);
          break;
        }
        if (!(await startJob(item))) {
          held = item;
          break;
        }
      }
      // 2. poll the jobs due (the first poll at once)
      const due = [...tasks.values()].filter((t) => t.state === 'waiting' && t.nextPoll <= now());
      for (let i = 0; i < due.length; i += 8) await Promise.all(due.slice(i, i + 8).map(poll));
      // 3. downloads
      for (const t of tasks.values()) {
        if (downloads.size >= o.concurrency) break;
        if (t.state !== 'ready') continue;
        const p: Promise<void> = fetch(t)
          .catch((e) => {
            failure ??= e;
          })
          .finally(() => {
            downloads.delete(p);
            notify();
          });
        downloads.add(p);
      }
      const counts = { waiting: 0, ready: 0 };
      for (const t of tasks.values()) if (t.state !== 'downloading') counts[t.state]++;
      Object.assign(st, counts, { downloading: downloads.size });
      o.progress?.(st);
      if (st.inputDone && !held && !retry.length && !tasks.size && !downloads.size) break;
      // 4. sleep until something can move
      const waits = [...tasks.values()].filter((t) => t.state === 'waiting').map((t) => t.nextPoll);
      if ((held || retry.length || !st.inputDone) && outstanding() < o.maxJobs) waits.push(startBlockedUntil);
      if ([...tasks.values()].some((t) => t.state === 'ready') && downloads.size < o.concurrency) waits.push(now());
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
