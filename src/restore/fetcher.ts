// The fetcher: the output of one ready job downloaded into the sink, verified piece by piece against Glacier's
// tree hashes and whole against the archive's, handed over only once whole.
import { pacedPieceSize } from '../core/rate.js';
import { BufferPool } from '../core/buffer-pool.js';
import { IntegrityError, InterruptedError } from '../core/errors.js';
import type { HashPool } from '../core/hash-pool.js';
import { MiB } from '../core/tree-hash.js';
import { download, errorCode, HELD_PIECE, IN_PLACE_PIECE, planPieces, type Glacier } from './seam.js';
import type { ArchiveSink, Item } from './sinks.js';

/**
 * How a fetch ended. `done`: the sink holds the archive whole and verified (`found`: it already did, a run was
 * killed after the sink finished); `expired`: the job's output is gone, and the sink keeps the `kept` bytes it
 * verified (a folder: NAME.partial) for the next job of the archive to continue from (`got`: bytes this job gave);
 * `failed` / `integrity`: the archive is not restored this run (nothing unverified was kept).
 */
export type Fetched = { status: 'done'; found?: boolean } | { status: 'expired'; kept: number; got: number; warning?: string } | { status: 'failed' | 'integrity'; error: string };

/** Downloads ready jobs into the sink. */
export interface Fetcher {
  /**
   * Downloads the output of job `jobId` (a whole-archive retrieval of `item`) into the sink. Resolves with how it
   * ended; rejects when the run's signal fired (InterruptedError; a folder keeps its verified prefix then), or
   * with the error of `beforeFinish` (the state could not be written). `o.checked`: this run asked the sink
   * whether it holds the archive before starting its job (not asked again).
   */
  fetch(item: Item, jobId: string, o?: { checked?: boolean }): Promise<Fetched>;
}

export interface FetcherOptions {
  glacier: Glacier;
  vault: string;
  sink: ArchiveSink;
  pool: HashPool;
  /** Ranged GETs in flight per archive (default 2). */
  pieceConcurrency?: number;
  signal: AbortSignal;
  warn(message: string): void;
  /** Verified bytes handed to the sink. */
  onBytes?(n: number): void;
  /** Archives downloading at once (default 1): with pieceConcurrency, how many piece buffers of each size are kept. */
  concurrency?: number;
  /**
   * Awaited before a verified archive is handed over (the sink's finish): the state records it depends on (its
   * name, its job) are on disk by then (Journal.durable). A rejection ends the fetch with that error.
   */
  beforeFinish?(): Promise<void>;
}

/**
 * Largest power-of-two MiB piece, up to `max` bytes (download.ts: HELD_PIECE, or IN_PLACE_PIECE for a sink that
 * writes in place), that is not much more than the archive (so small archives need small buffers).
 */
export function pieceSizeFor(size: number, max = HELD_PIECE): number {
  let p = MiB;
  while (p < max && p < size) p *= 2;
  return p;
}

/** The fetcher of a run (see Fetcher). */
export function makeFetcher(o: FetcherOptions): Fetcher {
  // Piece buffers (shared memory, for the hash workers) kept for the whole run, one set per piece size: a run of
  // millions of archives reuses them instead of leaving two per archive to the garbage collector, which does not
  // see shared memory's weight and let it pile up (484 MB at 10,000 archives of 1 KiB).
  const buffers = new Map<number, BufferPool>();
  const buffersFor = (size: number): BufferPool => {
    let b = buffers.get(size);
    if (!b) buffers.set(size, (b = new BufferPool(size, Math.max(1, o.concurrency ?? 1) * (o.pieceConcurrency ?? 2))));
    return b;
  };
  return {
    async fetch(item, jobId, how = {}) {
      // A run killed after the sink finished but before the record: the destination already holds it. (Asked
      // before the job started, when this run started it: a file another process makes meanwhile is met at the
      // end, where the sink never replaces it.)
      if (!how.checked && (await o.sink.holds(item).catch(() => false))) return { status: 'done', found: true };
      let writer;
      try {
        writer = await o.sink.open(item, jobId, o.pool);
      } catch (e) {
        if (o.signal.aborted) throw e;
        return { status: 'failed', error: (e as Error).message };
      }
      let bytes = 0; // verified bytes handed to the sink by this job
      let unwritten: unknown; // beforeFinish's error: the run's state cannot be written
      // A sink that keeps nothing (a command) is stopped at once when the run is: a write waiting for a reader
      // that never reads would otherwise hold the download, and the run, for ever.
      const stop = () => void writer.abort().catch(() => {});
      if (!writer.suspend) o.signal.addEventListener('abort', stop, { once: true });
      try {
        const pieceSize = pacedPieceSize(pieceSizeFor(item.size, writer.positional ? IN_PLACE_PIECE : HELD_PIECE));
        const pieces = item.size ? planPieces({ rangeStart: 0, rangeEnd: item.size - 1, archiveSize: item.size }, writer.resumed, item.size - 1, pieceSize) : [];
        const got = await download({
          target: { glacier: o.glacier, vault: o.vault }, jobId, outputSize: item.size, pieces, pieceSize,
          concurrency: o.pieceConcurrency ?? 2, buffers: buffersFor(pieceSize), sink: writer, combiner: writer.combiner, signal: o.signal, warn: o.warn,
          onBytes: (n) => {
            bytes += n;
            o.onBytes?.(n);
          },
        });
        if (item.size && got.treeHash !== item.treeHash) throw new IntegrityError(`archive ${item.archiveId}: its bytes hash to ${got.treeHash}, the inventory says ${item.treeHash}`);
        if (o.beforeFinish) await o.beforeFinish().catch((e) => Promise.reject((unwritten = e)));
        await writer.finish();
      } catch (e) {
        // Interrupted (SIGINT/SIGTERM) or the job expired, a sink that can keeps its verified prefix (as after
        // kill -9) for the next job of the same archive to continue; one that can only within this run (a
        // command's stdin) keeps it when the job expired; else nothing is kept.
        const expired = !o.signal.aborted && errorCode(e) === 'ResourceNotFoundException';
        const keep = expired ? (writer.pause ?? writer.suspend) : o.signal.aborted ? writer.suspend : undefined;
        if (keep) await keep.call(writer).catch(() => {});
        else await writer.abort().catch(() => {});
        if (o.signal.aborted) throw o.signal.reason instanceof InterruptedError ? o.signal.reason : e;
        if (unwritten !== undefined) throw unwritten;
        const after = expired ? writer.afterExpiry?.() : undefined;
        if (after?.error) return { status: 'failed', error: after.error };
        if (expired) return { status: 'expired', kept: keep ? (writer.kept?.() ?? writer.resumed + bytes) : 0, got: bytes, warning: after?.warning };
        if (e instanceof IntegrityError) return { status: 'integrity', error: e.message };
        return { status: 'failed', error: (e as Error).message };
      } finally {
        o.signal.removeEventListener('abort', stop);
      }
      return { status: 'done' };
    },
  };
}
