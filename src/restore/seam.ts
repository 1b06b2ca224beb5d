// The few calls glacier-restore makes into the rest of the toolkit, in one place: the Glacier client, job
// calls, the verified ranged download and the inventory reader. Swapping one of them for another module's is
// one edit here.
import type { GlacierJobDescription, JobParameters } from '@aws-sdk/client-glacier';
import { createReadStream } from 'node:fs';
import { send, type Glacier } from '../core/glacier.js';
import * as operations from '../core/operations.js';
import { readInventory, type ArchiveRecord } from '../retrieve/inventory.js';

export { sleep } from '../core/retry.js';
export { download, HELD_PIECE, IN_PLACE_PIECE, type Sink } from '../retrieve/download.js';
export { planPieces } from '../retrieve/pieces.js';
export { send, type Glacier };

/** Starts a job; resolves with its id. Sent to the end even when the run is interrupted: a job Glacier started
 * without our hearing of it would be paid for and never used. */
export async function initiateJob(g: Glacier, vault: string, params: JobParameters): Promise<string> {
  const r = await operations.initiateJob(g, vault, params, { mustFinish: true });
  return r.jobId!;
}

export async function describeJob(g: Glacier, vault: string, jobId: string): Promise<GlacierJobDescription> {
  const { $metadata: _, ...job } = await operations.describeJob(g, vault, jobId);
  return job;
}

/** The vault's jobs, one ListJobs page at a time (as many jobs a page as the service gives), `filter` as ListJobs takes it. */
export async function* listJobPages(g: Glacier, vault: string, filter: { completed?: string; statuscode?: string } = {}): AsyncGenerator<GlacierJobDescription[]> {
  for await (const page of operations.listJobsPages(g, vault, filter)) yield page.JobList ?? [];
}

/**
 * The vault's jobs one ListJobs page at a time from the page that `from` starts (a Marker an earlier listing
 * answered; undefined: the first page), each page with the marker it was asked with (`at`), so that a later
 * listing can start there. ListJobs lists jobs by initiation time (protocol §7.3), so a job started after a page
 * was listed is on that page or a later one. A marker seen twice ends the listing with an error.
 */
export async function* listJobPagesFrom(g: Glacier, vault: string, from?: string): AsyncGenerator<{ at: string | undefined; jobs: GlacierJobDescription[] }> {
  const seen = new Set<string>();
  let marker = from;
  for (;;) {
    const r = await operations.listJobsPage(g, vault, marker);
    yield { at: marker, jobs: r.JobList ?? [] };
    const next = r.Marker ?? undefined;
    if (next === undefined) return;
    if (seen.has(next)) throw new Error(`ListJobs: the service returned page marker ${next.slice(0, 40)} a second time; stopping rather than loop`);
    seen.add(next);
    marker = next;
  }
}

/** The service's error code of a failure (the request layer's classified `code`, else the SDK's name). */
export function errorCode(e: unknown): string {
  return String((e as { code?: string }).code ?? (e as Error)?.name ?? '');
}
export { FileSink } from '../retrieve/file-sink.js';
export type InventoryArchive = ArchiveRecord;

/**
 * The archives of an inventory file (Glacier's JSON, or its CSV), one at a time, in file order: memory stays
 * at one record however many archives the file lists. Throws IntegrityError when the file is not an inventory.
 */
export async function* readInventoryFile(path: string): AsyncGenerator<InventoryArchive> {
  const format = (await firstByte(path)) === '{' ? 'JSON' : 'CSV';
  yield* readInventory(createReadStream(path), format);
}

async function firstByte(path: string): Promise<string> {
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 })) {
    const t = (chunk as string).trimStart();
    if (t.length) return t[0];
  }
  return '';
}
