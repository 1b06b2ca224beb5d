// Job calls shared by the glacier-job subcommands: initiate, describe, list (all pages), wait, and the output's
// bytes; every one through the request layer (src/core/glacier.ts: one retry policy, timeouts, signals).
import type { GlacierJobDescription, JobParameters } from '@aws-sdk/client-glacier';
import type { Readable } from 'node:stream';
import { NotReadyError, ServiceError } from '../core/errors.js';
import type { Glacier } from '../core/glacier.js';
import { describeJob, getJobOutput, initiateJob, listJobsPages } from '../core/operations.js';
import { sleep } from '../core/retry.js';

export interface JobTarget {
  glacier: Glacier;
  vault: string;
}

/** Starts a job and describes it. Throws the request layer's classified errors. */
export async function initiate(t: JobTarget, params: JobParameters): Promise<GlacierJobDescription> {
  const r = await initiateJob(t.glacier, t.vault, params);
  return describe(t, r.jobId!);
}

export async function describe(t: JobTarget, jobId: string): Promise<GlacierJobDescription> {
  const r = await describeJob(t.glacier, t.vault, jobId);
  const { $metadata: _, ...job } = r;
  return job;
}

/** Every job of the vault, all pages (a page marker repeated by the service is an error). */
export async function* listJobs(t: JobTarget, filter: { completed?: string; statuscode?: string }): AsyncGenerator<GlacierJobDescription> {
  for await (const page of listJobsPages(t.glacier, t.vault, filter)) yield* page.JobList ?? [];
}

/**
 * One GET of a job's output, bytes [first, last] of it (offsets in the output, inclusive; `last` undefined: to
 * the end), with the tree hash Glacier sends for them, if any (hex), and the range the answer says it holds
 * (`Content-Range: bytes FIRST-LAST/TOTAL` of a 206, parsed; undefined when it names none, as an answer to a
 * request without Range does: glacier-protocol.md §7.4).
 */
export async function getOutput(t: JobTarget, jobId: string, first = 0, last?: number): Promise<{ body: Readable; checksum?: string; status?: number; range?: AnsweredRange }> {
  const range = first === 0 && last === undefined ? undefined : `bytes=${first}-${last ?? ''}`;
  const r = await getJobOutput(t.glacier, t.vault, jobId, range);
  return { body: r.body as Readable, checksum: r.checksum, status: r.status, range: answeredRange(r.contentRange) };
}

/**
 * What a GetJobOutput answer's Content-Range says it holds: `text` as sent; `first` and `last` null when it does not
 * parse or names a last byte at or past its own total (RFC 9110 §14.4); `total` null when it is `*`.
 */
export interface AnsweredRange {
  text: string;
  first: number | null;
  last: number | null;
  total: number | null;
}

function answeredRange(header: string | undefined): AnsweredRange | undefined {
  if (header === undefined || header === '') return undefined;
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header.trim());
  const total = m && m[3] !== '*' ? Number(m[3]) : null;
  const sound = m !== null && Number(m[1]) <= Number(m[2]) && (total === null || Number(m[2]) < total);
  return { text: header, first: sound ? Number(m![1]) : null, last: sound ? Number(m![2]) : null, total };
}

/**
 * Polls until the job ends; a failed job is ServiceError, and `timeoutMs` is kept whatever the server does: a
 * poll still unanswered at the deadline is dropped and the result is NotReadyError (exit 4).
 */
export async function waitFor(t: JobTarget, jobId: string, intervalMs: number, timeoutMs: number, onPoll?: (j: GlacierJobDescription) => void): Promise<GlacierJobDescription> {
  const deadline = new AbortController();
  let last: string | undefined;
  const notReady = () => new NotReadyError(`job ${jobId} is still ${last ?? 'InProgress (the service gave no answer in time)'} after ${Math.round(timeoutMs / 1000)} s`);
  const timer = setTimeout(() => deadline.abort(notReady()), timeoutMs);
  const outer = t.glacier.signal;
  const signal = outer ? AbortSignal.any([outer, deadline.signal]) : deadline.signal;
  const bounded: JobTarget = { ...t, glacier: { ...t.glacier, signal } };
  try {
    for (;;) {
      const job = await describe(bounded, jobId);
      onPoll?.(job);
      last = job.StatusCode;
      if (job.StatusCode === 'Succeeded') return job;
      if (job.StatusCode === 'Failed') throw new ServiceError(`job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`);
      await sleep(intervalMs, signal).catch(() => {
        throw signal.reason;
      });
    }
  } catch (e) {
    if (outer?.aborted) throw outer.reason;
    if (deadline.signal.aborted) throw notReady();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}
