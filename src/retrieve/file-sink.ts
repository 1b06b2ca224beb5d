// Writes a download to FILE.partial, recording in FILE.partial.json how much of it is verified and the tree hashes
// that verified it; renames it to FILE only once the whole output is verified. A later run for the same archive
// bytes (the same archive id, tree hash and range, whatever job fetched them) continues where this one stopped,
// after checking the bytes it keeps against those hashes again.
import { promises as fsp, writeSync } from 'node:fs';
import { fileFiller } from '../upload/sources.js';
import type { HashPool } from '../core/hash-pool.js';
import { combineTreeHashes, TreeCombiner, TreeHasher, MiB } from '../core/tree-hash.js';
import type { PositionalSink, Sink } from './download.js';
import { createPrivate, lockFile, openDirect, refuseLink, reopenPrivate, replacePrivate } from './private-file.js';
import { DIRECT_ALIGN, isAligned } from '../core/aligned.js';

/** A verified span of FILE.partial: file offsets (inclusive) and the tree hash of its bytes (leaves from `start`). */
export interface VerifiedNode {
  start: number;
  end: number;
  hash: string;
}

export interface PartialState {
  jobId: string;
  vault: string;
  /** The archive the bytes belong to, and its tree hash (SHA256TreeHash): a new job for it continues the file. */
  archiveId?: string;
  archiveTreeHash?: string;
  /** Archive offset of the file's first byte. */
  first?: number;
  from: number; // output offset of the file's first byte
  to: number; // inclusive
  verified: number; // bytes at the start of the file that are verified and on disk
  /** The verified prefix as spans with their tree hashes (as Glacier sent them for the pieces, combined). */
  nodes?: VerifiedNode[];
}

export type WantedPartial = Omit<PartialState, 'verified' | 'nodes'>;

export interface OpenOptions {
  /** Whether a download may continue after `verified` bytes (pieces must start on MiB boundaries of the archive). */
  canResumeAt?: (verified: number) => boolean;
  /** Hashes the kept prefix off the main thread; without it, in line. */
  pool?: HashPool;
  /** Told when kept bytes no longer match their hashes (they are fetched again). */
  warn?: (m: string) => void;
}

/** The record is saved (after an fdatasync of FILE.partial) at most this many verified bytes, or SAVE_MS, apart. */
export const SAVE_BYTES = 256 * MiB;
export const SAVE_MS = 1000;
/** Spans recorded are merged up to this size: what a changed byte costs to fetch again, against the record's length. */
const NODE_MAX = 1024 * MiB;
const REHASH = 16 * MiB;

/** Replaces the record in one rename, so a kill mid-write leaves the old record, never a truncated one. */
async function saveState(path: string, state: PartialState): Promise<void> {
  await replacePrivate(path, JSON.stringify(state));
}

function sameArchive(old: PartialState, want: WantedPartial): boolean {
  if (!want.archiveId || !want.archiveTreeHash || want.first === undefined) return false;
  return old.archiveId === want.archiveId && old.archiveTreeHash?.toLowerCase() === want.archiveTreeHash.toLowerCase() && old.first === want.first && old.to - old.from === want.to - want.from;
}

function sameJob(old: PartialState, want: WantedPartial): boolean {
  return old.jobId === want.jobId && old.vault === want.vault && old.from === want.from && old.to === want.to;
}

export class FileSink implements Sink, PositionalSink {
  private savedAt = 0;
  private savedTime = Date.now();
  private saving: Promise<void> = Promise.resolve();
  private combiner: TreeCombiner | undefined;
  private finished = false;

  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private readonly state: PartialState,
    private readonly unlock: () => Promise<void>,
    /** File offset before which nothing is written again (the prefix kept when opened). */
    private readonly keep: number,
    /** FILE.partial opened again with O_DIRECT (see openDirect), when the file system takes it. */
    private direct: fsp.FileHandle | undefined,
  ) {
    this.savedAt = state.verified;
  }

  static partialPath(path: string) {
    return `${path}.partial`;
  }

  /**
   * Opens FILE.partial (locked against a second download to FILE, 0600, never through a planted link), keeping the
   * verified prefix of an earlier run for the same archive bytes: the same archive id, tree hash and archive range
   * whatever job wrote it (`want.archiveId`, `archiveTreeHash`, `first`), or the same job and range. The kept prefix
   * is read again and checked against the tree hashes recorded with it; from the first span that no longer matches
   * on, it is dropped (fetched again). `resumed` is the prefix kept; `combiner` holds its 1 MiB leaves (counted from
   * the file's first byte). Throws ServiceError when FILE.partial is locked or is a link.
   */
  static async open(path: string, want: WantedPartial, opts: OpenOptions | ((verified: number) => boolean) = {}): Promise<{ sink: FileSink; resumed: number; combiner: TreeCombiner }> {
    const o: OpenOptions = typeof opts === 'function' ? { canResumeAt: opts } : opts;
    const canResumeAt = o.canResumeAt ?? ((v: number) => v % MiB === 0);
    const partial = FileSink.partialPath(path);
    const unlock = await lockFile(partial);
    let fh: fsp.FileHandle | undefined;
    try {
      await refuseLink(partial);
      await refuseLink(`${partial}.json`);
      let state: PartialState = { ...want, verified: 0, nodes: [] };
      try {
        const old = JSON.parse(await fsp.readFile(`${partial}.json`, 'utf8')) as PartialState;
        const size = (await fsp.lstat(partial)).size;
        if ((sameArchive(old, want) || sameJob(old, want)) && Number.isSafeInteger(old.verified) && old.verified > 0 && old.verified <= size) {
          state = { ...want, verified: old.verified, nodes: Array.isArray(old.nodes) ? old.nodes : undefined };
        }
      } catch {
        // nothing to resume
      }
      const combiner = new TreeCombiner();
      if (state.verified > 0) {
        fh = await reopenPrivate(partial);
        await checkPrefix(fh, state, combiner, o, partial);
        if (state.verified > 0 && !canResumeAt(state.verified)) {
          state.verified = 0;
          state.nodes = [];
        }
      }
      if (state.verified === 0) {
        await fh?.close();
        fh = await createPrivate(partial);
        await saveState(`${partial}.json`, state);
      }
      const direct = await openDirect(fh!);
      const sink = new FileSink(path, fh!, state, unlock, state.verified, direct);
      sink.combiner = state.verified > 0 ? combiner : new TreeCombiner();
      return { sink, resumed: state.verified, combiner: sink.combiner };
    } catch (e) {
      await fh?.close().catch(() => {});
      await unlock();
      throw e;
    }
  }

  /** The running tree hash of the kept prefix (see open). */
  async rehashPrefix(_pool?: HashPool): Promise<TreeCombiner> {
    return this.combiner ?? new TreeCombiner();
  }

  /**
   * This sink takes pieces in place (see PositionalSink). When FILE.partial takes writes past the page cache, slices
   * from alignedBuffers are written so (asynchronously: no writeAtSync), the rest through the page cache.
   */
  get positional(): PositionalSink {
    if (!this.direct) return this;
    return { writeAt: (d, s) => this.writeAt(d, s), verified: (s, e, h) => this.verified(s, e, h), directAlign: DIRECT_ALIGN };
  }

  /**
   * Output bytes [start, start + data.length) into FILE.partial at their place; the kept prefix is never written.
   * Whole DIRECT_ALIGN blocks of an aligned slice go past the page cache when FILE.partial allows it (the kernel
   * reads them from `data` itself); the rest, and everything when it does not, is copied into the page cache.
   */
  async writeAt(data: Uint8Array, start: number): Promise<void> {
    const direct = this.direct;
    const w = this.within(data, start);
    if (direct && w) {
      const { off, pos } = w;
      const whole = Math.floor((w.end - pos) / DIRECT_ALIGN) * DIRECT_ALIGN;
      if (whole > 0 && pos % DIRECT_ALIGN === 0 && isAligned(data.subarray(off))) {
        try {
          for (let done = 0; done < whole; ) done += (await direct.write(data, off + done, whole - done, pos + done)).bytesWritten;
          this.writeAtSync(data.subarray(whole + off), start + off + whole);
          return;
        } catch (e) {
          // A file system that opens O_DIRECT yet refuses its writes: the page cache from here on.
          if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
          this.direct = undefined;
          await direct.close().catch(() => {});
        }
      }
    }
    this.writeAtSync(data, start);
  }

  /**
   * Where output bytes [start, start + data.length) land in FILE.partial once cut to what it holds and past the kept
   * prefix: `data` from `off`, file offsets [pos, end). Null when none of them do.
   */
  private within(data: Uint8Array, start: number): { off: number; pos: number; end: number } | null {
    const a = Math.max(start, this.state.from + this.keep);
    const b = Math.min(start + data.length - 1, this.state.to);
    return a > b ? null : { off: a - start, pos: a - this.state.from, end: b - this.state.from + 1 };
  }

  /**
   * writeAt on this thread, returning once the bytes are in the page cache (see PositionalSink.writeAtSync): a
   * slice small enough for the CPU's caches is copied by the kernel while it is still there, where a write handed
   * to a worker thread reads it from another core. Throws the write's error (ENOSPC, EIO, ...).
   */
  writeAtSync(data: Uint8Array, start: number): void {
    const w = this.within(data, start);
    if (!w) return;
    const { pos, end } = w;
    for (let off = w.off, at = pos; at < end; ) {
      const n = writeSync(this.fh.fd, data, off, end - at, at);
      off += n;
      at += n;
    }
  }

  /**
   * Output bytes [start, end] are written and match `treeHash` (PositionalSink). The record claims them once they
   * are on disk: it is saved, after an fdatasync, every SAVE_BYTES or SAVE_MS, never per piece.
   */
  async verified(start: number, end: number, treeHash: string): Promise<void> {
    const a = Math.max(start, this.state.from + this.keep);
    const b = Math.min(end, this.state.to);
    if (a > b) return;
    const s = a - this.state.from;
    const e = b - this.state.from;
    // A piece cut by the file's ends: the hash of the bytes kept, read back (once per download at most twice).
    const hash = a === start && b === end ? treeHash.toLowerCase() : await this.hashOf(s, e);
    const nodes = (this.state.nodes ??= []);
    nodes.push({ start: s, end: e, hash });
    // Two equal spans of 2^k MiB side by side are one subtree: their parent's hash is the hash of both.
    for (;;) {
      const r = nodes.at(-1)!;
      const l = nodes.at(-2);
      const len = r.end - r.start + 1;
      if (!l || l.end - l.start + 1 !== len || len % MiB !== 0 || (len / MiB) & (len / MiB - 1) || 2 * len > NODE_MAX) break;
      nodes.splice(-2, 2, { start: l.start, end: r.end, hash: combineTreeHashes([Buffer.from(l.hash, 'hex'), Buffer.from(r.hash, 'hex')]).toString('hex') });
    }
    this.state.verified = e + 1;
    if (this.state.verified - this.savedAt >= SAVE_BYTES || Date.now() - this.savedTime >= SAVE_MS) await this.save();
  }

  /** fdatasync, then the record: it never claims bytes that are not on disk. */
  private save(): Promise<void> {
    this.saving = this.saving.then(async () => {
      const snapshot: PartialState = { ...this.state, nodes: [...(this.state.nodes ?? [])] };
      if (snapshot.verified === this.savedAt) return;
      await this.fh.datasync();
      await saveState(`${FileSink.partialPath(this.path)}.json`, snapshot);
      this.savedAt = snapshot.verified;
      this.savedTime = Date.now();
    });
    return this.saving;
  }

  private async hashOf(s: number, e: number): Promise<string> {
    const h = new TreeHasher();
    const buf = Buffer.allocUnsafe(Math.min(MiB, e - s + 1));
    for (let at = s; at <= e; ) {
      const { bytesRead } = await this.fh.read(buf, 0, Math.min(buf.length, e - at + 1), at);
      if (bytesRead === 0) throw new Error(`${this.path}.partial is shorter than what was written to it`);
      h.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return h.digest().treeHash;
  }

  /** Takes verified bytes in order (Sink): written in place and recorded with their tree hash. */
  async write(data: Buffer, start: number): Promise<void> {
    await this.writeAt(data, start);
    await this.verified(start, start + data.length - 1, new TreeHasher().update(data).digest().treeHash);
  }

  /**
   * The whole output is verified: FILE appears, complete and on disk, in one rename. `o.mode` and `o.mtime` are
   * set on the open file first (never through a link at FILE); `o.noReplace`: FILE appears by link(2), which fails
   * with EEXIST rather than replace what is there (FILE.partial is then kept). `o.to`: the path that appears, when
   * it is not FILE (a name too long to carry `.partial.json.tmp` is downloaded under a shorter one).
   */
  async finish(o: { mode?: number; mtime?: Date; noReplace?: boolean; to?: string } = {}): Promise<void> {
    const to = o.to ?? this.path;
    await this.saving;
    this.finished = true;
    await this.fh.truncate(this.state.to - this.state.from + 1);
    if (o.mode !== undefined) await this.fh.chmod(o.mode);
    if (o.mtime !== undefined) await this.fh.utimes(o.mtime, o.mtime);
    await this.fh.datasync();
    await this.direct?.close();
    await this.fh.close();
    if (o.noReplace) {
      await fsp.link(FileSink.partialPath(this.path), to);
      await fsp.unlink(FileSink.partialPath(this.path));
    } else await fsp.rename(FileSink.partialPath(this.path), to);
    await fsp.rm(`${FileSink.partialPath(this.path)}.json`, { force: true });
  }

  /**
   * Counts nothing in FILE.partial as verified any more (its record is saved so at once): for an output whose pieces
   * each matched but whose whole did not, so that the next run fetches it all again rather than trust that prefix.
   */
  async forget(): Promise<void> {
    await this.saving.catch(() => {});
    this.state.verified = 0;
    this.state.nodes = [];
    await saveState(`${FileSink.partialPath(this.path)}.json`, { ...this.state, nodes: [] });
    this.savedAt = 0;
    this.savedTime = Date.now();
  }

  /** Closes FILE.partial (kept for a later run unless finished, its record brought up to date) and releases the lock. */
  async close(): Promise<void> {
    if (!this.finished) await this.save().catch(() => {});
    await this.direct?.close().catch(() => {});
    await this.fh.close().catch(() => {});
    await this.unlock().catch(() => {});
  }
}

/**
 * Reads the kept prefix of FILE.partial again: spans recorded with a tree hash must still match it; from the first
 * that does not (or that the file is too short for) on, the prefix is dropped. A prefix recorded without hashes
 * (an older record) is kept as it is. Pushes the kept bytes' 1 MiB leaves into `combiner`.
 */
async function checkPrefix(fh: fsp.FileHandle, state: PartialState, combiner: TreeCombiner, o: OpenOptions, partial: string): Promise<void> {
  const nodes = state.nodes ?? [];
  const buf = o.pool ? Buffer.from(new SharedArrayBuffer(REHASH)) : Buffer.allocUnsafe(REHASH);
  const leavesOf = async (s: number, e: number): Promise<Buffer[] | null> => {
    const fill = fileFiller(fh, s);
    const leaves: Buffer[] = [];
    for (let at = s; at <= e; ) {
      const want = Math.min(REHASH, e - at + 1);
      const n = await fill.fill(buf, want);
      if (n !== want) return null;
      const h = o.pool ? await o.pool.hashWithLeaves(buf.subarray(0, n)) : { leaves: hashLeaves(buf.subarray(0, n)) };
      leaves.push(...h.leaves.map((l) => Buffer.from(l)));
      at += n;
    }
    return leaves;
  };
  // An older record: its prefix has no hashes to check; its leaves still make the running tree hash.
  const unchecked = nodes.length ? Math.min(nodes[0].start, state.verified) : state.verified;
  if (unchecked > 0) {
    const leaves = await leavesOf(0, unchecked - 1);
    if (!leaves) {
      state.verified = 0;
      state.nodes = [];
      return;
    }
    for (const l of leaves) combiner.push(l);
  }
  let good = unchecked;
  const kept: VerifiedNode[] = [];
  for (const n of nodes) {
    if (n.start !== good || n.end >= state.verified) break;
    const leaves = await leavesOf(n.start, n.end);
    if (!leaves || combineTreeHashes(leaves).toString('hex') !== n.hash) {
      o.warn?.(`bytes ${n.start}-${n.end} of ${partial} no longer match the tree hash they were verified against; fetching them again`);
      break;
    }
    for (const l of leaves) combiner.push(l);
    kept.push(n);
    good = n.end + 1;
  }
  state.verified = good;
  state.nodes = kept;
}

function hashLeaves(data: Uint8Array): Buffer[] {
  const h = new TreeHasher({ leaves: true });
  h.update(data).digest();
  return h.leaves!;
}

/**
 * Copies `source` to FILE through FILE.partial (locked, 0600, never through a link), which becomes FILE in one
 * rename once every byte is on disk. For output no hash covers (inventories): nothing to resume from.
 * Returns the byte count.
 */
export async function copyToFile(path: string, source: AsyncIterable<Buffer>): Promise<number> {
  const partial = FileSink.partialPath(path);
  const unlock = await lockFile(partial);
  try {
    const fh = await createPrivate(partial);
    let bytes = 0;
    try {
      for await (const chunk of source) {
        let off = 0;
        while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off, bytes + off)).bytesWritten;
        bytes += chunk.length;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(partial, path);
    return bytes;
  } finally {
    await unlock();
  }
}
