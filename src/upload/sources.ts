// Where parts come from: raw bytes (a pipe or a file) cut into part-size pieces, or a glacier-chunk spool
// folder (the frame stream is read in chunks.ts). Each yields parts in order, in pooled buffers the consumer releases.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { BufferPool } from '../core/buffer-pool.js';
import { ByteReader } from '../core/byte-reader.js';
import { UsageError } from '../core/errors.js';
import type { PartHashes } from '../core/hash-pool.js';
import { isValidPartSize } from '../core/tree-hash.js';

export interface SourcePart {
  index: number;
  offset: number;
  data: Buffer; // a view of a pooled buffer
  hashes?: PartHashes; // known already when the source carried them
  last: boolean;
  release(): void;
}

export interface Filler {
  /** Writes up to n bytes into dst from its start; fewer only at end of input. */
  fill(dst: Buffer, n: number): Promise<number>;
}

export function streamFiller(reader: ByteReader): Filler {
  return { fill: (dst, n) => reader.readInto(dst, 0, n) };
}

export function fileFiller(fh: fsp.FileHandle, start = 0): Filler {
  let pos = start;
  return {
    async fill(dst, n) {
      let got = 0;
      while (got < n) {
        const { bytesRead } = await fh.read(dst, got, n - got, pos);
        if (bytesRead === 0) break;
        got += bytesRead;
        pos += bytesRead;
      }
      return got;
    },
  };
}

/**
 * `f`, whose reads end at once when `signal` aborts: the waiting fill rejects with the signal's reason (an
 * InterruptedError from the binary's SIGINT/SIGTERM handler), whether or not input ever comes. A read already
 * under way may still land in the buffer it was given; the run is ending. Without a signal, `f` itself.
 */
export function abortable(f: Filler, signal?: AbortSignal): Filler {
  if (!signal) return f;
  return {
    fill(dst, n) {
      if (signal.aborted) return Promise.reject(signal.reason);
      return new Promise<number>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        f.fill(dst, n).then(
          (k) => {
            signal.removeEventListener('abort', onAbort);
            resolve(k);
          },
          (e) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    },
  };
}

/** Serves `prefix` (bytes already read to sniff the input's kind) before the rest of `rest`. */
export function prefixedFiller(prefix: Buffer, rest: Filler): Filler {
  let pre = prefix;
  return {
    async fill(dst, n) {
      let got = 0;
      if (pre.length) {
        got = Math.min(n, pre.length);
        pre.copy(dst, 0, 0, got);
        pre = pre.subarray(got);
      }
      if (got < n) got += await rest.fill(got ? dst.subarray(got) : dst, n - got);
      return got;
    },
  };
}

/** A filler as a stream of chunks, for parsers that want a ByteReader. */
export async function* fillerChunks(f: Filler, size = 1024 * 1024): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafe(size);
    const n = await f.fill(buf, size);
    if (n > 0) yield buf.subarray(0, n);
    if (n < size) return;
  }
}

/** Raw input cut into parts. Reads one part ahead so that each part knows whether it is the last. */
export async function* rawParts(input: Filler, partSize: number, pool: BufferPool): AsyncGenerator<SourcePart> {
  const read = async () => {
    const buf = await pool.acquire();
    const n = await input.fill(buf, partSize);
    if (n === 0) {
      pool.release(buf);
      return null;
    }
    return { buf, n };
  };
  let cur = await read();
  for (let index = 0; cur; index++) {
    const next = cur.n === partSize ? await read() : null;
    const { buf, n } = cur;
    yield { index, offset: index * partSize, data: buf.subarray(0, n), last: next === null, release: () => pool.release(buf) };
    cur = next;
  }
}
