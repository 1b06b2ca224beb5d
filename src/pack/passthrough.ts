// One PATH that is already an archive goes out byte for byte, as in the seed: compressing it again gains nothing
// and would make restoring it a two-step affair.
import { createReadStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

const ARCHIVE = /\.(tar|tar\.xz|txz|tgz|tar\.gz|tar\.zst|tzst|tar\.bz2|tbz2?)$/i;

export function isArchiveName(path: string): boolean {
  return ARCHIVE.test(path);
}

export async function copyArchive(path: string, output: Writable, o: { onRead?(bytes: number): void; signal?: AbortSignal } = {}): Promise<void> {
  await pipeline(
    createReadStream(path, { highWaterMark: 1 << 20 }),
    async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        o.onRead?.(chunk.length);
        yield chunk;
      }
    },
    output,
    { signal: o.signal },
  );
}
