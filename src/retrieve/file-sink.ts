// Writes a download to FILE.partial, recording in FILE.partial.json how much of it is verified; renames it to
// FILE only once the whole output is verified. A later run for the same job continues where this one stopped.
import { promises as fsp } from 'node:fs';
import { fileFiller } from '../upload/sources.js';
import type { HashPool } from '../core/hash-pool.js';
import { TreeCombiner, MiB } from '../core/tree-hash.js';
import { BufferPool } from '../core/buffer-pool.js';
import type { Sink } from './download.js';
import { createPrivate, lockFile, refuseLink, reopenPrivate, replacePrivate } from './private-file.js';

export interface PartialState {
  jobId: string;
  vault: string;
  from: number; // output offset of the file's first byte
  to: number; // inclusive
  verified: number; // bytes at the start of the file that are verified and on disk
  /** The archive the output is of ("ARCHIVE_ID TREE_HASH"): a prefix with the same key, vault and range is
   * continued by any job for that archive, not only the job that wrote it. */
  archive?: string;
}

/** Replaces the record in one rename, so a kill mid-write leaves the old record, never a truncated one. */
async function saveState(path: string, state: PartialState): Promise<void> {
  await replacePrivate(path, JSON.stringify(state));
}

export class FileSink implements Sink {
  private constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
    private readonly state: PartialState,
    private readonly unlock: () => Promise<void>,
  ) {}

  static partialPath(path: string) {
    return `${path}.partial`;
  }

  /**
   * Opens FILE.partial (locked against a second download to FILE, 0600, never through a planted link), keeping
   * a verified prefix from an earlier run of the same job (or, with `want.archive`, of any job for the same
   * archive) and range when `canResumeAt(verified)` allows continuing there. Throws ServiceError when FILE.partial is locked or is a link.
   */
  static async open(path: string, want: Omit<PartialState, 'verified'>, canResumeAt: (verified: number) => boolean = (v) => v % MiB === 0): Promise<{ sink: FileSink; resumed: number }> {
    const partial = FileSink.partialPath(path);
    const unlock = await lockFile(partial);
    try {
      await refuseLink(partial);
      await refuseLink(`${partial}.json`);
      let state: PartialState = { ...want, verified: 0 };
      try {
        const old = JSON.parse(await fsp.readFile(`${partial}.json`, 'utf8')) as PartialState;
        const size = (await fsp.lstat(partial)).size;
        const same = old.jobId === want.jobId || (want.archive !== undefined && old.archive === want.archive);
        if (same && old.vault === want.vault && old.from === want.from && old.to === want.to && old.verified <= size && canResumeAt(old.verified)) state = { ...old, jobId: want.jobId };
      } catch {
        // nothing to resume
      }
      const fh = state.verified > 0 ? await reopenPrivate(partial) : await createPrivate(partial);
      if (state.verified === 0) await saveState(`${partial}.json`, state);
      return { sink: new FileSink(path, fh, state, unlock), resumed: state.verified };
    } catch (e) {
      await unlock();
      throw e;
    }
  }

  /** Re-reads the verified prefix to rebuild the running tree hash of the output. */
  async rehashPrefix(pool: HashPool): Promise<TreeCombiner> {
    const combiner = new TreeCombiner();
    if (this.state.verified === 0) return combiner;
    const seg = 16 * MiB;
    const buffers = new BufferPool(seg, 1);
    const buf = await buffers.acquire();
    const fill = fileFiller(this.fh);
    for (let done = 0; done < this.state.verified; ) {
      const n = await fill.fill(buf, Math.min(seg, this.state.verified - done));
      if (n === 0) throw new Error(`${this.path}.partial is shorter than its record says`);
      for (const l of (await pool.hashWithLeaves(buf.subarray(0, n))).leaves) combiner.push(l);
      done += n;
    }
    return combiner;
  }

  async write(data: Buffer, start: number): Promise<void> {
    const pos = start - this.state.from;
    let off = 0;
    while (off < data.length) off += (await this.fh.write(data, off, data.length - off, pos + off)).bytesWritten;
    // The record may only claim bytes that are on disk.
    await this.fh.datasync();
    this.state.verified = pos + data.length;
    await saveState(`${FileSink.partialPath(this.path)}.json`, this.state);
  }

  /** The whole output is verified: FILE appears, complete, in one rename. */
  async finish(): Promise<void> {
    await this.fh.truncate(this.state.to - this.state.from + 1);
    await this.fh.close();
    await fsp.rename(FileSink.partialPath(this.path), this.path);
    await fsp.rm(`${FileSink.partialPath(this.path)}.json`, { force: true });
  }

  /** Closes FILE.partial (kept for a later run unless finished) and releases the lock. */
  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
    await this.unlock().catch(() => {});
  }
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
