// The few calls glacier-restore makes into the rest of the toolkit, in one place: the Glacier client, job
// calls, the verified ranged download and the inventory reader. Swapping one of them for another module's is
// one edit here.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import chain from 'stream-chain';
import { parser } from 'stream-json';
import { pick } from 'stream-json/filters/pick.js';
import { streamArray } from 'stream-json/streamers/stream-array.js';
import { UsageError } from '../core/errors.js';
import { parseCsvLine, type InventoryArchive } from '../retrieve/inventory.js';

export { makeClient } from '../core/client.js';
export { withRetry, isRetryable, sleep } from '../core/retry.js';
export { download, type Sink } from '../retrieve/download.js';
export { planPieces } from '../retrieve/pieces.js';
export { describe, initiate } from '../retrieve/jobs.js';
export { FileSink } from '../retrieve/file-sink.js';
export type { InventoryArchive };

/**
 * The archives of an inventory file (Glacier's JSON, or its CSV), one at a time, in file order: memory stays
 * at one record however many archives the file lists. Throws UsageError when the file is not an inventory.
 */
export async function* readInventoryFile(path: string): AsyncGenerator<InventoryArchive> {
  const head = await firstByte(path);
  if (head === '{') {
    const pipeline = chain([createReadStream(path), parser(), pick({ filter: 'ArchiveList' }), streamArray()]);
    let n = 0;
    try {
      for await (const item of pipeline as AsyncIterable<{ value: InventoryArchive }>) {
        n++;
        yield item.value;
      }
    } catch (e) {
      throw new UsageError(`${path} is not a readable JSON inventory: ${(e as Error).message}`);
    }
    void n;
    return;
  }
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let header: string[] | null = null;
  for await (const line of lines) {
    if (!line.length) continue;
    if (!header) {
      header = parseCsvLine(line).map((h) => h.trim());
      if (['ArchiveId', 'ArchiveDescription', 'CreationDate', 'Size', 'SHA256TreeHash'].some((w) => !header!.includes(w))) {
        throw new UsageError(`${path} is not an inventory: its first line is "${line.slice(0, 80)}"`);
      }
      continue;
    }
    const f = parseCsvLine(line);
    const get = (k: string) => f[header!.indexOf(k)] ?? '';
    yield { ArchiveId: get('ArchiveId'), ArchiveDescription: get('ArchiveDescription'), CreationDate: get('CreationDate'), Size: Number(get('Size')), SHA256TreeHash: get('SHA256TreeHash') };
  }
}

async function firstByte(path: string): Promise<string> {
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 })) {
    const t = (chunk as string).trimStart();
    if (t.length) return t[0];
  }
  return '';
}
