// glacier-restore's state: an append-only journal of JSON lines, each batch fdatasync'd before the step it
// records is taken as done, replayed and compacted at start. Records no step waits on (an archive's name, its
// job) are queued and written with the next batch (group commit: at most GROUP_MS later, or GROUP_MAX records);
// a step that needs them on disk first (an archive linked into place, a record printed) waits for durable().
//
// Why a journal and not SQLite: the only SQLite for Node 20 here is better-sqlite3, a native module (v12 needs a
// compiler and headers downloaded at install; v13 needs Node 22), and Node 20 has no node:sqlite. A journal needs
// nothing, and its rules are few: a record is one line; the last line may be cut by kill -9 and is then ignored;
// a step is only taken once the line before it is on disk; compaction writes a new file and renames it in.
//
// Memory at 2,000,000 archives: one 22-character key per archive done (a hash of its id), and full records only
// for the archives with a job outstanding (at most --max-jobs). The bytes of the archives done are one sum: each
// `done` record carries its archive's size, and compaction writes the sum (`done-bytes`) after the keys.
import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp, constants as C, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { ServiceError, UsageError } from '../core/errors.js';
import { acquireLock, createTemp, LockHeldError, processAlive as alive, syncDir } from '../core/files.js';

export interface ArchiveRecord {
  archiveId: string;
  size: number;
  treeHash: string;
  description: string;
  creationDate: string;
}

/**
 * A part of an archive's S3 upload that S3 confirmed, recorded in order (parts 1..n all are): the archive byte
 * after it (`end`), its SHA-256 (base64, as S3 lists it), the ETag S3 gave it and, for the last recorded one,
 * the archive's tree-hash state after it (`roots`: the subtree roots, hex, concatenated; see TreeCombiner.roots).
 */
export interface PartRecord {
  n: number;
  end: number;
  sha: string;
  etag?: string;
}

export interface JobRecord {
  archive: ArchiveRecord;
  name: string;
  mtime?: number;
  jobId: string;
  /** When the job was started (ms since the epoch). */
  at: number;
}

/** An archive refused for good: why, and the input line's size and tree hash it is about (when it is about them). */
export interface Refusal {
  reason: string;
  size?: number;
  treeHash?: string;
  /** Refused because the vault's own job contradicts the input line (status integrity), not by the sink. */
  integrity?: boolean;
}

type Line =
  | { t: 'head'; v: 1; vault: string; target: string }
  | { t: 'job'; k: string; a: ArchiveRecord; n: string; m?: number; j: string; at: number }
  | { t: 'drop'; k: string; j: string }
  | { t: 'done'; k: string; s?: number }
  | { t: 'done-bytes'; b: number }
  | { t: 'start'; at: number; s: number }
  | { t: 'upload'; k: string; u: string; key: string; s?: number }
  | { t: 'upload-end'; k: string; u: string }
  | { t: 'part'; k: string; u: string; n: number; e: number; c: string; g?: string; r?: string }
  | { t: 'inventory'; j: string; file?: string }
  | { t: 'name'; k: string; n: string }
  | { t: 'refused'; k: string; e: string; s?: number; h?: string; x?: 'integrity' }
  | { t: 'missing'; k: string }
  | { t: 'rename'; k: string; n: string }
  | { t: 'stats'; s: RunSnapshot };

/**
 * Where a run stood, written every few seconds and at its end so another shell (`--status`) can read it without
 * the vault. Counts are of this state's archives; `at` and `startedAt` are ms since the epoch.
 */
export interface RunSnapshot {
  at: number;
  pid: number;
  startedAt: number;
  /** Archives seen in the input so far, and whether it was read to its end. */
  archives: number;
  inputDone: boolean;
  bytes: number;
  bytesDone: number;
  /** Bytes moved by this run (not counting archives done before it). */
  bytesThisRun: number;
  done: number;
  failed: number;
  integrity: number;
  missing: number;
  waiting: number;
  ready: number;
  downloading: number;
  jobsStarted: number;
  /** What holds the next job, when something does: e.g. "--max-jobs 100", "budget until 2026-12-08T10:00:00Z". */
  held?: string;
  /** Whether the run ended (finished or interrupted) rather than being caught mid-way. */
  ended?: boolean;
}

/** The journal's key for an archive id: 128 bits of its SHA-256, as 22 base64url characters. */
export function keyOf(archiveId: string): string {
  return createHash('sha256').update(archiveId).digest('base64url').slice(0, 22);
}

/** A queued record reaches the disk at most this long after it was appended (ms)... */
export const GROUP_MS = 50;
/** ...or once this many records wait. */
export const GROUP_MAX = 1024;

export class Journal {
  private readonly done = new Set<string>();
  /** Bytes of the archives done: the sum of their `done` records' sizes (a record without one counts 0). */
  private doneBytes = 0;
  private readonly jobs = new Map<string, JobRecord>();
  private readonly uploads = new Map<string, { u: string; key: string; s?: number }>();
  /** The parts of each upload recorded so far (by journal key), and the tree-hash state after the last. */
  private readonly parts = new Map<string, { u: string; parts: PartRecord[]; roots: string }>();
  /** Each archive's name, recorded before its job starts and never changed (by journal key). */
  private readonly names = new Map<string, string>();
  /** Archives refused for good (a description --exec cannot pass on; an input line the vault's job contradicts). */
  private readonly refusals = new Map<string, Refusal>();
  /** Archives the vault no longer holds (InitiateJob answered ResourceNotFound: deleted since the inventory). */
  private readonly missing = new Set<string>();
  private starts: { at: number; s: number }[] = [];
  private inventory: { j: string; file?: string } | undefined;
  private snapshot: RunSnapshot | undefined;
  private fh: fsp.FileHandle | undefined;
  private pending: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | null = null;
  /** The promise of the last record appended: batches are written in order, so it settles after every other. */
  private last: Promise<void> = Promise.resolve();
  /** The timer that writes queued records (GROUP_MS). */
  private timer: NodeJS.Timeout | undefined;
  /** The first failed write of a queued record: every later durable() rejects with it. */
  private failed: unknown;
  /** Whether a pending record is waited on (append without `queued`, durable, close): it is written at once. */
  private urgent = false;
  private bytesSinceCompaction = 0;
  private compactedBytes = 0;
  private lockPath: string;
  private unlock: (() => Promise<void>) | undefined;

  private constructor(
    readonly path: string,
    private readonly head: { vault: string; target: string },
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {
    this.lockPath = `${path}.lock`;
  }

  /**
   * Opens (or creates, mode 0600) the journal at `path`, replays it and compacts it. `readOnly` (for --dry-run)
   * neither locks, writes nor creates anything. Throws UsageError when the file belongs to another vault or
   * target, or another process holds it.
   */
  static async open(path: string, head: { vault: string; target: string }, o: { windowMs: number; readOnly?: boolean; now?: () => number }): Promise<Journal> {
    const j = new Journal(path, head, o.windowMs, o.now ?? Date.now);
    if (!o.readOnly) {
      await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await j.lock();
    }
    await j.replay();
    if (!o.readOnly) await j.compact();
    return j;
  }

  /** Takes `STATE.lock` (acquireLock: two processes can never both hold it; a dead holder's lock is taken over). */
  private async lock(): Promise<void> {
    try {
      this.unlock = await acquireLock(this.lockPath);
    } catch (e) {
      if (!(e instanceof LockHeldError)) throw e;
      if (e.pid === undefined) throw new UsageError(`cannot lock ${this.path}: ${e.message}`);
      throw new UsageError(`${this.path} is in use by process ${e.pid}${e.host ? ` on ${e.host}` : ''} (another glacier-restore with the same state); wait for it or give another --state`);
    }
  }

  private async replay(): Promise<void> {
    let stream;
    try {
      // Never read through a link planted at the state's name.
      const fh = await fsp.open(this.path, C.O_RDONLY | C.O_NOFOLLOW);
      stream = fh.createReadStream({ encoding: 'utf8' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ELOOP') throw new UsageError(`${this.path} is a symbolic link; give --state a regular file`);
      return;
    }
    let first = true;
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        continue; // the last line, cut by a kill mid-write: its step was never taken
      }
      if (!l || typeof l !== 'object') continue; // valid JSON but no record (a line `null`): nothing of ours
      if (first && l.t === 'head' && (l.vault !== this.head.vault || l.target !== this.head.target)) {
        throw new UsageError(`${this.path} records a restore of vault "${l.vault}" to ${l.target}, not "${this.head.vault}" to ${this.head.target}; give another --state`);
      }
      first = false;
      this.apply(l);
    }
  }

  private apply(l: Line): void {
    switch (l.t) {
      case 'job':
        this.jobs.set(l.k, { archive: l.a, name: l.n, mtime: l.m, jobId: l.j, at: l.at });
        this.starts.push({ at: l.at, s: l.a.size });
        break;
      case 'drop':
        if (this.jobs.get(l.k)?.jobId === l.j) this.jobs.delete(l.k);
        break;
      case 'done':
        if (!this.done.has(l.k)) {
          this.done.add(l.k);
          if (Number.isSafeInteger(l.s) && l.s! > 0) this.doneBytes += l.s!;
        }
        this.jobs.delete(l.k);
        break;
      case 'done-bytes':
        // Written by compaction after the keys (which then carry no size): the sum of their sizes.
        if (Number.isSafeInteger(l.b) && l.b >= 0) this.doneBytes = l.b;
        break;
      case 'start':
        this.starts.push({ at: l.at, s: l.s });
        break;
      case 'upload':
        this.uploads.set(l.k, { u: l.u, key: l.key, s: l.s });
        if (this.parts.get(l.k)?.u !== l.u) this.parts.delete(l.k);
        break;
      case 'upload-end':
        if (this.uploads.get(l.k)?.u === l.u) this.uploads.delete(l.k);
        if (this.parts.get(l.k)?.u === l.u) this.parts.delete(l.k);
        break;
      case 'part': {
        // Parts come in order from 1 (a part recorded again replaces it and those after it); a gap ends what can be continued.
        let p = this.parts.get(l.k);
        if (p?.u !== l.u) this.parts.set(l.k, (p = { u: l.u, parts: [], roots: '' }));
        if (!(l.n >= 1 && l.n <= p.parts.length + 1) || typeof l.r !== 'string') break;
        p.parts.length = l.n - 1;
        p.parts.push({ n: l.n, end: l.e, sha: l.c, etag: l.g });
        p.roots = l.r;
        break;
      }
      case 'inventory':
        this.inventory = { j: l.j, file: l.file };
        break;
      case 'name':
        if (!this.names.has(l.k)) this.names.set(l.k, l.n); // the first name given stays
        break;
      case 'refused':
        this.refusals.set(l.k, { reason: l.e, size: l.s, treeHash: l.h, integrity: l.x === 'integrity' });
        this.jobs.delete(l.k);
        break;
      case 'missing':
        this.missing.add(l.k);
        this.jobs.delete(l.k);
        break;
      case 'rename':
        this.names.set(l.k, l.n); // the destination held the name for something else: the archive's new name
        break;
      case 'stats':
        this.snapshot = l.s;
        break;
    }
  }

  /** Writes the live state to a new file and renames it over the journal (then fsyncs the folder). */
  private async compact(): Promise<void> {
    const cut = this.now() - this.windowMs;
    this.starts = this.starts.filter((s) => s.at > cut);
    const tmp = `${this.path}.tmp`;
    const out = await createTemp(tmp); // O_EXCL|O_NOFOLLOW: a link planted at STATE.tmp is removed, never followed
    let bytes = 0;
    let buf: string[] = [];
    const put = async (l: Line) => {
      buf.push(JSON.stringify(l));
      if (buf.length >= 4096) await flush();
    };
    const flush = async () => {
      if (!buf.length) return;
      const text = `${buf.join('\n')}\n`;
      bytes += Buffer.byteLength(text);
      await out.write(text);
      buf = [];
    };
    await put({ t: 'head', v: 1, ...this.head });
    if (this.inventory) await put({ t: 'inventory', ...this.inventory });
    for (const k of this.done) await put({ t: 'done', k });
    if (this.doneBytes) await put({ t: 'done-bytes', b: this.doneBytes });
    // Start times of jobs still outstanding come back with their job; only the others are kept as starts.
    const jobStarts = new Set<number>();
    for (const [k, r] of this.jobs) {
      await put({ t: 'job', k, a: r.archive, n: r.name, m: r.mtime, j: r.jobId, at: r.at });
      if (r.at > cut) jobStarts.add(r.at);
    }
    for (const s of this.starts) if (!jobStarts.delete(s.at)) await put({ t: 'start', at: s.at, s: s.s });
    for (const [k, u] of this.uploads) await put({ t: 'upload', k, u: u.u, key: u.key, s: u.s });
    for (const [k, p] of this.parts) {
      for (const [i, x] of p.parts.entries()) await put({ t: 'part', k, u: p.u, n: x.n, e: x.end, c: x.sha, g: x.etag, r: i === p.parts.length - 1 ? p.roots : '' });
    }
    for (const [k, n] of this.names) await put({ t: 'name', k, n });
    for (const [k, r] of this.refusals) await put({ t: 'refused', k, e: r.reason, s: r.size, h: r.treeHash, x: r.integrity ? 'integrity' : undefined });
    for (const k of this.missing) await put({ t: 'missing', k });
    if (this.snapshot) await put({ t: 'stats', s: this.snapshot });
    await flush();
    await out.datasync();
    await out.close();
    await fsp.rename(tmp, this.path);
    await syncDir(dirname(this.path));
    await this.fh?.close();
    this.fh = await fsp.open(this.path, C.O_WRONLY | C.O_APPEND | C.O_NOFOLLOW);
    this.compactedBytes = bytes;
    this.bytesSinceCompaction = 0;
  }

  /**
   * Appends a record; resolves once it is on disk. Concurrent appends share one write and one fdatasync.
   * `queued`: nothing waits on it now, so it is written with the next batch (at most GROUP_MS later); a failed
   * write is then kept for durable() to throw.
   */
  private append(l: Line, queued = false): Promise<void> {
    this.apply(l);
    const p = new Promise<void>((resolve, reject) => this.pending.push({ line: `${JSON.stringify(l)}\n`, resolve, reject }));
    this.last = p;
    if (queued) p.catch((e) => (this.failed ??= e));
    else this.urgent = true;
    if (this.urgent || this.pending.length >= GROUP_MAX) this.kick();
    else this.arm();
    return p;
  }

  /**
   * Starts writing the pending records unless a write is going on (it takes them). `flushing` is cleared only
   * once flush() has returned, so that no record is ever left behind a write that has ended.
   */
  private kick(): void {
    if (this.flushing) return;
    // This write takes every queued record: a timer armed for them is spent (a record queued later arms its own,
    // so it waits its whole GROUP_MS for company).
    clearTimeout(this.timer);
    this.timer = undefined;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      if (!this.pending.length) return;
      if (this.urgent || this.pending.length >= GROUP_MAX) this.kick();
      else this.arm();
    });
  }

  /** Writes the queued records GROUP_MS from now, unless a write takes them first. */
  private arm(): void {
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.urgent = true;
      this.kick();
    }, GROUP_MS);
  }

  /**
   * Resolves once every record appended so far is on disk (queued ones are written now); rejects with the
   * error of a queued record's write (ServiceError), if one failed.
   */
  async durable(): Promise<void> {
    if (this.pending.length) {
      this.urgent = true;
      this.kick();
    }
    await this.last.catch(() => {});
    if (this.failed) throw this.failed;
  }

  /** The error of a queued record's write, once one failed (the run cannot go on: its state is not on disk). */
  writeError(): unknown {
    return this.failed;
  }

  private async flush(): Promise<void> {
    // Queued records alone wait for their timer (or GROUP_MAX of them): one fdatasync for many archives.
    while (this.pending.length && (this.urgent || this.pending.length >= GROUP_MAX)) {
      this.urgent = false;
      const batch = this.pending.splice(0);
      try {
        const bytes = Buffer.from(batch.map((b) => b.line).join(''));
        // Written on this thread (a copy into the page cache, microseconds); the fdatasync waits on the disk.
        for (let at = 0; at < bytes.length; ) at += writeSync(this.fh!.fd, bytes, at);
        await this.fh!.datasync();
        this.bytesSinceCompaction += bytes.length;
        batch.forEach((b) => b.resolve());
      } catch (e) {
        const err = new ServiceError(`cannot write the state file ${this.path}: ${(e as Error).message}`);
        batch.forEach((b) => b.reject(err));
      }
      // The journal grows by a few lines per archive; rewrite it when it is mostly history.
      if (this.bytesSinceCompaction > Math.max(64 * 2 ** 20, 2 * this.compactedBytes)) await this.compact().catch(() => {});
    }
  }

  isDone(archiveId: string): boolean {
    return this.done.has(keyOf(archiveId));
  }
  job(archiveId: string): JobRecord | undefined {
    return this.jobs.get(keyOf(archiveId));
  }
  outstanding(): JobRecord[] {
    return [...this.jobs.values()];
  }
  /** The archive's S3 upload: its id, key and, once an expiry cut a part, the size of the parts after those recorded (`s`, bytes). */
  upload(archiveId: string): { u: string; key: string; s?: number } | undefined {
    return this.uploads.get(keyOf(archiveId));
  }
  /** The parts recorded for an archive's upload (in order from part 1) and the tree-hash state after the last. */
  uploadParts(archiveId: string): { u: string; parts: PartRecord[]; roots: string } | undefined {
    return this.parts.get(keyOf(archiveId));
  }
  allUploads(): { u: string; key: string }[] {
    return [...this.uploads.values()];
  }
  inventoryJob(): { j: string; file?: string } | undefined {
    return this.inventory;
  }
  /** The name recorded for an archive, if any. */
  nameOf(archiveId: string): string | undefined {
    return this.names.get(keyOf(archiveId));
  }
  /** Every recorded name (an archive's name is held by it for good, whether it is in this run's input or not). */
  allNames(): IterableIterator<string> {
    return this.names.values();
  }
  /**
   * Why an archive was refused for good, if it was. A refusal recorded for an input line (its size and tree hash)
   * holds only for that line: a corrected line is tried again.
   */
  refusal(archiveId: string, line?: { size: number; treeHash: string }): Refusal | undefined {
    const r = this.refusals.get(keyOf(archiveId));
    if (!r || !line) return r;
    if ((r.size !== undefined && r.size !== line.size) || (r.treeHash !== undefined && r.treeHash !== line.treeHash)) return undefined;
    return r;
  }
  /** Whether an earlier run found the archive gone from the vault (status `missing`; not asked for again). */
  isMissing(archiveId: string): boolean {
    return this.missing.has(keyOf(archiveId));
  }
  doneCount(): number {
    return this.done.size;
  }
  /**
   * Bytes of the archives done (their sizes as recorded with them, each counted once). States written before
   * `done` records carried a size count those archives as 0 bytes.
   */
  bytesDone(): number {
    return this.doneBytes;
  }
  /** Bytes of retrievals started within the last window (ms), and when the oldest of them leaves it. */
  startedInWindow(): { bytes: number; frees: number } {
    const cut = this.now() - this.windowMs;
    this.starts = this.starts.filter((s) => s.at > cut);
    return { bytes: this.starts.reduce((a, s) => a + s.s, 0), frees: this.starts.length ? this.starts[0].at + this.windowMs : 0 };
  }

  /** Records a job started or taken up. `queued`: written with the next batch (see append); durable() waits for it. */
  recordJob(r: JobRecord, o: { queued?: boolean } = {}): Promise<void> {
    return this.append({ t: 'job', k: keyOf(r.archive.archiveId), a: r.archive, n: r.name, m: r.mtime, j: r.jobId, at: r.at }, o.queued);
  }
  recordDrop(archiveId: string, jobId: string): Promise<void> {
    return this.append({ t: 'drop', k: keyOf(archiveId), j: jobId });
  }
  /** Records an archive done; `size` (bytes, the archive's) is added to bytesDone() once per archive. */
  recordDone(archiveId: string, size?: number): Promise<void> {
    return this.append({ t: 'done', k: keyOf(archiveId), ...(size ? { s: size } : {}) });
  }
  /** Records an archive's S3 upload; `partSize`: the size of its parts after those recorded (kept by later runs). */
  recordUpload(archiveId: string, uploadId: string, key: string, partSize?: number): Promise<void> {
    return this.append({ t: 'upload', k: keyOf(archiveId), u: uploadId, key, s: partSize });
  }
  /** Records that S3 holds part `p.n` of the upload (parts 1..n-1 recorded before it), with `roots` after it. */
  recordPart(archiveId: string, uploadId: string, p: PartRecord, roots: string): Promise<void> {
    return this.append({ t: 'part', k: keyOf(archiveId), u: uploadId, n: p.n, e: p.end, c: p.sha, g: p.etag, r: roots });
  }
  recordUploadEnd(archiveId: string, uploadId: string): Promise<void> {
    return this.append({ t: 'upload-end', k: keyOf(archiveId), u: uploadId });
  }
  /**
   * Records an archive's name; a name already recorded for it is kept (names never change). `queued`: written
   * with the next batch (see append); durable() waits for it.
   */
  recordName(archiveId: string, name: string, o: { queued?: boolean } = {}): Promise<void> {
    const k = keyOf(archiveId);
    if (this.names.has(k)) return Promise.resolve();
    return this.append({ t: 'name', k, n: name }, o.queued);
  }
  /**
   * Records that this archive is refused for good: later runs report it (failed, or integrity when `o.integrity`)
   * without starting a job. `o.line`: the input's size and tree hash the refusal is about (a line that differs
   * from them is tried again).
   */
  recordRefused(archiveId: string, reason: string, o: { line?: { size: number; treeHash: string }; integrity?: boolean } = {}): Promise<void> {
    return this.append({ t: 'refused', k: keyOf(archiveId), e: reason, s: o.line?.size, h: o.line?.treeHash, x: o.integrity ? 'integrity' : undefined });
  }
  /** Records that the vault no longer holds this archive: later runs report it `missing` without asking again. */
  recordMissing(archiveId: string): Promise<void> {
    return this.append({ t: 'missing', k: keyOf(archiveId) });
  }
  /**
   * Records an archive's new name: the destination held its recorded name for something else (a file another
   * process made there), and it was restored under the next free name instead.
   */
  recordRename(archiveId: string, name: string): Promise<void> {
    return this.append({ t: 'rename', k: keyOf(archiveId), n: name });
  }
  recordInventory(jobId: string, file?: string): Promise<void> {
    return this.append({ t: 'inventory', j: jobId, file });
  }
  /** Records where the run stands (for --status); resolves once on disk. */
  recordStats(s: RunSnapshot): Promise<void> {
    return this.append({ t: 'stats', s });
  }
  /** The last RunSnapshot recorded, if any. */
  lastStats(): RunSnapshot | undefined {
    return this.snapshot;
  }
  /** The pid in the state's lock file when that process is alive (a run holds the state), else undefined. */
  async holder(): Promise<number | undefined> {
    // The lock file holds `PID HOST` (acquireLock); a run on another host cannot be seen from here.
    const [pidText, host] = (await fsp.readFile(this.lockPath, 'utf8').catch(() => '')).trim().split(/\s+/);
    const pid = Number(pidText);
    if (!Number.isSafeInteger(pid) || pid <= 0 || (host !== undefined && host !== hostname())) return undefined;
    return alive(pid) ? pid : undefined;
  }

  /**
   * The vault and target a state file records (its first line), read without locking or writing. Throws
   * UsageError when `path` is missing or is not a glacier-restore state.
   */
  static async headOf(path: string): Promise<{ vault: string; target: string }> {
    let first: string | undefined;
    try {
      for await (const line of createInterface({ input: createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 }), crlfDelay: Infinity })) {
        first = line;
        break;
      }
    } catch (e) {
      throw new UsageError(`cannot read the state ${path}: ${(e as Error).message}; give the --state of a run (or its -v and --to)`);
    }
    try {
      const l = JSON.parse(first ?? '') as Line | null;
      if (l && typeof l === 'object' && l.t === 'head') return { vault: l.vault, target: l.target };
    } catch {
      // not JSON: said below
    }
    throw new UsageError(`${path} is not a glacier-restore state; give the --state of a run (or its -v and --to)`);
  }

  async close(): Promise<void> {
    if (this.pending.length) {
      this.urgent = true;
      this.kick();
    }
    while (this.flushing) await this.flushing;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.fh?.close();
    this.fh = undefined;
    await this.unlock?.();
  }
}


