// Where parts come from: raw bytes (a pipe or a file) cut into part-size pieces, a glacier-chunk frame stream,
// or a glacier-chunk spool folder. Each yields parts in order, in pooled buffers the consumer releases.
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

export const CHUNK_MAGIC = '{"format":"glacier-chunks"';
const HEX64 = /^[0-9a-f]{64}$/;

export interface ChunkHeader {
  format: 'glacier-chunks';
  version: 1;
  partSize: number;
}

export interface ChunkEnd {
  end: true;
  parts: number;
  size: number;
  treeHash: string;
}

export async function readChunkHeader(reader: ByteReader): Promise<ChunkHeader> {
  const line = await reader.readLine();
  let h: ChunkHeader;
  try {
    h = JSON.parse(line ?? '');
  } catch {
    throw new UsageError('invalid chunk stream: the first line is not a glacier-chunks header');
  }
  if (h.format !== 'glacier-chunks' || h.version !== 1 || !isValidPartSize(h.partSize)) {
    throw new UsageError('invalid chunk stream header: expected format glacier-chunks, version 1 and a valid partSize');
  }
  return h;
}

/** Parts of a glacier-chunk frame stream, checked for order, sizes and a matching end record. */
export async function* chunkStreamParts(reader: ByteReader, header: ChunkHeader, pool: BufferPool, end: { record?: ChunkEnd } = {}): AsyncGenerator<SourcePart> {
  const ps = header.partSize;
  let pending: SourcePart | null = null;
  let total = 0;
  for (let index = 0; ; index++) {
    const line = await reader.readLine();
    if (line === null) throw new UsageError(`invalid chunk stream: it ends after ${index} parts without its end record (was the producer interrupted?)`);
    let f: { part?: number; offset?: number; size?: number; treeHash?: string; sha256?: string; end?: boolean; parts?: number; treeHashWhole?: string } & Partial<ChunkEnd>;
    try {
      f = JSON.parse(line);
    } catch {
      throw new UsageError(`invalid chunk stream: frame ${index} header is not JSON`);
    }
    if (f.end) {
      if (f.parts !== index || f.size !== total) throw new UsageError(`invalid chunk stream: the end record says ${f.parts} parts / ${f.size} bytes, the stream had ${index} / ${total}`);
      if (index === 0) throw new UsageError('empty input: an archive must be at least 1 byte');
      end.record = f as ChunkEnd;
      if (pending) yield { ...pending, last: true };
      return;
    }
    if (f.part !== index || f.offset !== index * ps || !Number.isInteger(f.size) || f.size! < 1 || f.size! > ps || !HEX64.test(f.treeHash ?? '') || !HEX64.test(f.sha256 ?? '')) {
      throw new UsageError(`invalid chunk stream: frame ${index} header is malformed or out of order`);
    }
    if (pending && pending.data.length !== ps) throw new UsageError(`invalid chunk stream: part ${index - 1} is short but is not the last`);
    const buf = await pool.acquire();
    const n = await reader.readInto(buf, 0, f.size!);
    if (n !== f.size) {
      pool.release(buf);
      throw new UsageError(`invalid chunk stream: part ${index} is truncated (${n} of ${f.size} bytes)`);
    }
    total += n;
    if (pending) yield { ...pending, last: false };
    pending = { index, offset: f.offset!, data: buf.subarray(0, n), hashes: { treeHash: f.treeHash!, sha256: f.sha256! }, last: false, release: () => pool.release(buf) };
  }
}

export interface Manifest {
  format: 'glacier-chunks';
  version: 1;
  partSize: number;
  parts: { part: number; offset: number; size: number; treeHash: string; sha256: string; file: string }[];
  size: number;
  treeHash: string;
}

export async function readManifest(dir: string): Promise<Manifest> {
  let m: Manifest;
  try {
    m = JSON.parse(await fsp.readFile(join(dir, 'manifest.json'), 'utf8'));
  } catch (e) {
    throw new UsageError(`${dir} is not a glacier-chunk folder: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no manifest.json (was glacier-chunk -o interrupted?)' : (e as Error).message}`);
  }
  if (m.format !== 'glacier-chunks' || !isValidPartSize(m.partSize) || !Array.isArray(m.parts) || m.parts.length === 0) {
    throw new UsageError(`${dir}/manifest.json is not a valid glacier-chunks manifest`);
  }
  return m;
}

/** Parts of a spool folder written by `glacier-chunk -o`. Sizes are checked against the manifest. */
export async function* spoolParts(dir: string, m: Manifest, pool: BufferPool): AsyncGenerator<SourcePart> {
  for (const [i, p] of m.parts.entries()) {
    if (p.part !== i || p.offset !== i * m.partSize || !/^[\w.-]+$/.test(p.file)) throw new UsageError(`${dir}/manifest.json: part ${i} is malformed`);
    const buf = await pool.acquire();
    const fh = await fsp.open(join(dir, p.file), 'r');
    try {
      const n = await fileFiller(fh).fill(buf, m.partSize);
      if (n !== p.size) throw new UsageError(`${dir}/${p.file} has ${n} bytes, the manifest says ${p.size}`);
    } catch (e) {
      pool.release(buf);
      throw e;
    } finally {
      await fh.close();
    }
    yield { index: i, offset: p.offset, data: buf.subarray(0, p.size), hashes: { treeHash: p.treeHash, sha256: p.sha256 }, last: i === m.parts.length - 1, release: () => pool.release(buf) };
  }
}
