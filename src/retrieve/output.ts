// A job's output to a Writable or a FILE: the one library function behind `glacier-job output` and `get`.
// Archive output is fetched in verified pieces (resumable with a FILE); inventories are copied or read as a
// stream of archive records, in bounded memory whatever their size.
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import { GlacierError } from '../core/glacier.js';
import { sleep } from '../core/retry.js';
import { getOutput, type JobTarget } from './jobs.js';
import { IntegrityError, InterruptedError, ServiceError, UsageError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { MiB } from '../core/tree-hash.js';
import { download, HELD_PIECE, IN_PLACE_PIECE, type Sink } from './download.js';
import { declaredLength } from '../core/http-data.js';
import { copyToFile, FileSink } from './file-sink.js';
import { formatOf, readInventory } from './inventory.js';
import { pacedPieceSize } from '../core/rate.js';
import { jobIsVerifiable, planMegabytePieces, planPieces, type JobGeometry } from './pieces.js';
import { loadRequestedRange } from './requested.js';
import { displayName } from '../core/archive-name.js';

export interface JobOutputOptions {
  /** The vault, and the request layer's target (its signal ends the output with InterruptedError). */
  target: JobTarget;
  /** The job as DescribeJob gives it; it must have Succeeded. */
  job: GlacierJobDescription;
  /** Where the output goes: a FILE (through FILE.partial, resumable) or a stream (stdout). */
  to: { file: string } | { stream: Writable };
  /** Inventory jobs only: one JSON line per archive instead of the inventory itself. */
  archives?: boolean;
  /** Output offsets, inclusive. Default: the range `retrieve --range` recorded for the job, else all of it. */
  range?: { from: number; to: number };
  /** Bytes per ranged GET (1 MiB x 2^n; default HELD_PIECE to a stream, IN_PLACE_PIECE into a file) and GETs in flight. */
  pieceSize?: number;
  concurrency: number;
  /** Take bytes no tree hash covers, with a warning, instead of refusing them (IntegrityError). */
  unverified?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Called once with the number of bytes the output will have, and as bytes are written. */
  onTotal?: (bytes: number, resumedBytes: number) => void;
  onBytes?: (n: number) => void;
  warn?: (m: string) => void;
  info?: (m: string) => void;
}

export interface JobOutputResult {
  bytes: number;
  /** Output offsets actually delivered (archive jobs), inclusive. */
  from?: number;
  to?: number;
  unverifiedBytes: number;
}

const interrupted = (signal?: AbortSignal) => (signal?.reason instanceof InterruptedError ? signal.reason : new InterruptedError('SIGINT'));

/**
 * Writes a succeeded job's output to `o.to`. Archive retrievals: every piece is checked against the tree hash
 * Glacier sends for it (and the whole against the job's SHA256TreeHash when the whole output is asked for);
 * bytes no hash covers are refused (IntegrityError, exit 3, nothing written) unless `o.unverified`. Inventories
 * carry no hash: their bytes are copied as they come, or read as archive records (`o.archives`; a malformed
 * row is IntegrityError naming its line). Throws UsageError for a range outside the output, ServiceError when
 * FILE.partial is locked by another download or is a link, InterruptedError on a signal.
 */
export async function writeJobOutput(o: JobOutputOptions): Promise<JobOutputResult> {
  const jobId = o.job.JobId!;
  if (o.job.Action !== 'ArchiveRetrieval') return inventoryOutput(o, jobId);
  if (o.archives) throw new UsageError(`--archives needs an inventory job; ${jobId} is an archive retrieval`);

  const [rs, re] = (o.job.RetrievalByteRange ?? `0-${Number(o.job.ArchiveSizeInBytes) - 1}`).split('-').map(Number);
  const geo: JobGeometry = { rangeStart: rs, rangeEnd: re, archiveSize: Number(o.job.ArchiveSizeInBytes) };
  const total = re - rs + 1;
  let { from, to } = o.range ?? { from: 0, to: total - 1 };
  if (!o.range) {
    const asked = await loadRequestedRange(o.target.vault, jobId, o.env);
    if (asked && asked.first >= rs && asked.last <= re) {
      [from, to] = [asked.first - rs, asked.last - rs];
      if (from !== 0 || to !== total - 1) o.info?.(`giving bytes ${asked.first}-${asked.last} of the archive, as retrieve --range asked (the job retrieved ${rs}-${re})`);
    }
  }
  if (to >= total || from > to) throw new UsageError(`--range ${from}-${to} is outside the job's output (${total} bytes: 0-${total - 1})`);

  // Fetch from the MiB boundary at or before `from` (pieces must start there to have a hash) and cut to
  // [from, to] when writing: the bytes outside are verified with their piece and dropped.
  const coverFrom = from - ((rs + from) % MiB);
  const aligned = jobIsVerifiable(geo);
  // --limit-rate: pieces of at most a quarter second of the rate, each paid for before it is asked for.
  const pieceSize = pacedPieceSize(o.pieceSize ?? ('file' in o.to ? IN_PLACE_PIECE : HELD_PIECE));
  const plan = (start: number) => {
    const coverTo = Math.min(total - 1, to + ((MiB - ((rs + to + 1) % MiB)) % MiB));
    const s = start - ((rs + start) % MiB);
    if (aligned) return planPieces(geo, s, coverTo, pieceSize);
    // Not a tree node: Glacier's developer guide sends no hash for any of it; a service following the API
    // reference's megabyte rule hashes MiB-aligned pieces. Each piece says which it is.
    return planMegabytePieces(s, coverTo, pieceSize);
  };
  const whole = from === 0 && to === total - 1 && o.job.SHA256TreeHash ? o.job.SHA256TreeHash.toLowerCase() : null;

  const pool = new HashPool();
  let file: FileSink | undefined;
  try {
    let combiner;
    let resumed = 0;
    if ('file' in o.to) {
      // A resumed file continues where a MiB boundary of the archive allows a piece to start (or is whole). Any
      // job for the same bytes of the same archive continues it, after its kept bytes are checked again.
      const archive = o.job.ArchiveId && o.job.ArchiveSHA256TreeHash ? { archiveId: o.job.ArchiveId, archiveTreeHash: o.job.ArchiveSHA256TreeHash.toLowerCase(), first: rs + from } : {};
      const opened = await FileSink.open(o.to.file, { jobId, vault: o.target.vault, from, to, ...archive }, { canResumeAt: (v) => (rs + from + v) % MiB === 0 || from + v === to + 1, pool, warn: o.warn });
      file = opened.sink;
      resumed = opened.resumed;
      if (resumed > 0 && whole) combiner = opened.combiner;
      if (resumed > 0) o.info?.(`resuming ${o.to.file} after ${resumed} verified bytes`);
    }
    o.onTotal?.(to - from + 1, resumed);
    const start = from + resumed;
    const pieces = start > to ? [] : plan(start === from ? coverFrom : start);
    const inner: Sink = file ?? streamSink(o.to as { stream: Writable });
    const sink: Sink = {
      write: async (data, at) => {
        const a = Math.max(at, start);
        const b = Math.min(at + data.length - 1, to);
        if (a <= b) await inner.write(data.subarray(a - at, b - at + 1), a);
      },
      // A FILE takes pieces in place, cut to [from, to] itself.
      positional: file?.positional,
    };
    const done = await download({
      target: o.target, jobId, outputSize: total, pieces, pieceSize, concurrency: o.concurrency, combiner,
      sink, signal: o.target.glacier.signal, unverified: o.unverified, warn: o.warn,
      onBytes: o.onBytes && ((n) => o.onBytes!(n)),
    });
    // The whole is checked too: every piece matched already, so a mismatch here means Glacier disagrees with itself.
    if (whole && done.treeHash !== whole) {
      // Its record would have the next run resume after every byte and fail the same way: it starts over instead.
      await file?.forget();
      throw new IntegrityError(`the output's tree hash ${done.treeHash} does not match the job's ${whole}${file ? `; ${file.path}.partial counts nothing as verified now, so the next run fetches it all again` : ''}`);
    }
    await file?.finish();
    return { bytes: to - from + 1, from, to, unverifiedBytes: done.unverifiedBytes };
  } finally {
    await file?.close();
    await pool.close();
  }
}

/** Writes to a stream in order, waiting for the reader (backpressure). */
function streamSink(to: { stream: Writable }): Sink {
  return {
    write: (data) =>
      new Promise<void>((resolve, reject) => {
        to.stream.write(data, (e) => (e ? reject(e) : resolve()));
      }),
  };
}

/**
 * The bytes of a job's output as they arrive. A connection that drops is picked up again where it stopped
 * (a Range request from the next byte), so a long inventory is neither restarted nor held in memory.
 * Every answer must say it is the bytes asked for (protocol §7.4): a 200 or a 206; a Content-Range (which a 206, and
 * any answer past byte 0, must have) starting at the byte asked for, its total the job's size and its span the
 * answer's length, with no body past its last byte. The job's size (InventorySizeInBytes; else the first total an answer gives) is where the
 * output ends: an answer that ends before it was cut short, whatever its framing said, and is continued; bytes past
 * it are refused. Throws ServiceError (exit 1) for an answer that is not the bytes asked for. `o.job` as DescribeJob
 * gives it (Succeeded). glacier-job output, glacier-restore --inventory JOB_ID and glacier-ls --inventory JOB_ID all
 * read an inventory job's output through it.
 */
export async function* outputBytes(o: { target: JobTarget; job: GlacierJobDescription; warn?: (m: string) => void }): AsyncGenerator<Buffer> {
  const jobId = o.job.JobId!;
  let size = Number(o.job.InventorySizeInBytes) || 0;
  let offset = 0;
  let stalls = 0;
  for (;;) {
    const before = offset;
    try {
      const r = await getOutput(o.target, jobId, offset).catch((e) => {
        // The request for the rest refused (e.g. a range past the end, when the job's size says more than there is):
        // the run stops there, its first bytes given; not a usage error.
        if (offset === 0 || e instanceof InterruptedError || o.target.glacier.signal?.aborted) throw e;
        throw new ServiceError(`the job output stopped after ${offset}${size ? ` of the ${size}` : ''} bytes, and the request for the rest failed (${(e as Error).message}); run the command again`);
      });
      const refuse = (what: string) => {
        (r.body as { destroy?: () => void }).destroy?.();
        return new ServiceError(`the job output ${offset > 0 ? `stopped after ${offset} bytes, and the request for the rest was answered with` : 'was answered with'} ${what}; run the command again`);
      };
      const declared = declaredLength(r.body);
      if ((offset > 0 || r.range) && r.range?.first !== offset) {
        // A server that ignores Range answers with the whole output (or some other bytes): appended, they would repeat.
        throw refuse(r.range ? `bytes ${JSON.stringify(r.range.text)}` : 'no Content-Range (the server ignores Range)');
      }
      if (r.status !== undefined && r.status !== 200 && r.status !== 206) throw refuse(`a ${r.status}`);
      // (A Content-Range, if any, starts at `offset` by now.)
      if (r.status === 206 && !r.range) throw refuse('a 206 without Content-Range');
      if (r.range && ((size && r.range.total !== null && r.range.total !== size) || (declared !== undefined && r.range.last !== null && declared !== r.range.last - r.range.first! + 1))) {
        throw refuse(`bytes ${JSON.stringify(r.range.text)} in ${declared ?? 'a body of unsaid length'}${size ? `, where the output is ${size} bytes` : ''}`);
      }
      if (!size && r.range?.total) size = r.range.total;
      // Where this answer says it ends (a body of unsaid length is held to it as it arrives).
      const stop = r.range && r.range.last !== null ? r.range.last + 1 : 0;
      for await (const chunk of r.body as Readable) {
        if (size && offset + chunk.length > size) throw refuse(`more bytes than the ${size} its job gives`);
        if (stop && offset + chunk.length > stop) throw refuse(`more bytes than its Content-Range ${JSON.stringify(r.range!.text)} names`);
        offset += chunk.length;
        yield chunk as Buffer;
      }
      if (offset < size) throw Object.assign(new Error(`the answer ended after ${offset} of the output's ${size} bytes`), { code: 'ECONNRESET' });
      return;
    } catch (e) {
      if (o.target.glacier.signal?.aborted) throw interrupted(o.target.glacier.signal);
      // A GlacierError is the request layer's last word on the request; what is left is the body cut short.
      if (e instanceof GlacierError || !(e as NodeJS.ErrnoException).code) throw e;
      stalls = offset > before ? 0 : stalls + 1;
      if (stalls >= 5) throw new ServiceError(`the job output stopped after ${offset}${size ? ` of its ${size}` : ''} bytes on 5 attempts in a row (${(e as Error).message}); run the command again`);
      o.warn?.(`the job output stopped after ${offset} bytes (${(e as Error).message}); continuing from there`);
      await sleep(Math.floor(Math.random() * 250 * 2 ** stalls), o.target.glacier.signal).catch(() => {
        throw interrupted(o.target.glacier.signal);
      });
    }
  }
}

async function inventoryOutput(o: JobOutputOptions, jobId: string): Promise<JobOutputResult> {
  if (o.range) throw new UsageError('--range applies to archive retrievals, not to inventories');
  const bytes = outputBytes(o);
  try {
    let source: AsyncIterable<Buffer> = bytes;
    if (o.archives) {
      const format = formatOf(o.job.InventoryRetrievalParameters?.Format);
      source = (async function* () {
        let batch = '';
        try {
          for await (const a of readInventory(Readable.from(bytes), format)) {
            // Name: the name glacier-restore gives the archive (before de-duplication), for jq to pick paths by.
            batch += `${JSON.stringify({ ...a, Name: displayName(a.ArchiveId, a.ArchiveDescription) })}\n`;
            if (batch.length >= 64 * 1024) {
              yield Buffer.from(batch);
              batch = '';
            }
          }
        } catch (e) {
          // The archives read before a bad row are passed on, and nothing after it.
          if (batch) yield Buffer.from(batch);
          throw e;
        }
        if (batch) yield Buffer.from(batch);
      })();
    }
    if ('file' in o.to) return { bytes: await copyToFile(o.to.file, source), unverifiedBytes: 0 };
    let n = 0;
    for await (const chunk of source) {
      if (!o.to.stream.write(chunk)) await once(o.to.stream, 'drain');
      n += chunk.length;
    }
    return { bytes: n, unverifiedBytes: 0 };
  } catch (e) {
    if (o.target.glacier.signal?.aborted) throw interrupted(o.target.glacier.signal);
    if ((e as Error)?.name === 'AbortError') throw interrupted(o.target.glacier.signal);
    throw e;
  }
}
