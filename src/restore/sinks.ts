// Where restored archives go: a folder, or a command run per archive. (S3 is in s3-sink.ts.) A sink is handed
// only bytes whose piece matched Glacier's tree hash, in order; `finish` is called once the whole archive
// matched too, and `abort` when it did not or the run stops.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants as C, existsSync, fchmodSync, fdatasync, fsync, futimesSync, linkSync, lstatSync, mkdirSync, openSync, promises as fsp, readdirSync, readFileSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ServiceError } from '../core/errors.js';
import type { HashPool } from '../core/hash-pool.js';
import { MiB, TreeCombiner, TreeHasher } from '../core/tree-hash.js';
import { FileSink } from './seam.js';
import { createExclusive, processAlive } from '../core/files.js';
import { keyOf } from './journal.js';
import type { PositionalSink } from '../retrieve/download.js';

/** One archive on its way out. */
export interface Item {
  archiveId: string;
  name: string;
  size: number;
  treeHash: string;
  description: string;
  creationDate: string;
  /** Last modification time the description carries, ms since the epoch (negative before 1970). */
  mtime?: number;
  /** A folder marker (`photos/` with no bytes): the folder is made, nothing is retrieved. */
  folder?: boolean;
  /** How the client that uploaded it transformed the bytes (e.g. FastGlacier's "compressed+encrypted"). */
  encoding?: string;
}

export interface ArchiveWriter {
  /** Bytes already held from an earlier job for the same archive (a multiple of 1 MiB); the download starts there. */
  resumed: number;
  /** Tree hash state of those bytes. */
  combiner?: TreeCombiner;
  write(data: Buffer, start: number): Promise<void>;
  /** A destination written in place, pieces verified as they land (see download.ts PositionalSink). */
  positional?: PositionalSink;
  finish(): Promise<void>;
  abort(): Promise<void>;
  /** The run was interrupted or the job expired: keep what is verified for the next job to continue (absent: `abort` is called). */
  suspend?(): Promise<void>;
  /**
   * The job expired, the run goes on: keep what was handed over for the next job of this run to continue (a
   * command's stdin stays open); `open` then gives this writer again, `resumed` after it. Absent: as `suspend`.
   */
  pause?(): Promise<void>;
  /** After `suspend` or `pause`: the bytes kept for the next job (absent: `resumed` plus the bytes written). */
  kept?(): number;
  /**
   * After the job expired and `suspend` or `pause`: a warning on what the expiry cost and which option changes it,
   * or an error when another job would not do better (the archive then fails for this run, what is kept stays).
   */
  afterExpiry?(): { warning?: string; error?: string } | undefined;
}

export interface ArchiveSink {
  /** What the records and --dry-run show as the destination of an archive. */
  where(item: Item): string;
  open(item: Item, jobId: string, pool: HashPool): Promise<ArchiveWriter>;
  /** Whether the destination already holds this archive, whole and verified (a run killed after it finished it). */
  holds(item: Item): Promise<boolean>;
  /** Cleans what a killed run left half done. */
  recover?(): Promise<void>;
  /** Why this sink can never take this archive (then no job is started for it, in this run or any later), if so. */
  refuses?(item: Item): string | undefined;
  /** Whether the destination holds `name` for something else than this archive (see DirSink.taken, S3Sink.taken). */
  taken?(name: string, folder: boolean, item: { archiveId?: string; size: number; treeHash: string }): Promise<boolean>;
  /** Makes a folder marker's folder. */
  makeFolder?(item: Item): Promise<void>;
  /** How the destination compares names (identity unless it is case-insensitive). */
  readonly fold?: (s: string) => string;
  /** The run ends: what a writer kept open for a next job that never came (a command waiting on stdin) is stopped. */
  close?(): Promise<void>;
}

/** `--to DIR`: DIR/NAME.partial (with NAME.partial.json recording the verified prefix), linked to NAME when whole. */
export class DirSink implements ArchiveSink {
  /**
   * How DIR compares names: identity, or lower case when DIR is case-insensitive (detect). Names are made unique
   * under it, so that two archives never share one file.
   */
  readonly fold: (s: string) => string;
  /** Names are folded for a folder that is case-sensitive in fact (the test hook): DIR is read to compare them. */
  private readonly simulated: boolean;

  constructor(
    readonly dir: string,
    o: { caseInsensitive?: boolean; simulated?: boolean } = {},
  ) {
    this.fold = o.caseInsensitive ? (s) => s.normalize('NFC').toLowerCase() : (s) => s;
    this.simulated = Boolean(o.caseInsensitive && o.simulated);
  }

  /**
   * Creates DIR (with the umask's mode) and finds out whether it compares names case-insensitively (a probe file
   * created and looked up in upper case), as on macOS or Windows volumes. GLACIER_RESTORE_TEST_FOLD_CASE=1 makes a
   * case-sensitive folder behave as a case-insensitive one for names (a test hook: the suite's folders are
   * case-sensitive).
   */
  static async open(dir: string): Promise<DirSink> {
    await fsp.mkdir(dir, { recursive: true });
    const simulated = process.env.GLACIER_RESTORE_TEST_FOLD_CASE === '1';
    let insensitive = simulated;
    if (!insensitive) {
      const probe = `.glacier-restore-case-${randomBytes(6).toString('hex')}`;
      const fh = await createExclusive(join(dir, probe));
      await fh.close();
      try {
        insensitive = (await fsp.lstat(join(dir, probe.toUpperCase())).catch(() => null)) !== null;
      } finally {
        await fsp.unlink(join(dir, probe)).catch(() => {});
      }
    }
    return new DirSink(dir, { caseInsensitive: insensitive, simulated });
  }

  where(item: Item): string {
    return join(this.dir, item.name);
  }

  private renamer?: Renamer;
  /** `ARCHIVE-ID\0NAME` when taken() last found nothing at NAME for that archive (see holds). */
  private absent: string | undefined;
  /** Folders (relative to DIR) whose temp files of killed runs this process removed (see sweepTemps). */
  private readonly swept = new Set<string>();

  /** How an archive whose name another process took meanwhile gets its next free name (see Renamer). */
  renameWith(r: Renamer): void {
    this.renamer = r;
  }

  /**
   * The archive's next free name (see Renamer) with its folder opened below DIR (no link followed): `path` names
   * the file through the open folder; `close` closes it. Throws when the renamer does.
   */
  private async nextPlace(item: Item): Promise<{ name: string; path: string; close(): Promise<void> }> {
    const name = await this.renamer!.next(item);
    const parts = name.split('/');
    const nd = await openBelow(this.dir, parts.slice(0, -1), true);
    return { name, path: `${nd.path}/${parts[parts.length - 1]}`, close: nd.close };
  }

  /**
   * Whether DIR holds `name` for something else than this archive: a file of other bytes (another archive's,
   * or the user's), a link, or a folder where a file is wanted (names compared as DIR compares them). A file of
   * this archive's size and tree hash is its own (a run whose state was lost).
   */
  async taken(name: string, folder: boolean, item: { archiveId?: string; size: number; treeHash: string }): Promise<boolean> {
    const parts = name.split('/');
    const d = await openBelow(this.dir, parts.slice(0, -1), false).catch(() => null);
    if (!d) return false; // no such folder yet (or a link on the way, refused when the archive is written)
    try {
      let base = parts[parts.length - 1];
      let st = lstatOrNull(`${d.path}/${base}`);
      // A case-insensitive folder finds `Photo.JPG` when asked for `photo.jpg` itself; the simulated one is read.
      if (!st && this.simulated) {
        const entry = (await fsp.readdir(d.path)).find((e) => this.fold(e) === this.fold(base));
        if (entry !== undefined) {
          base = entry;
          st = lstatOrNull(`${d.path}/${base}`);
        }
      }
      // A link or anything but a plain file at NAME.partial or NAME.partial.json (planted by another user) holds
      // the name as NAME itself would: it is never followed, and the archive takes its next free name.
      if (!folder) {
        const partialBase = Buffer.byteLength(`${base}.partial.json.tmp`) > 255 ? undefined : base;
        if (partialBase !== undefined) {
          const partial = FileSink.partialPath(`${d.path}/${partialBase}`);
          for (const f of [partial, `${partial}.json`]) {
            const ps = lstatOrNull(f);
            if (ps && !ps.isFile()) return true;
          }
        }
      }
      if (!st) {
        // Nothing at NAME: holds() for this archive at this name, asked next, needs no look of its own.
        if (!folder && item.archiveId !== undefined) this.absent = `${item.archiveId}\0${name}`;
        return false;
      }
      if (folder) return !st.isDirectory();
      if (!st.isFile() || st.size !== item.size) return true;
      return (await treeHashOfFile(`${d.path}/${base}`)) !== item.treeHash;
    } finally {
      await d.close();
    }
  }

  /** A folder marker: the folder (and its parents) with the umask's mode, no link followed. */
  async makeFolder(item: Item): Promise<void> {
    const d = await openBelow(this.dir, item.name.split('/'), true);
    await d.close();
  }

  async open(item: Item, jobId: string, pool: HashPool): Promise<ArchiveWriter> {
    const parts = item.name.split('/');
    const base = parts[parts.length - 1];
    const d = await openBelow(this.dir, parts.slice(0, -1), true);
    // A name too long to carry `.partial.json.tmp` within NAME_MAX is downloaded under a short name of its own.
    const partialBase = Buffer.byteLength(`${base}.partial.json.tmp`) > 255 ? `.glacier-restore-${keyOf(item.archiveId)}` : base;
    const final = `${d.path}/${base}`;
    const shown = (e: unknown) => {
      if (e instanceof Error) e.message = e.message.split(d.path).join(d.shown);
      return e;
    };
    // An archive of one piece with nothing at NAME.partial (no earlier download of it to continue, no link
    // planted there) is written to a temp file of its own and linked into place: no NAME.partial, no record of
    // its verified prefix, no lock (see openOnePiece).
    if (this.renamer && item.size > 0 && item.size <= MiB) {
      if (!lstatOrNull(FileSink.partialPath(`${d.path}/${partialBase}`))) return this.openOnePiece(item, d, parts.slice(0, -1).join('/'), base, shown);
    }
    // A link (or anything but a plain file) planted at NAME.partial or NAME.partial.json after the name was given:
    // never followed; the archive takes its next free name (recorded in the state) and is written there.
    if (this.renamer && partialBase === base) {
      for (const f of [FileSink.partialPath(`${d.path}/${base}`), `${FileSink.partialPath(`${d.path}/${base}`)}.json`]) {
        const ps = await fsp.lstat(f).catch(() => null);
        if (ps && !ps.isFile()) {
          const name = await this.renamer.next(item).finally(() => d.close());
          await this.renamer.record(item, name);
          item.name = name;
          return this.open(item, jobId, pool);
        }
      }
    }
    let opened;
    try {
      // Any job for this archive continues its verified prefix (checked again against its recorded tree hashes).
      // A partial kept whole (its name was taken at the last moment) is continued too: nothing left to fetch.
      opened = await FileSink.open(`${d.path}/${partialBase}`, { jobId, vault: '', from: 0, to: item.size - 1, archiveId: item.archiveId, archiveTreeHash: item.treeHash, first: 0 }, { pool, canResumeAt: (v) => v % MiB === 0 || v === item.size });
    } catch (e) {
      await d.close();
      throw shown(e);
    }
    const { sink, resumed, combiner } = opened;
    const partial = FileSink.partialPath(`${d.path}/${partialBase}`);
    const mode = 0o666 & ~process.umask();
    let kept = false; // NAME.partial holds the verified archive and stays (NAME was taken meanwhile)
    return {
      resumed,
      combiner: resumed ? combiner : undefined,
      write: (data, start) => sink.write(data, start),
      positional: sink.positional,
      finish: async () => {
        let renamed: { name: string; close(): Promise<void> } | undefined;
        let to = final;
        let closed = false;
        try {
          // Another process made NAME meanwhile (after it was recorded for this archive): NAME is left as it is,
          // and the archive takes its next free name (recorded in the state), as for a name another archive holds.
          if (await heldByOther(final, item)) {
            const other = join(this.dir, item.name);
            const moved = this.renamer ? await this.nextPlace(item).catch((e2: Error) => e2) : new Error('');
            if (moved instanceof Error) {
              kept = true;
              closed = true;
              await sink.close(); // NAME.partial and its record stay, claiming every verified byte
              const why = moved.message ? ` (no other name: ${(shown(moved) as Error).message})` : '';
              throw new ServiceError(`${other} appeared meanwhile and holds something else; it was left as it is, and the verified archive is kept as ${join(d.shown, partialBase)}.partial${why}: move ${other} away and run the same command again`);
            }
            renamed = moved;
            to = moved.path;
          }
          // Never over a file this run did not make for this archive: link(2) fails if the name exists.
          await sink.finish({ mode, mtime: item.mtime === undefined ? undefined : new Date(item.mtime), noReplace: true, to });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw shown(e);
          if (!(await holdsArchive(to, item))) {
            // Made by another process between the look and the link: the verified bytes are kept, never deleted.
            kept = true;
            await fsp.chmod(partial, 0o600).catch(() => {});
            const other = renamed ? join(this.dir, renamed.name) : join(this.dir, item.name);
            throw new ServiceError(`${other} appeared meanwhile and holds something else; it was left as it is, and the verified archive is kept as ${join(d.shown, partialBase)}.partial: move ${other} away and run the same command again`);
          }
          await fsp.rm(partial, { force: true }); // the name holds this archive already (an earlier run's)
          await fsp.rm(`${partial}.json`, { force: true });
        } finally {
          if (!closed) await sink.close(); // releases NAME.partial.lock
          await renamed?.close();
        }
        if (renamed) {
          await this.renamer!.record(item, renamed.name);
          item.name = renamed.name;
        }
        await d.sync().finally(() => d.close());
      },
      suspend: () => sink.close().finally(() => d.close()), // NAME.partial and its record stay: the same command resumes after them
      abort: async () => {
        if (kept) return void (await d.close()); // verified bytes a message points to are never deleted
        await sink.close();
        await fsp.rm(partial, { force: true });
        await fsp.rm(`${partial}.json`, { force: true });
        await d.close();
      },
    };
  }

  /**
   * The writer of an archive that comes in one piece (at most 1 MiB): its bytes go to a private temp file of this
   * process (`.glacier-restore-HOSTHASH-PID-RANDOM.tmp` beside NAME: hostTag(), the pid, 12 random hex digits;
   * O_EXCL|O_NOFOLLOW, 0600), written in place as
   * they arrive; once the archive is verified whole it gets its mode and mtime, is fdatasync'd, linked to NAME
   * (link(2): never over anything) and the folder fsync'd. Nothing of it is kept when the run stops or the job
   * expires: the one piece is fetched again, with the same job when it is still there. A temp file of a killed
   * run is removed by the next process that writes into the folder (sweepTemps). NAME taken meanwhile by
   * something else: the archive takes its next free name (the renamer), as in open.
   */
  private async openOnePiece(item: Item, d: Folder, rel: string, base: string, shown: (e: unknown) => unknown): Promise<ArchiveWriter> {
    let fd: number;
    let tmp: string;
    try {
      await this.sweepTemps(d, rel);
      tmp = `${d.path}/.glacier-restore-${hostTag()}-${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
      fd = openSync(tmp, C.O_RDWR | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
    } catch (e) {
      await d.close();
      throw shown(e);
    }
    const final = `${d.path}/${base}`;
    let open = true;
    const writeAtSync = (data: Uint8Array, start: number) => {
      const end = Math.min(start + data.length, item.size);
      for (let off = 0, at = start; at < end; ) {
        const n = writeSync(fd, data, off, end - at, at);
        off += n;
        at += n;
      }
    };
    const positional: PositionalSink = {
      writeAt: async (data, start) => writeAtSync(data, start),
      writeAtSync,
      verified: async () => {}, // nothing is recorded: what a stopped run wrote is fetched again
    };
    const discard = async () => {
      if (open) closeSync(fd);
      open = false;
      try {
        unlinkSync(tmp);
      } catch {
        // gone already
      }
      await d.close();
    };
    return {
      resumed: 0,
      positional,
      write: async (data, start) => writeAtSync(data, start),
      finish: async () => {
        let renamed: { name: string; path: string; close(): Promise<void> } | undefined;
        try {
          fchmodSync(fd, 0o666 & ~process.umask());
          if (item.mtime !== undefined) futimesSync(fd, new Date(item.mtime), new Date(item.mtime));
          await new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
          closeSync(fd);
          open = false;
          try {
            linkSync(tmp, final);
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
            // Something is at NAME: this archive (an earlier run's, or another process's), or something else made
            // there after the name was recorded, which is left as it is: the archive takes its next free name.
            if (!(await holdsArchive(final, item))) {
              const moved = await this.nextPlace(item).catch((e2: Error) => e2);
              if (moved instanceof Error) throw new ServiceError(`${join(this.dir, item.name)} appeared meanwhile and holds something else; it was left as it is (no other name: ${(shown(moved) as Error).message}): move it away and run the same command again`);
              renamed = moved;
              linkSync(tmp, moved.path);
            }
          }
          unlinkSync(tmp);
          await d.sync();
        } catch (e) {
          throw shown(e);
        } finally {
          await renamed?.close();
        }
        if (renamed) {
          await this.renamer!.record(item, renamed.name);
          item.name = renamed.name;
        }
        await d.close();
      },
      abort: discard,
    };
  }

  /**
   * Removes, once per folder and process, the temp files openOnePiece left in a killed process: those naming this
   * host and a process that is gone. The folder is read as a stream (memory flat however many files it holds).
   */
  private async sweepTemps(d: Folder, rel: string): Promise<void> {
    if (this.swept.has(rel)) return;
    this.swept.add(rel);
    const dir = await fsp.opendir(d.path).catch(() => null);
    if (!dir) return;
    const tag = hostTag();
    for await (const e of dir) {
      const m = /^\.glacier-restore-([0-9a-f]{8})-(\d+)-[0-9a-f]{12}\.tmp$/.exec(e.name);
      if (!m || m[1] !== tag) continue;
      const pid = Number(m[2]);
      if (pid !== process.pid && !processAlive(pid)) await fsp.unlink(`${d.path}/${e.name}`).catch(() => {});
    }
  }

  async holds(item: Item): Promise<boolean> {
    // taken() just found nothing at this archive's name (the planner names an archive, then asks this).
    const looked = this.absent;
    this.absent = undefined;
    if (looked === `${item.archiveId}\0${item.name}`) return false;
    const parts = item.name.split('/');
    const base = parts[parts.length - 1];
    const d = await openBelow(this.dir, parts.slice(0, -1), false).catch(() => null);
    if (!d) return false;
    try {
      const path = `${d.path}/${base}`;
      const st = lstatOrNull(path);
      if (!st?.isFile() || st.size !== item.size) return false;
      if ((await treeHashOfFile(path)) !== item.treeHash) return false;
      // A run killed between the link and its cleanup leaves the partial file, its record and its lock.
      const partialBase = Buffer.byteLength(`${base}.partial.json.tmp`) > 255 ? `.glacier-restore-${keyOf(item.archiveId)}` : base;
      const partial = FileSink.partialPath(`${d.path}/${partialBase}`);
      for (const f of [partial, `${partial}.json`, `${partial}.lock`]) await fsp.rm(f, { force: true });
      return true;
    } finally {
      await d.close();
    }
  }
}

const PROC_FD = existsSync('/proc/self/fd');

let tag: string | undefined;
/**
 * The first 8 hex digits of the SHA-256 of this host's name: a temp file names its host, so no other host's is ever
 * removed here.
 */
function hostTag(): string {
  return (tag ??= createHash('sha256').update(hostname()).digest('hex').slice(0, 8));
}

/**
 * The folder DIR/REL... opened without following a symbolic link in any component below DIR (each opened
 * O_DIRECTORY|O_NOFOLLOW from the one before; created with the umask's mode when `create`). `path` names the
 * folder through its open descriptor (/proc/self/fd/N on Linux), so that what is done under it happens in that
 * very folder even if a component is swapped for a link meanwhile; `shown` is its path for messages. Throws
 * ServiceError for a link or a file on the way, or the system error (ENOENT without `create`).
 */
/** A folder opened below DIR (openBelow): `path` names it through its descriptor; `sync` fsyncs it. */
interface Folder {
  path: string;
  shown: string;
  sync(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opened with synchronous calls: each is a few microseconds of the kernel's on a local disk, where a call through
 * libuv's thread pool costs several times that in hand-offs between threads, for every archive; a call that
 * waits on the disk (fsync) stays asynchronous.
 */
async function openBelow(root: string, rel: string[], create: boolean): Promise<Folder> {
  let fd = openSync(root, C.O_RDONLY | C.O_DIRECTORY);
  let shown = root;
  const at = (f: number, p: string) => (PROC_FD ? `/proc/self/fd/${f}` : p);
  try {
    for (const c of rel) {
      const p = `${at(fd, shown)}/${c}`;
      const openIt = () => openSync(p, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
      let next: number;
      try {
        next = openIt();
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && create) {
          try {
            mkdirSync(p);
          } catch (m) {
            if ((m as NodeJS.ErrnoException).code !== 'EEXIST') throw m;
          }
          try {
            next = openIt();
          } catch (e2) {
            throw notFolder(e2, join(shown, c));
          }
        } else throw notFolder(e, join(shown, c));
      }
      closeSync(fd);
      fd = next;
      shown = join(shown, c);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  const h = fd;
  let open = true;
  return {
    path: at(h, shown),
    shown,
    sync: () => new Promise<void>((resolve, reject) => fsync(h, (e) => (e ? reject(e) : resolve()))),
    close: async () => {
      if (open) closeSync(h);
      open = false;
    },
  };
}

/** lstat that answers null for a name that does not exist (or cannot be looked at). */
function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

function notFolder(e: unknown, path: string): unknown {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'EMLINK') return new ServiceError(`${path} is a symbolic link or not a folder; glacier-restore follows no link below --to DIR: remove it or restore elsewhere`);
  return e;
}

/**
 * Gives an archive a new name when the destination took its own meanwhile: `next` claims the next free name
 * (not yet recorded), `record` records it in the state once the archive is there.
 */
export interface Renamer {
  next(item: Item): Promise<string>;
  record(item: Item, name: string): Promise<void>;
}

/** Whether something other than this archive is at `path` (a file of other bytes, a link, a folder). */
async function heldByOther(path: string, item: { size: number; treeHash: string }): Promise<boolean> {
  const st = await fsp.lstat(path).catch(() => null);
  return st !== null && !(await holdsArchive(path, item));
}

/** Whether `path` is a regular file holding this archive (its size and tree hash; never read through a link). */
async function holdsArchive(path: string, item: { size: number; treeHash: string }): Promise<boolean> {
  const st = await fsp.lstat(path).catch(() => null);
  return Boolean(st?.isFile() && st.size === item.size && (await treeHashOfFile(path).catch(() => '')) === item.treeHash);
}

/** The tree hash of the file at `path` (never read through a link). */
async function treeHashOfFile(path: string): Promise<string> {
  const h = new TreeHasher();
  const fh = await fsp.open(path, C.O_RDONLY | C.O_NOFOLLOW);
  for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest().treeHash;
}


/** How long an `--exec` command stopped with SIGTERM has before SIGKILL (ms). */
export const EXEC_GRACE_MS = 10_000;

/**
 * `--exec CMD`: CMD run by /bin/sh per archive, its bytes on stdin, GLACIER_* in its environment, its stdout
 * sent to our stderr (our stdout carries the records). Done when CMD exits 0 after reading to the end. An archive
 * whose job expires part way keeps its command and stdin open (paused) while the next job of the run is started;
 * that job's output is read from the offset reached and written on into the same stdin, and the whole archive's
 * tree hash is checked at its end (a mismatch: CMD gets SIGTERM, never the end of its stdin).
 */
export class ExecSink implements ArchiveSink {
  /** Commands whose archive's job expired part way, stdin open, waiting for the next job (by archive id). */
  private readonly paused = new Map<string, ArchiveWriter>();

  constructor(
    readonly command: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  where(item: Item): string {
    return `| ${this.command} (GLACIER_NAME=${item.name})`;
  }

  /** The environment cannot carry a NUL: a description holding one can never be handed to CMD. */
  refuses(item: Item): string | undefined {
    if (item.description.includes('\0')) return 'its description holds a NUL character, which no environment variable (GLACIER_DESCRIPTION) can carry, whatever its name; restore it with --to DIR or --to s3://...';
    return undefined;
  }

  async holds(): Promise<boolean> {
    return false; // only CMD knows; a run killed between CMD's exit and the record hands the archive over again
  }

  /** The run ends: commands still waiting for a next job of their archive get SIGTERM (then SIGKILL), never an end of stdin. */
  async close(): Promise<void> {
    const waiting = [...this.paused.values()];
    this.paused.clear();
    await Promise.allSettled(waiting.map((w) => w.abort()));
  }

  async open(item: Item): Promise<ArchiveWriter> {
    const paused = this.paused.get(item.archiveId);
    if (paused) {
      this.paused.delete(item.archiveId);
      return paused;
    }
    // CMD leads a process group of its own (detached): stopping it stops what it started too.
    const child = spawn('/bin/sh', ['-c', this.command], {
      detached: true,
      stdio: ['pipe', 2, 2],
      env: {
        ...this.env,
        GLACIER_ARCHIVE_ID: item.archiveId,
        GLACIER_NAME: item.name,
        GLACIER_SIZE: String(item.size),
        GLACIER_TREE_HASH: item.treeHash,
        GLACIER_DESCRIPTION: item.description,
        GLACIER_CREATION_DATE: item.creationDate,
      },
    });
    let exitError: Error | null = null;
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (e) => {
        exitError = e;
        resolve(null);
      });
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    });
    let stdinError: Error | null = null;
    child.stdin!.on('error', (e) => (stdinError = e));
    const failed = async (what: string) => {
      const code = await exited;
      return new ServiceError(`${what}: the command exited ${code ?? (exitError as Error | null)?.message ?? 'abnormally'} for ${item.archiveId}`);
    };
    let pos = 0; // bytes handed to the command
    const w: ArchiveWriter = {
      resumed: 0,
      // The archive's running tree hash, kept with the command across jobs: the last job checks the whole archive.
      combiner: new TreeCombiner(),
      write: async (data, start) => {
        if (start !== pos) throw new Error(`bytes at ${start} handed to the command, expected at ${pos}`);
        if (stdinError || child.stdin!.destroyed) throw await failed('the command stopped reading');
        pos += data.length;
        const ok = child.stdin!.write(Buffer.from(data)); // the download reuses its buffer once write returns
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              child.stdin!.off('drain', done);
              child.stdin!.off('close', done);
              resolve();
            };
            child.stdin!.once('drain', done);
            child.stdin!.once('close', done);
          });
        }
        if (stdinError) throw await failed('the command stopped reading');
      },
      finish: async () => {
        child.stdin!.end();
        const code = await exited;
        if (code !== 0) throw await failed('not restored');
      },
      abort: async () => {
        // Killed before its stdin ends, so the command never sees a clean end of partial data. Its whole process
        // group gets SIGTERM (what CMD started too), and SIGKILL after EXEC_GRACE_MS if any of it is left then.
        signalGroup(child.pid, 'SIGTERM');
        child.stdin!.destroy();
        const deadline = Date.now() + EXEC_GRACE_MS;
        while (groupAlive(child.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (groupAlive(child.pid)) signalGroup(child.pid, 'SIGKILL');
        await exited;
      },
      // The job expired: the command keeps its stdin; the next job of this archive continues after `pos`.
      pause: async () => {
        w.resumed = pos;
        this.paused.set(item.archiveId, w);
      },
      kept: () => pos,
    };
    return w;
  }
}

/** Sends `signal` to the process group `pid` leads (a detached child); nothing when it is gone. */
function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * Whether any live process of the group `pid` leads is left. kill(-pid, 0) counts zombies too: a member that has
 * ended but is not reaped yet (its parent gone, it waits for init, and as PID 1 of a container we would be that
 * init, which never reaps it), so on Linux /proc says whether a member that is not a zombie is left.
 */
function groupAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(-pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true; // no /proc: the group is taken as alive while kill says so
  }
  for (const e of entries) {
    if (e.charCodeAt(0) > 57) continue; // not a process id
    let stat: string;
    try {
      stat = readFileSync(`/proc/${e}/stat`, 'latin1');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so fields are read after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[2]) === pid && f[0] !== 'Z' && f[0] !== 'X') return true;
  }
  return false;
}
