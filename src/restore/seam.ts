// The few calls glacier-restore makes into the rest of the toolkit, in one place: the Glacier client, job
// calls, the verified ranged download and the inventory reader. Swapping one of them for another module's is
// one edit here.
import { createReadStream } from 'node:fs';
import { readInventory, type ArchiveRecord } from '../retrieve/inventory.js';

export { makeClient } from '../core/client.js';
export { withRetry, isRetryable, sleep } from '../core/retry.js';
export { download, type Sink } from '../retrieve/download.js';
export { planPieces } from '../retrieve/pieces.js';
export { describe, initiate } from '../retrieve/jobs.js';
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
