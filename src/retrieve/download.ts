// Fetches pieces of a job's output with parallel ranged GETs, verifies each against the tree hash Glacier
// sends for it, and hands them to the sink strictly in order. A piece that fails verification or drops is
// fetched again with backoff; nothing unverified reaches the sink. Memory: `concurrency` pieces.
import { BufferPool } from '../core/buffer-pool.js';
import { IntegrityError, InterruptedError, ServiceError } from '../core/errors.js';
import { BodyOverflow, bodyReader, declaredLength, markPrepaid, readBodyInto } from '../core/http-data.js';
import { prepayPiece } from '../core/rate.js';
import { GlacierError } from '../core/glacier.js';
import { withRetry } from '../core/retry.js';
import { getOutput, type AnsweredRange, type JobTarget } from './jobs.js';
import { MiB, TreeCombiner, TreeHasher } from '../core/tree-hash.js';
import { alignedBuffers, releaseAligned } from '../core/aligned.js';
import type { Piece } from './pieces.js';

export interface Sink {
  /** Takes bytes [start, start + data.length) of the output, in order. */
  write(data: Buffer, start: number): Promise<void>;
  /** A sink that takes bytes where they go, in any order, before they are verified (a file): see PositionalSink. */
  positional?: PositionalSink;
}

/**
 * A destination written in place (FILE.partial): each piece is written slice by slice as it arrives, from small
 * buffers still in the CPU's caches, and counts only once its tree hash matched. Bytes written but not yet
 * `verified` are never claimed by the destination's record, and a piece that fails is written again.
 */
export interface PositionalSink {
  /** Writes output bytes [start, start + data.length) in place; any order; not yet verified. */
  writeAt(data: Uint8Array, start: number): Promise<void>;
  /**
   * writeAt done before it returns, on this thread (a file: into the page cache), while the slice is still in
   * this core's caches; preferred when present. Throws what writeAt would reject with.
   */
  writeAtSync?(data: Uint8Array, start: number): void;
  /**
   * Output bytes [start, end] (inclusive) are written and match `treeHash` (hex, the tree hash of those bytes,
   * leaves from `start`), and every byte before them already was: called in output order, once per piece.
   */
  verified(start: number, end: number, treeHash: string): Promise<void>;
  /** Set when slices from alignedBuffers are written past the page cache: the download lands its slices there. */
  directAlign?: number;
}

/**
 * Bytes per slice when a piece is written in place: a buffer small enough to stay in a core's own (L2) cache while
 * it is read from the socket, hashed and copied into the page cache. Measured on a 2-core EPYC (512 KiB of L2 per
 * core), a bare loop receiving 1 GiB, hashing it and writing it: 1.8 CPU s in 256 KiB slices, 2.4 in 512 KiB,
 * 3.3 in 1 MiB (the kernel's copy then reads the slice from memory). A divisor of the 1 MiB tree-hash leaf.
 */
export const SLICE = 256 * 1024;
/**
 * Default bytes per ranged GET when each piece is held in memory until its tree hash is checked (a pipe, a command,
 * S3): `concurrency` of them are in memory at once.
 */
export const HELD_PIECE = 16 * MiB;
/**
 * Default bytes per ranged GET into a PositionalSink (a file), which holds only slices: a GET costs ~1.3-1.9 ms of
 * CPU in the SDK and our request layer whatever its size (measured: 1 MiB GETs from glacier-local), so larger
 * pieces cost less per GiB (-o FILE of 512 MiB: 1.17 CPU s in 16 MiB pieces, 1.14 in 64 MiB). A kill -9 then
 * refetches at most `concurrency` pieces not yet verified.
 */
export const IN_PLACE_PIECE = 64 * MiB;
/** Slices per piece in flight when the sink writes asynchronously: one filled by the socket while the others are written. */
const SLICES_PER_FETCH = 3;
/**
 * Bytes per slice, and slices per piece in flight, when the sink writes them past the page cache (directAlign):
 * the kernel then copies nothing, and each write is one request to the device, whose cost (in a VM, an exit to
 * the host and an interrupt back) is the same whatever its size. Measured, -o FILE of 2 GiB from glacier-local on
 * ext4 in a VM, CPU s: 4.0 through the page cache; past it 4.6 in 256 KiB writes, 3.4-3.7 in 1 MiB, 2.9-3.3 in
 * 4 MiB (2 or 3 slices alike).
 */
const DIRECT_SLICE = 4 * MiB;
const DIRECT_SLICES = 2;
/**
 * The most memory this process's downloads land in to write past the page cache, together: 8 GETs in flight
 * (glacier-job -c 8, or glacier-restore -c 4 archives of 2 GETs). A piece that starts when it is all in use is
 * written through the page cache as before (SLICE per GET): -c 64 all past it would hold 512 MiB, and its writes,
 * 128 at a time, measured slower (a 300 MiB archive: 7.3 s against 4.0 s through the page cache, peak RSS 333 MiB
 * against 90).
 */
const DIRECT_MEMORY = 64 * MiB;

export interface DownloadOptions {
  target: JobTarget;
  jobId: string;
  /** Bytes in the job's output (its retrieved range): an answer is the piece asked for only if it says this total. */
  outputSize: number;
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

/**
 * The tree hash and 1 MiB leaves of a piece buffer, hashed as it fills (readBodyInto's onFill) in stretches of at
 * least SLICE bytes, each right after it landed and while it is still in the core's caches: the piece is not read
 * again from memory, and no hash worker is started. `data` starts on a leaf boundary of the output. `tree`: a
 * hasher already holding what came before `data` (a slice of a piece written in place), to go on with.
 */
class LandedHasher {
  private hashed = 0;
  constructor(
    private readonly data: Uint8Array,
    private readonly tree = new TreeHasher({ leaves: true }),
  ) {}

  /** Bytes [0, filled) of the buffer have landed. */
  landed(filled: number): void {
    if (filled - this.hashed < SLICE) return;
    this.tree.update(this.data.subarray(this.hashed, filled));
    this.hashed = filled;
  }

  /** All of the buffer has landed: what is not hashed yet is. */
  rest(): void {
    this.tree.update(this.data.subarray(this.hashed));
    this.hashed = this.data.length;
  }

  /** The tree hash (hex) and leaves of the whole buffer (all of it landed). */
  digest(): { treeHash: string; leaves: Buffer[] } {
    this.rest();
    return { treeHash: this.tree.digest().treeHash, leaves: this.tree.leaves! };
  }
}

/** The request layer's last word on a request: carried past the piece loop's retries unchanged. */
class Final {
  constructor(readonly error: unknown) {}
}

class PieceMismatch extends Error {
  readonly retryable = true;
}

/** An answer that is not the piece asked for (its status, length or Content-Range says so): fetched again, then exit 1. */
class WrongAnswer extends Error {
  readonly retryable = true;
}

/**
 * Fetches `pieces` of a job's output and hands them to `o.sink` in order, each verified against the tree hash
 * Glacier sends for it. Returns the output's running tree hash (hex, over what was written, after any resumed
 * prefix in `o.combiner`), the bytes written and how many of them no hash covered (only with `unverified`).
 * Throws IntegrityError (exit 3) when a piece never matches or has no hash, InterruptedError on a signal.
 */
export async function download(o: DownloadOptions): Promise<{ treeHash: string; bytes: number; unverifiedBytes: number }> {
  const combiner = o.combiner ?? new TreeCombiner();
  if (o.sink.positional) return downloadInPlace(o, o.sink.positional, combiner);
  const buffers = o.buffers ?? new BufferPool(o.pieceSize, Math.max(1, o.concurrency));
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
        const paid = await prepayPiece(length, o.signal ?? o.target.glacier.signal);
        const r = await getOutput(o.target, o.jobId, p.start, p.end).catch((e) => {
          throw e instanceof GlacierError ? new Final(e) : e;
        });
        if (paid) markPrepaid(r.body, paid);
        refuseAnswer(r, p, o.outputSize, o.unverified);
        // Our connections read the body straight into the piece buffer, and each stretch that lands is hashed at
        // once, while it is still in the caches.
        const data = buf.subarray(0, length);
        const hasher = new LandedHasher(data);
        const got = await readBodyInto(r.body, data, (filled) => hasher.landed(filled)).catch((e) => {
          throw e instanceof BodyOverflow ? new PieceMismatch(`piece ${p.start}-${p.end}: more bytes than asked for`) : e;
        });
        if (got !== length) throw Object.assign(new Error(`piece ${p.start}-${p.end}: connection ended after ${got} of ${length} bytes`), { code: 'ECONNRESET' });
        const { treeHash, leaves } = hasher.digest();
        if (!r.checksum) {
          if (!warnedUnverified) o.warn?.(`Glacier sends no tree hash for output bytes ${p.start}-${p.end} (and maybe others): taking them UNVERIFIED, as --unverified asks`);
          warnedUnverified = true;
          unverifiedBytes += length;
          return { data, leaves };
        }
        // Hex digests compare case-insensitively: a service may send uppercase.
        if (treeHash !== r.checksum.toLowerCase()) throw new PieceMismatch(`bytes ${p.start}-${p.end} do not match their tree hash (got ${treeHash}, Glacier says ${r.checksum})`);
        return { data, leaves };
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
      throw finalError(o, e);
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

/**
 * Refuses an answer to the GET of piece `p` before any of its body is read, closing its connection:
 * - one whose body says it holds other than the piece's bytes is not the piece (a cut or empty answer, or bytes a
 *   server sent after an earlier body taken for this answer), and the piece is fetched again: PieceMismatch when it
 *   says more (IntegrityError, exit 3, once every attempt did), else WrongAnswer (below);
 * - one that does not say it is the piece is not the piece either (its own tree hash would match it, so it would
 *   be taken for bytes it is not), and is fetched again in the same way (WrongAnswer, exit 1 once every attempt got
 *   one): a 206 is the piece only with a Content-Range naming its bytes and the output's total (RFC 9110 §15.3.7,
 *   §14.4), a 200 only when the piece is the whole output (a 200 is the whole output: a server that ignores Range
 *   sends it), and any other status never (protocol §7.4: 200 or 206);
 * - one with no tree hash cannot be verified: IntegrityError at once, unless `unverified` takes such bytes.
 * `r.status` undefined (an answer not from our connections): judged by its Content-Range and length alone.
 */
function refuseAnswer(r: { body: unknown; checksum?: string; status?: number; range?: AnsweredRange }, p: Piece, outputSize: number, unverified?: boolean): void {
  const declared = declaredLength(r.body);
  const length = p.end - p.start + 1;
  const close = () => (r.body as { destroy?: () => void }).destroy?.();
  const refuse = (holds: string) => {
    close();
    return new WrongAnswer(`piece ${p.start}-${p.end}: the response holds ${holds}, not bytes ${p.start}-${p.end} of ${outputSize}`);
  };
  const whole = p.start === 0 && p.end === outputSize - 1;
  if (r.range && (r.range.first !== p.start || r.range.last !== p.end || (r.range.total !== null && r.range.total !== outputSize))) throw refuse(`${JSON.stringify(r.range.text)} (Content-Range)`);
  if (r.status === 206 && !r.range) throw refuse('a 206 without Content-Range');
  if (r.status === 200 && !whole) throw refuse(`the whole output (a 200${r.range ? '' : ' without Content-Range'})`);
  if (r.status !== undefined && r.status !== 200 && r.status !== 206) throw refuse(`a ${r.status}`);
  if (declared !== undefined && declared !== length) {
    close();
    // More than asked for is a size that does not match (exit 3 on every attempt, as a body found longer while read);
    // fewer, an answer cut short (exit 1).
    if (declared > length) throw new PieceMismatch(`piece ${p.start}-${p.end}: more bytes than asked for (the response holds ${declared}, not ${length})`);
    throw refuse(`${declared} bytes`);
  }
  if (!r.checksum && !unverified) {
    close();
    throw new IntegrityError(`Glacier sent no tree hash for output bytes ${p.start}-${p.end} (it sends one only for tree-hash-aligned ranges), so they cannot be verified; nothing unverified was written (--unverified takes such bytes anyway)`);
  }
}

/** The piece loop's retry settings: the same attempts as every request (AWS_MAX_ATTEMPTS; 1 turns them off). */
function retryOptions(o: DownloadOptions, p: Piece) {
  return {
    attempts: o.retry?.attempts ?? o.target.glacier.policy.maxAttempts,
    baseMs: o.retry?.baseMs ?? o.target.glacier.policy.baseMs,
    capMs: o.retry?.capMs ?? o.target.glacier.policy.capMs,
    signal: o.signal,
    onRetry: (e: unknown, n: number, ms: number) => o.warn?.(`fetching bytes ${p.start}-${p.end} again (${(e as Error).message}; attempt ${n + 1} in ${ms} ms)`),
  };
}

/** What the piece loop's retries end with, as download() throws it. */
function finalError(o: DownloadOptions, e: unknown): unknown {
  if (o.signal?.aborted) return o.signal.reason instanceof InterruptedError ? o.signal.reason : new InterruptedError('SIGINT');
  if (e instanceof Final) return e.error;
  // Into a file, a piece's bytes are written before they are checked: they stay in FILE.partial, never counted as verified.
  const kept = o.sink.positional ? 'nothing unverified counts as verified (the file stays .partial)' : 'nothing unverified was written';
  if (e instanceof PieceMismatch) return new IntegrityError(`${e.message}, on every attempt; ${kept}`);
  if (e instanceof WrongAnswer) return new ServiceError(`${e.message}, on every attempt; ${kept}`);
  return e;
}

/**
 * download() into a PositionalSink: `concurrency` pieces in flight, each read from its connection slice by slice
 * into a few buffers of its own, every slice hashed as it lands (on this thread, while it is in the caches) and
 * written in place; the piece counts once its leaves combine to the tree hash Glacier sent. Pieces are confirmed to
 * the sink in output order. A sink that writes past the page cache (directAlign) gets DIRECT_SLICES slices of
 * DIRECT_SLICE bytes of aligned memory per piece in flight while the process has them free, written
 * asynchronously; otherwise SLICE bytes, one written on this thread (writeAtSync) or SLICES_PER_FETCH written
 * asynchronously. Memory: concurrency x those.
 */
async function downloadInPlace(o: DownloadOptions, sink: PositionalSink, combiner: TreeCombiner): Promise<{ treeHash: string; bytes: number; unverifiedBytes: number }> {
  const done = new Map<number, { leaves: Buffer[]; treeHash: string; unverified: boolean }>();
  let nextIndex = 0;
  let nextToConfirm = 0;
  let failure: unknown = null;
  let bytes = 0;
  let unverifiedBytes = 0;
  let warnedUnverified = false;
  let confirming: Promise<void> = Promise.resolve();

  const confirm = async () => {
    for (let r = done.get(nextToConfirm); r && !failure; r = done.get(nextToConfirm)) {
      const p = o.pieces[nextToConfirm];
      done.delete(nextToConfirm);
      await sink.verified(p.start, p.end, r.treeHash);
      for (const l of r.leaves) combiner.push(l);
      const length = p.end - p.start + 1;
      bytes += length;
      if (r.unverified) unverifiedBytes += length;
      o.onBytes?.(length);
      nextToConfirm++;
    }
  };

  const fetchPiece = async (p: Piece, slices: Buffer[]) => {
    const length = p.end - p.start + 1;
    return withRetry(async () => {
      // --limit-rate: the piece is paid for before it is asked for, so the server never sends ahead of the rate.
      const paid = await prepayPiece(length, o.signal ?? o.target.glacier.signal);
      const r = await getOutput(o.target, o.jobId, p.start, p.end).catch((e) => {
        throw e instanceof GlacierError ? new Final(e) : e;
      });
      if (paid) markPrepaid(r.body, paid);
      refuseAnswer(r, p, o.outputSize, o.unverified);
      const body = bodyReader(r.body);
      // Hashed on this thread as each slice lands (below), while it is in the caches: a hash worker's round trip costs more.
      const tree = new TreeHasher({ leaves: true });
      const inFlight: (Promise<void> | null)[] = slices.map(() => null);
      const writeSync = sink.writeAtSync?.bind(sink);
      // Written on this thread, one slice is enough: it is hashed and in the page cache before it is refilled.
      const turns = writeSync ? 1 : slices.length;
      let off = 0;
      try {
        for (let k = 0; off < length; k = (k + 1) % turns) {
          // A slice is refilled only once its hash and its write are done.
          await inFlight[k];
          const data = slices[k].subarray(0, Math.min(slices[k].length, length - off));
          const hasher = new LandedHasher(data, tree);
          const got = await body.read(data, (filled) => hasher.landed(filled));
          if (got !== data.length) {
            throw Object.assign(new Error(`piece ${p.start}-${p.end}: connection ended after ${off + got} of ${length} bytes`), { code: 'ECONNRESET' });
          }
          hasher.rest();
          const at = p.start + off;
          off += got;
          if (writeSync) writeSync(data, at);
          else {
            const step = sink.writeAt(data, at);
            step.catch(() => {}); // awaited on the slice's next turn or below
            inFlight[k] = step;
          }
        }
        if ((await body.read(Buffer.alloc(1))) !== 0) throw new PieceMismatch(`piece ${p.start}-${p.end}: more bytes than asked for`);
        for (const f of inFlight) await f;
      } catch (e) {
        // A body left mid-way leaves its connection mid-response: it is closed, never reused.
        (r.body as { destroy?: () => void }).destroy?.();
        await Promise.allSettled(inFlight);
        throw e;
      }
      const treeHash = tree.digest().treeHash;
      const leaves = tree.leaves!;
      if (!r.checksum) {
        if (!warnedUnverified) o.warn?.(`Glacier sends no tree hash for output bytes ${p.start}-${p.end} (and maybe others): taking them UNVERIFIED, as --unverified asks`);
        warnedUnverified = true;
        return { leaves, treeHash, unverified: true };
      }
      // Hex digests compare case-insensitively: a service may send uppercase.
      if (treeHash !== r.checksum.toLowerCase()) throw new PieceMismatch(`bytes ${p.start}-${p.end} do not match their tree hash (got ${treeHash}, Glacier says ${r.checksum})`);
      return { leaves, treeHash, unverified: false };
    }, retryOptions(o, p)).catch((e) => {
      throw finalError(o, e);
    });
  };

  // Slices no bigger than the longest piece, and no more workers than pieces: a download of a 1 KiB archive
  // allocates 1 KiB, not SLICES_PER_FETCH MiB per worker, which millions of small archives would leave to the
  // garbage collector (external memory that forces a full collection every few archives).
  const longest = o.pieces.reduce((m, p) => Math.max(m, p.end - p.start + 1), 0);
  const workers = Math.max(1, Math.min(o.concurrency, o.pieces.length));
  // Past the page cache only for pieces of a whole slice or more (a smaller archive is one small write either way,
  // which the page cache batches with the next archive's), and only while this process's downloads together hold
  // no more than DIRECT_MEMORY of such slices: a piece that starts when they are all in use goes through the page
  // cache, from SLICE buffers of its worker's own.
  const wantDirect = sink.directAlign !== undefined && longest >= DIRECT_SLICE;
  const directSlices = Math.min(DIRECT_SLICES, Math.ceil(longest / DIRECT_SLICE));
  const plainSize = Math.max(1, Math.min(SLICE, longest));
  const plainCount = sink.writeAtSync ? 1 : Math.min(SLICES_PER_FETCH, Math.max(1, Math.ceil(longest / SLICE)));
  const worker = async () => {
    let plain: Buffer[] | undefined;
    while (!failure) {
      const i = nextIndex++;
      if (i >= o.pieces.length) return;
      // Taken for this piece only, and given back once it is done either way (fetchPiece returns or throws only
      // once every write from its slices is done): a download takes them up again as others free them.
      const aligned = wantDirect ? alignedBuffers(directSlices, DIRECT_SLICE, DIRECT_MEMORY) : null;
      try {
        done.set(i, await fetchPiece(o.pieces[i], aligned ?? (plain ??= Array.from({ length: plainCount }, () => Buffer.allocUnsafeSlow(plainSize)))));
      } catch (e) {
        failure ??= e;
        return;
      } finally {
        if (aligned) releaseAligned(aligned);
      }
      confirming = confirming.then(confirm).catch((e) => {
        failure ??= e;
      });
    }
  };

  await Promise.all(Array.from({ length: workers }, worker));
  await confirming;
  if (failure) throw failure;
  return { treeHash: combiner.digest().toString('hex'), bytes, unverifiedBytes };
}
