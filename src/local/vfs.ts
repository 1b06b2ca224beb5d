// The little filesystem glacier-local keeps its vaults in: real files under --data DIR, or a map in memory
// (--memory). The store above it is the same code for both. Every write that makes something visible is a
// rename of a finished, fsynced temporary file, so after a crash an object is there whole or not at all.
import { createReadStream, promises as fsp } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { lockDataDir, type DataLock } from './data-lock.js';

export interface BlobWriter {
  /** Resolves once the bytes are accepted (respects backpressure). */
  write(chunk: Buffer): Promise<void>;
  /** Flushes to stable storage and renames the blob to `path`. */
  commit(path: string): Promise<void>;
  discard(): Promise<void>;
}

export interface WriterOptions {
  /** Create `dir` when missing (default). When false, a missing `dir` rejects with ENOENT: a part body must not
   *  recreate the folder of an upload that a Complete or Abort has just moved away. */
  create?: boolean;
}

export interface Vfs {
  writer(dir: string, opts?: WriterOptions): Promise<BlobWriter>;
  writeJson(path: string, value: unknown): Promise<void>;
  readJson<T>(path: string): Promise<T | undefined>;
  list(dir: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  /** Makes `to` share `from`'s bytes (a hard link on disk) so deleting one leaves the other readable. */
  link(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Removes a folder tree so that it is gone at once (moved aside first, then deleted): a writer opening a
   *  file in it afterwards gets ENOENT instead of a half-deleted folder. */
  removeTree(path: string): Promise<void>;
  read(path: string, start: number, endIncl: number): Readable;
  /** Takes the store's exclusive lock (a --data folder serves one process); throws DataDirBusyError. */
  lock?(): Promise<DataLock>;
}

const TMP_PREFIX = '.tmp-';
const tmpName = () => `${TMP_PREFIX}${randomBytes(8).toString('hex')}`;
/** A file a writer had not renamed into place yet: after a crash, garbage. */
export const isTempName = (name: string) => name.startsWith(TMP_PREFIX);
/** Folder of trees being deleted (see removeTree); emptied at start. */
export const TRASH = 'trash';

// Data files are private to the server's user: 0600 files in 0700 folders (umask can only narrow these).
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const mkdirp = (dir: string) => fsp.mkdir(dir, { recursive: true, mode: DIR_MODE });

export class DiskVfs implements Vfs {
  constructor(private readonly root: string) {}

  lock(): Promise<DataLock> {
    return lockDataDir(this.root);
  }

  private p(path: string): string {
    return join(this.root, path);
  }

  async writer(dir: string, opts: WriterOptions = {}): Promise<BlobWriter> {
    if (opts.create !== false) await mkdirp(this.p(dir));
    const tmp = this.p(join(dir, tmpName()));
    const fh = await fsp.open(tmp, 'wx', FILE_MODE);
    let open = true;
    const close = async () => {
      if (open) {
        open = false;
        await fh.close();
      }
    };
    return {
      write: async (chunk) => {
        await fh.write(chunk);
      },
      commit: async (path) => {
        // fsync before the rename: otherwise a crash could expose a renamed file whose bytes never reached disk.
        await fh.sync();
        await close();
        await mkdirp(dirname(this.p(path)));
        await fsp.rename(tmp, this.p(path));
      },
      discard: async () => {
        await close().catch(() => {});
        await fsp.rm(tmp, { force: true });
      },
    };
  }

  async writeJson(path: string, value: unknown): Promise<void> {
    const full = this.p(path);
    await mkdirp(dirname(full));
    const tmp = join(dirname(full), tmpName());
    const fh = await fsp.open(tmp, 'wx', FILE_MODE);
    try {
      try {
        await fh.writeFile(JSON.stringify(value));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, full);
    } catch (e) {
      // A full disk (ENOSPC) must not leave a half-written temporary file behind.
      await fsp.rm(tmp, { force: true }).catch(() => {});
      throw e;
    }
  }

  async readJson<T>(path: string): Promise<T | undefined> {
    try {
      return JSON.parse(await fsp.readFile(this.p(path), 'utf8')) as T;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return await fsp.readdir(this.p(dir));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  }

  async rename(from: string, to: string): Promise<void> {
    await mkdirp(dirname(this.p(to)));
    await fsp.rename(this.p(from), this.p(to));
  }

  async link(from: string, to: string): Promise<void> {
    await mkdirp(dirname(this.p(to)));
    await fsp.rm(this.p(to), { force: true });
    await fsp.link(this.p(from), this.p(to));
  }

  async remove(path: string): Promise<void> {
    await fsp.rm(this.p(path), { recursive: true, force: true });
  }

  async removeTree(path: string): Promise<void> {
    const aside = join(TRASH, randomBytes(8).toString('hex'));
    try {
      await this.rename(path, aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    // The trash folder itself stays: removing it could race another removal's rename into it.
    await this.remove(aside).catch(() => {}); // what is left is emptied at the next start
  }

  read(path: string, start: number, endIncl: number): Readable {
    return createReadStream(this.p(path), { start, end: endIncl, highWaterMark: 1024 * 1024 });
  }
}

/** Files as lists of buffers; directories implied by paths. */
export class MemoryVfs implements Vfs {
  private readonly files = new Map<string, Buffer[]>();
  private readonly json = new Map<string, string>();

  async writer(dir: string, opts: WriterOptions = {}): Promise<BlobWriter> {
    const chunks: Buffer[] = [];
    if (opts.create === false && (await this.list(dir)).length === 0) throw Object.assign(new Error(`no such folder: ${dir}`), { code: 'ENOENT' });
    return {
      write: async (chunk) => {
        chunks.push(Buffer.from(chunk));
      },
      commit: async (path) => {
        this.files.set(path, chunks);
      },
      discard: async () => {
        chunks.length = 0;
      },
    };
  }

  async writeJson(path: string, value: unknown): Promise<void> {
    this.json.set(path, JSON.stringify(value));
  }

  async readJson<T>(path: string): Promise<T | undefined> {
    const s = this.json.get(path);
    return s === undefined ? undefined : (JSON.parse(s) as T);
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const names = new Set<string>();
    for (const k of [...this.files.keys(), ...this.json.keys()]) {
      if (k.startsWith(prefix)) names.add(k.slice(prefix.length).split('/')[0]);
    }
    return [...names];
  }

  async rename(from: string, to: string): Promise<void> {
    for (const map of [this.files, this.json] as Map<string, unknown>[]) {
      for (const [k, v] of [...map]) {
        if (k === from || k.startsWith(`${from}/`)) {
          map.delete(k);
          map.set(to + k.slice(from.length), v);
        }
      }
    }
  }

  async link(from: string, to: string): Promise<void> {
    const f = this.files.get(from);
    if (!f) throw Object.assign(new Error(`no such file: ${from}`), { code: 'ENOENT' });
    this.files.set(to, f);
  }

  async remove(path: string): Promise<void> {
    for (const map of [this.files, this.json] as Map<string, unknown>[]) {
      for (const k of [...map.keys()]) if (k === path || k.startsWith(`${path}/`)) map.delete(k);
    }
  }

  async removeTree(path: string): Promise<void> {
    await this.remove(path);
  }

  read(path: string, start: number, endIncl: number): Readable {
    const chunks = this.files.get(path) ?? [];
    return Readable.from(
      (function* () {
        let off = 0;
        for (const c of chunks) {
          const s = Math.max(start - off, 0);
          const e = Math.min(endIncl + 1 - off, c.length);
          if (s < e) yield c.subarray(s, e);
          off += c.length;
          if (off > endIncl) break;
        }
      })(),
      { objectMode: false },
    );
  }
}
