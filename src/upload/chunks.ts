// The glacier-chunk format, both directions, in one place. A chunk stream is a header line, then per part a
// frame line {"part","offset","size","treeHash","sha256"} followed by its bytes, then an end record
// {"end":true,"parts","size","treeHash"} vouching for the whole archive; a spool folder (glacier-chunk -o) holds
// the parts as files and the same facts in manifest.json, written last.
import { promises as fsp, constants } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { BufferPool } from '../core/buffer-pool.js';
import { ByteReader } from '../core/byte-reader.js';
import { IntegrityError, ServiceError, UsageError } from '../core/errors.js';
import type { HashPool } from '../core/hash-pool.js';
import { mapOrdered } from '../core/ordered.js';
import { combineTreeHashesHex, isValidPartSize } from '../core/tree-hash.js';
import { fileFiller, rawParts, type Filler, type SourcePart } from './sources.js';

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
  const treeHashes: string[] = [];
  for (let index = 0; ; index++) {
    const line = await reader.readLine();
    if (line === null) throw new UsageError(`invalid chunk stream: it ends after ${index} parts without its end record (was the producer interrupted?)`);
    let f: { part?: number; offset?: number; size?: number; treeHash?: string; sha256?: string; end?: boolean; parts?: number } & Partial<ChunkEnd>;
    try {
      f = JSON.parse(line);
    } catch {
      throw new UsageError(`invalid chunk stream: frame ${index} header is not JSON`);
    }
    if (f.end) {
      if (index === 0) throw new UsageError('empty input: an archive must be at least 1 byte');
      // The end record vouches for the whole archive: a stream cut or spliced between frames shows here.
      if (f.parts !== index || f.size !== total) throw new IntegrityError(`chunk stream: the end record says ${f.parts} parts / ${f.size} bytes, the stream had ${index} / ${total}`);
      const whole = combineTreeHashesHex(treeHashes);
      if (typeof f.treeHash !== 'string' || f.treeHash.toLowerCase() !== whole) throw new IntegrityError(`chunk stream: the end record's tree hash ${f.treeHash} is not that of its parts (${whole})`);
      // Nothing may follow the end record: bytes after it (two streams joined by cat) would never be stored.
      if ((await reader.peek(1)).length > 0) throw new UsageError('invalid chunk stream: data follows its end record (two chunk streams joined?); nothing was stored');
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
    treeHashes.push(f.treeHash!.toLowerCase());
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
  // The manifest's totals vouch for its parts, as a stream's end record does.
  const size = m.parts.reduce((n, p) => n + p.size, 0);
  const whole = combineTreeHashesHex(m.parts.map((p) => String(p.treeHash).toLowerCase()));
  if (m.size !== size || String(m.treeHash).toLowerCase() !== whole) throw new IntegrityError(`${dir}/manifest.json: its size/tree hash (${m.size}, ${m.treeHash}) are not those of its parts (${size}, ${whole})`);
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

/** Where glacier-chunk writes: a frame stream to a Writable, or part files and manifest.json into an empty folder. */
export type ChunkOutput = { kind: 'stream'; out: Writable } | { kind: 'spool'; dir: string };

async function write(out: Writable, chunk: Uint8Array): Promise<void> {
  if (!out.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = () => (out.off('error', fail), resolve());
      const fail = (e: Error) => (out.off('drain', done), reject(e));
      out.once('drain', done);
      out.once('error', fail);
    });
  }
}

// Parts are new files, never opened through a planted symlink, readable by their owner only.
const CREATE_PART = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Prepares a spool folder: created (0700) if missing, refused (UsageError) when not empty. */
export async function prepareSpool(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  if ((await fsp.readdir(dir)).length) throw new UsageError(`${dir} is not empty`);
}

/**
 * Cuts `input` into parts of `partSize`, hashes them on `pool` (in order, `concurrency` at a time) and writes the
 * chunk stream or spool folder. Returns the end record. Throws UsageError for empty input (nothing written),
 * ServiceError when a part file cannot be written, the signal's reason when interrupted.
 */
export async function writeChunks(input: Filler, output: ChunkOutput, o: { partSize: number; pool: HashPool; concurrency: number; signal?: AbortSignal }): Promise<ChunkEnd> {
  const buffers = new BufferPool(o.partSize, o.concurrency + 2);
  const manifest: Manifest = { format: 'glacier-chunks', version: 1, partSize: o.partSize, parts: [], size: 0, treeHash: '' };
  // The header goes out with the first part, so that empty input leaves the output empty.
  let header = output.kind === 'stream' ? Buffer.from(`${JSON.stringify({ format: 'glacier-chunks', version: 1, partSize: o.partSize })}\n`) : null;
  const hashed = mapOrdered(rawParts(input, o.partSize, buffers), o.concurrency, async (p) => ({ p, h: await o.pool.hash(p.data) }));
  for await (const { p, h } of hashed) {
    if (o.signal?.aborted) throw o.signal.reason;
    try {
      const frame = { part: p.index, offset: p.offset, size: p.data.length, treeHash: h.treeHash, sha256: h.sha256 };
      if (output.kind === 'spool') {
        const file = `part-${String(p.index).padStart(6, '0')}`;
        const path = join(output.dir, file);
        const fh = await fsp.open(path, CREATE_PART, 0o600).catch((e) => {
          throw new ServiceError(`cannot write ${path}: ${(e as Error).message}`);
        });
        try {
          await fh.writeFile(p.data);
        } catch (e) {
          throw new ServiceError(`cannot write ${path}: ${(e as Error).message}`);
        } finally {
          await fh.close();
        }
        manifest.parts.push({ ...frame, file });
      } else {
        if (header) await write(output.out, header);
        header = null;
        await write(output.out, Buffer.from(`${JSON.stringify(frame)}\n`));
        await write(output.out, p.data);
        manifest.parts.push({ ...frame, file: '' });
      }
      manifest.size += p.data.length;
    } finally {
      p.release();
    }
  }
  if (manifest.parts.length === 0) throw new UsageError('empty input: an archive must be at least 1 byte');
  manifest.treeHash = combineTreeHashesHex(manifest.parts.map((p) => p.treeHash));
  const end: ChunkEnd = { end: true, parts: manifest.parts.length, size: manifest.size, treeHash: manifest.treeHash };
  if (output.kind === 'spool') {
    // The manifest is written last and renamed into place: a folder without one is an interrupted spool.
    const tmp = join(output.dir, '.manifest.json.tmp');
    const fh = await fsp.open(tmp, CREATE_PART, 0o600);
    try {
      await fh.writeFile(JSON.stringify(manifest, null, 1));
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, join(output.dir, 'manifest.json'));
  } else {
    await write(output.out, Buffer.from(`${JSON.stringify(end)}\n`));
  }
  return end;
}
