// Starting an archive retrieval: a megabyte-aligned range that is not tree-hash aligned is widened to the
// smallest aligned range covering it, so that Glacier sends a tree hash for every piece of the output; the range
// asked for is recorded for `output`.
import type { GlacierJobDescription, JobParameters } from '@aws-sdk/client-glacier';
import { UsageError } from '../core/errors.js';
import { GlacierError } from '../core/glacier.js';
import { MiB } from '../core/tree-hash.js';
import { initiate, type JobTarget } from './jobs.js';
import { alignedCover } from './pieces.js';
import { saveRequestedRange } from './requested.js';

export interface RetrievalRequest {
  archiveId: string;
  tier: 'Expedited' | 'Standard' | 'Bulk';
  /** Archive offsets, inclusive; `first` a multiple of 1 MiB. */
  range?: { first: number; last: number };
  /** Bytes, when known: lets a widened range end at the archive's end. */
  archiveSize?: number;
  description?: string;
  snsTopic?: string;
}

export interface Widened {
  /** What was asked for and what the job retrieves (archive offsets, inclusive). */
  asked: { first: number; last: number };
  retrieved: { first: number; last: number };
  extraBytes: number;
  /** Where the asked range was recorded for `output`. */
  recordedIn: string;
}

/**
 * Starts the retrieval and describes the job. `widened` is set when the range asked for was not tree-hash
 * aligned and a larger one was retrieved. Throws UsageError for a range that is not megabyte aligned or passes
 * `archiveSize`, and when the aligned range could only be guessed (size unknown) and the service refused it as
 * passing the archive's end; the request layer's errors otherwise.
 */
export async function startRetrieval(t: JobTarget, r: RetrievalRequest, env = process.env): Promise<{ job: GlacierJobDescription; widened?: Widened }> {
  const p: JobParameters = { Type: 'archive-retrieval', ArchiveId: r.archiveId, Tier: r.tier };
  let size = r.archiveSize;
  let asked: { first: number; last: number; guessed: boolean } | undefined;
  if (r.range) {
    const { first: a, last: b } = r.range;
    if (a % MiB) throw new UsageError(`--range must start on a megabyte boundary (a multiple of 1048576): ${a}`);
    if (size !== undefined && b >= size) throw new UsageError(`--range ${a}-${b} goes past the end of the archive (--archive-size ${size})`);
    // Glacier accepts a range ending off a megabyte boundary only at the archive's end: that end is its size.
    if ((b + 1) % MiB) size ??= b + 1;
    const cover = alignedCover(a, b, size);
    p.RetrievalByteRange = `${cover.start}-${cover.end}`;
    if (cover.start !== a || cover.end !== b) asked = { first: a, last: b, guessed: cover.fitsOnlyIfLonger };
  } else if (r.archiveSize !== undefined) throw new UsageError('--archive-size goes with --range');
  if (r.description !== undefined) p.Description = r.description;
  if (r.snsTopic !== undefined) p.SNSTopic = r.snsTopic;
  let job: GlacierJobDescription;
  try {
    job = await initiate(t, p);
  } catch (e) {
    if (asked?.guessed && e instanceof GlacierError && e.code === 'InvalidParameterValueException') {
      throw new UsageError(`--range ${asked.first}-${asked.last} is not tree-hash aligned, and the smallest aligned range covering it, ${p.RetrievalByteRange}, goes past the end of the archive; give the archive's size with --archive-size N (its Size in an inventory) so the range can end at the archive's end`);
    }
    throw e;
  }
  if (!asked) return { job };
  const [s, e] = p.RetrievalByteRange!.split('-').map(Number);
  const recordedIn = await saveRequestedRange({ jobId: job.JobId!, vault: t.vault, archiveId: r.archiveId, first: asked.first, last: asked.last, retrievedFirst: s, retrievedLast: e }, env);
  return { job, widened: { asked: { first: asked.first, last: asked.last }, retrieved: { first: s, last: e }, extraBytes: e - s + 1 - (asked.last - asked.first + 1), recordedIn } };
}
