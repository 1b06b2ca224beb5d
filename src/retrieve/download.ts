// Fetches pieces of a job's output with parallel ranged GETs, verifies each against the tree hash Glacier
// sends for it, and hands them to the sink strictly in order. A piece that fails verification or drops is
// fetched again with backoff; nothing unverified reaches the sink. Memory: `concurrency` pieces.
import { BufferPool } from '../core/buffer-pool.js';
import { IntegrityError, InterruptedError } from '../core/errors.js';
import { BodyOverflow, readBodyInto } from '../core/http-data.js';
import type { HashPool } from '../core/hash-pool.js';
import { GlacierError } from '../core/glacier.js';
import { withRetry } from '../core/retry.js';
import { getOutput, type JobTarget } from './jobs.js';
import { TreeCombiner } from '../core/tree-hash.js';
import type { Piece } from './pieces.js';

export interface Sink {
  /** Takes bytes [start, start + data.length) of the output, in order. */
  write(data: Buffer, start: number): Promise<void>;
}

export interface DownloadOptions {
  target: JobTarget;
  pool: HashPool;
  jobId: string;
  pieces: Piece[];
  pieceSize: number;
  concurrency: number;
  sink: Sink;
  /** Leaves of output already held (a resumed file); folded in first. */
  combiner?: TreeCombiner;
  signal?: AbortSignal;
  retry?: { attempts?: number; baseMs?: number; capMs?: number };
  onBytes?: (n: number) => void;
  warn?: (m: string) => void;
  /** Take pieces Glacier sends no tree hash for (warned once) instead of refusing them (IntegrityError). */
  unverified?: boolean;
  /**
   * Piece buffers to take from (each at least `pieceSize` bytes) instead of `concurrency` new ones: a caller that
   * downloads many outputs reuses the same shared memory rather than leaving it per output to the garbage collector.
   */
  buffers?: BufferPool;
}

/** The request layer's last word on a request: carried past the piece loop's retries unchanged. */
class Final {
  constructor(readonly error: unknown) {}
}

class PieceMismatch extends Error {
  readonly retryable = true;
}

/**
 * Fetches `pieces` of a job's output and hands them to `o.sink` in order, each verified against the tree hash
 * Glacier sends for it. Returns the output's running tree hash (hex, over what was written, after any resumed
 * prefix in `o.combiner`), the bytes written and how many of them no hash covered (only with `unverified`).
 * Throws IntegrityError (exit 3) when a piece never matches or has no hash, InterruptedError on a signal.
 */
export async function download(o: DownloadOptions): Promise<{ treeHash: string; bytes: number; unverifiedBytes: number }> {
  const buffers = o.buffers ?? new BufferPool(o.pieceSize, Math.max(1, o.concurrency));
  const combiner = o.combiner ?? new TreeCombiner();
  const ready = new Map<number, { data: Buffer; buf: Buffer; leaves: Buffer[] }>();
  let nextIndex = 0;
  let nextToWrite = 0;
  let failure: unknown = null;
  let bytes = 0;
  let unverifiedBytes = 0;
  let warnedUnverified = false;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };

  const fetchPiece = async (p: Piece, buf: Buffer) => {
    const length = p.end - p.start + 1;
    return withRetry(
      async () => {
        // The request itself is retried by the request layer; a GlacierError here is its final answer, so this
        // loop retries only what the layer cannot see: a body cut short, a piece that does not match its hash.
        const r = await getOutput(o.target, o.jobId, p.start, p.end).catch((e) => {
          throw e instanceof GlacierError ? new Final(e) : e;
        });
        // Our connections read the body straight into the piece buffer.
        const got = await readBodyInto(r.body, buf.subarray(0, length)).catch((e) => {
          throw e instanceof BodyOverflow ? new PieceMismatch(`piece ${p.start}-${p.end}: more bytes than asked for`) : e;
        });
        if (got !== length) throw Object.assign(new Error(`piece ${p.start}-${p.end}: connection ended after ${got} of ${length} bytes`), { code: 'ECONNRESET' });
        const data = buf.subarray(0, length);
        if (!r.checksum) {
          if (!o.unverified) throw new IntegrityError(`Glacier sent no tree hash for output bytes ${p.start}-${p.end} (it sends one only for tree-hash-aligned ranges), so they cannot be verified; nothing unverified was written (--unverified takes such bytes anyway)`);
          if (!warnedUnverified) o.warn?.(`Glacier sends no tree hash for output bytes ${p.start}-${p.end} (and maybe others): taking them UNVERIFIED, as --unverified asks`);
          warnedUnverified = true;
          unverifiedBytes += length;
          return { data, leaves: (await o.pool.hashWithLeaves(data)).leaves };
        }
        const h = await o.pool.hashWithLeaves(data);
        // Hex digests compare case-insensitively: a service may send uppercase.
        if (h.treeHash !== r.checksum.toLowerCase()) throw new PieceMismatch(`bytes ${p.start}-${p.end} do not match their tree hash (got ${h.treeHash}, Glacier says ${r.checksum})`);
        return { data, leaves: h.leaves };
      },
      {
        // The same attempts as every request (AWS_MAX_ATTEMPTS, max_attempts): 1 turns these retries off too.
        attempts: o.retry?.attempts ?? o.target.glacier.policy.maxAttempts,
        baseMs: o.retry?.baseMs ?? o.target.glacier.policy.baseMs,
        capMs: o.retry?.capMs ?? o.target.glacier.policy.capMs,
        signal: o.signal,
        onRetry: (e, n, ms) => o.warn?.(`fetching bytes ${p.start}-${p.end} again (${(e as Error).message}; attempt ${n + 1} in ${ms} ms)`),
      },
    ).catch((e) => {
      if (o.signal?.aborted) throw o.signal.reason instanceof InterruptedError ? o.signal.reason : new InterruptedError('SIGINT');
      if (e instanceof Final) throw e.error;
      if (e instanceof PieceMismatch) throw new IntegrityError(`${e.message}, on every attempt; nothing unverified was written`);
      throw e;
    });
  };

  const worker = async () => {
    while (!failure) {
      const buf = await buffers.acquire();
      // Take an index only while holding a buffer: the lowest unwritten piece always has one, so no deadlock.
      const i = nextIndex++;
      if (i >= o.pieces.length || failure) {
        buffers.release(buf);
        return;
      }
      try {
        const { data, leaves } = await fetchPiece(o.pieces[i], buf);
        ready.set(i, { data, buf, leaves });
      } catch (e) {
        failure ??= e;
        buffers.release(buf);
      }
      notify();
    }
  };

  const writer = async () => {
    while (nextToWrite < o.pieces.length) {
      if (failure) return;
      const r = ready.get(nextToWrite);
      if (!r) {
        await new Promise<void>((res) => (wake = res));
        continue;
      }
      ready.delete(nextToWrite);
      try {
        await o.sink.write(r.data, o.pieces[nextToWrite].start);
      } catch (e) {
        failure ??= e;
        return;
      } finally {
        buffers.release(r.buf);
      }
      for (const l of r.leaves) combiner.push(l);
      bytes += r.data.length;
      o.onBytes?.(r.data.length);
      nextToWrite++;
    }
  };

  const workers = Array.from({ length: Math.max(1, o.concurrency) }, worker);
  const w = writer();
  await Promise.all(workers);
  notify();
  await w;
  if (failure) throw failure;
  return { treeHash: combiner.digest().toString('hex'), bytes, unverifiedBytes };
}
