// Job calls shared by the glacier-job subcommands: initiate, describe, list (all pages), wait.
import { DescribeJobCommand, InitiateJobCommand, ListJobsCommand, type GlacierClient, type GlacierJobDescription, type JobParameters } from '@aws-sdk/client-glacier';
import { NotReadyError, ServiceError } from '../core/errors.js';
import { sleep, withRetry } from '../core/retry.js';

export interface JobTarget {
  client: GlacierClient;
  vault: string;
  accountId: string;
  signal?: AbortSignal;
}

const retrying = <T>(t: JobTarget, fn: () => Promise<T>) => withRetry(fn, { attempts: 5, signal: t.signal });

export async function initiate(t: JobTarget, params: JobParameters): Promise<GlacierJobDescription> {
  const r = await retrying(t, () => t.client.send(new InitiateJobCommand({ accountId: t.accountId, vaultName: t.vault, jobParameters: params }), { abortSignal: t.signal }));
  return describe(t, r.jobId!);
}

export async function describe(t: JobTarget, jobId: string): Promise<GlacierJobDescription> {
  const r = await retrying(t, () => t.client.send(new DescribeJobCommand({ accountId: t.accountId, vaultName: t.vault, jobId }), { abortSignal: t.signal }));
  const { $metadata: _, ...job } = r;
  return job;
}

export async function* listJobs(t: JobTarget, filter: { completed?: string; statuscode?: string }): AsyncGenerator<GlacierJobDescription> {
  let marker: string | undefined;
  do {
    const r = await retrying(t, () => t.client.send(new ListJobsCommand({ accountId: t.accountId, vaultName: t.vault, marker, ...filter }), { abortSignal: t.signal }));
    yield* r.JobList ?? [];
    marker = r.Marker ?? undefined;
  } while (marker);
}

/** Polls until the job ends; a failed job is an error, a timeout is "not ready" (exit 4). */
export async function waitFor(t: JobTarget, jobId: string, intervalMs: number, timeoutMs: number, onPoll?: (j: GlacierJobDescription) => void): Promise<GlacierJobDescription> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const job = await describe(t, jobId);
    onPoll?.(job);
    if (job.StatusCode === 'Succeeded') return job;
    if (job.StatusCode === 'Failed') throw new ServiceError(`job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`);
    if (Date.now() + intervalMs > until) throw new NotReadyError(`job ${jobId} is still ${job.StatusCode} after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(intervalMs, t.signal);
  }
}
