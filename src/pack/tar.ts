// Writes the scanned entries into a tar-stream pack: headers GNU tar reads back exactly (mode, mtime, uid/gid, links,
// long and non-ASCII names, files over 8 GiB), and file data read as it is packed. A file that shrinks while read is
// padded with zeros to the size its header already promised and one that grows is cut there, as GNU tar does: the
// archive stays valid and the problem is reported.
import { constants } from 'node:fs';
import type { Header, Pack } from 'tar-stream';
import { nodeFs, reason, type PackFs } from './fs.js';
import type { Entry, Problem } from './walk.js';

export interface TarOptions {
  fs?: PackFs;
  problem(p: Problem): void;
  /** Called with the bytes of file data read, for progress. */
  onRead?(bytes: number): void;
  signal?: AbortSignal;
  /** Read size (default 1 MiB); a file up to this size is read in one synchronous call. */
  chunkSize?: number;
}

const MAX_OCTAL_ID = 0o777777; // tar-stream writes ids in 6 octal digits
const MAX_OCTAL_TIME = 8 ** 11 - 1;

/** Writes every entry, then finalizes the pack. Rejects only when the pack itself fails (output gone, interrupted). */
export async function writeEntries(pack: Pack, entries: readonly Entry[], o: TarOptions): Promise<void> {
  const fs = o.fs ?? nodeFs;
  const chunkSize = o.chunkSize ?? 1 << 20;
  const written = new Map<string, string>(); // dev:ino of multiply-linked files → the member that holds the data
  for (const e of entries) {
    if (o.signal?.aborted) throw o.signal.reason;
    if (e.kind === 'file') await writeFile(pack, e, fs, written, chunkSize, o);
    else if (e.kind === 'symlink') {
      let target: string;
      try {
        target = fs.readlink(e.path);
      } catch (err) {
        o.problem(vanishedOr(e.path, err));
        continue;
      }
      await add(pack, header(e, { type: 'symlink', linkname: target }));
    } else if (e.kind === 'directory') await add(pack, header(e, { type: 'directory', name: `${e.name}/` }));
    else await add(pack, header(e, { type: e.kind, devmajor: major(e.rdev), devminor: minor(e.rdev) }));
  }
  pack.finalize();
}

async function writeFile(pack: Pack, e: Entry, fs: PackFs, written: Map<string, string>, chunkSize: number, o: TarOptions): Promise<void> {
  let fd: number;
  try {
    // O_NOFOLLOW: a file replaced by a symlink since the scan is not followed out of the tree.
    fd = fs.open(e.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    o.problem(vanishedOr(e.path, err));
    return;
  }
  try {
    const st = fs.fstat(fd);
    if (!st.isFile()) {
      o.problem({ path: e.path, message: 'file changed type as we read it; not dumped', status: 1 });
      return;
    }
    const id = `${st.dev}:${st.ino}`;
    const first = st.nlink > 1 ? written.get(id) : undefined;
    if (first !== undefined) {
      await add(pack, header(e, { type: 'link', linkname: first, mode: st.mode, mtimeMs: st.mtimeMs }));
      return;
    }
    const size = st.size;
    const { sink, done } = entry(pack, header(e, { type: 'file', size, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs }));
    let pos = 0;
    let status: 0 | 1 | 2 = 0;
    while (pos < size) {
      if (o.signal?.aborted) {
        sink.destroy(o.signal.reason);
        throw o.signal.reason;
      }
      // A fresh buffer each time: tar-stream queues the very buffer it is given.
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, size - pos));
      let n: number;
      try {
        n = size <= chunkSize ? fs.readSync(fd, buf, 0, buf.length, pos) : await fs.read(fd, buf, 0, buf.length, pos);
      } catch (err) {
        o.problem({ path: e.path, message: `read error at byte ${pos}, while reading ${size} bytes: ${reason(err)}; padding with zeros`, status: 2 });
        status = 2;
        break;
      }
      if (n === 0) break;
      pos += n;
      o.onRead?.(n);
      await write(sink, n === buf.length ? buf : buf.subarray(0, n));
    }
    if (pos < size) {
      // The header already promised `size` bytes: anything else would shift every following member (corrupt tar).
      if (status === 0) o.problem({ path: e.path, message: `file shrank by ${size - pos} bytes; padding with zeros`, status: 1 });
      status = 1;
      for (let left = size - pos; left > 0; left -= ZEROS.length) await write(sink, left >= ZEROS.length ? ZEROS : ZEROS.subarray(0, left));
    }
    end(sink);
    await done;
    if (st.nlink > 1) written.set(id, e.name);
    if (status === 0) {
      // As GNU tar: a file whose size, mtime or ctime moved while it was read may be inconsistent in the archive.
      let after: { size: number; mtimeMs: number; ctimeMs: number } | undefined;
      try {
        after = fs.fstat(fd);
      } catch {
        after = undefined;
      }
      if (!after || after.size !== size || after.mtimeMs !== st.mtimeMs || after.ctimeMs !== st.ctimeMs) {
        o.problem({ path: e.path, message: 'file changed as we read it', status: 1 });
      }
    }
  } finally {
    try {
      fs.close(fd);
    } catch {
      // nothing left to do with it
    }
  }
}

const ZEROS = Buffer.alloc(1 << 20);

function vanishedOr(path: string, err: unknown): Problem {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return { path, message: 'file removed before we read it', status: 1 };
  if (code === 'ELOOP') return { path, message: 'file changed type as we read it; not dumped', status: 1 };
  return { path, message: `cannot open: ${reason(err)}`, status: 2 };
}

type TarHeader = Partial<Header> & { name: string };

interface HeaderFields extends Partial<Header> {
  mtimeMs?: number;
}

/** A tar-stream header for an entry, with pax records where the ustar fields cannot hold the value. */
function header(e: Entry, f: HeaderFields): TarHeader {
  const uid = f.uid ?? e.uid;
  const gid = f.gid ?? e.gid;
  const secs = Math.floor((f.mtimeMs ?? e.mtimeMs) / 1000);
  const pax: Record<string, string> = {};
  // tar-stream writes these as plain octal ((ms / 1000) | 0 for mtime): out of range they would be garbage.
  if (uid > MAX_OCTAL_ID) pax.uid = String(uid);
  if (gid > MAX_OCTAL_ID) pax.gid = String(gid);
  if (secs < 0 || secs > Math.min(MAX_OCTAL_TIME, 2 ** 31 - 1)) pax.mtime = String(secs);
  return {
    name: f.name ?? e.name,
    type: f.type,
    // The full st_mode, file-type bits included: tar-stream replaces a mode of 0 by 0644 (and masks to 07777 itself).
    mode: f.mode ?? e.mode,
    uid: uid > MAX_OCTAL_ID ? 0 : uid,
    gid: gid > MAX_OCTAL_ID ? 0 : gid,
    mtime: new Date(pax.mtime === undefined ? secs * 1000 : 0),
    size: f.size ?? 0,
    linkname: f.linkname,
    devmajor: f.devmajor,
    devminor: f.devminor,
    pax: Object.keys(pax).length ? pax : undefined,
  };
}

async function add(pack: Pack, h: TarHeader): Promise<void> {
  const { sink, done } = entry(pack, h);
  end(sink);
  await done;
}

type Sink = ReturnType<Pack['entry']>;

/** An entry's body stream, and a promise settled by tar-stream's callback: when it has the whole entry, or failed. */
function entry(pack: Pack, h: TarHeader): { sink: Sink; done: Promise<void> } {
  let sink!: Sink;
  const done = new Promise<void>((resolve, reject) => {
    sink = pack.entry(h, (err) => (err ? reject(err) : resolve()));
  });
  done.catch(() => {}); // awaited by the caller; this only keeps an abandoned entry from being an unhandled rejection
  sink.on('error', () => {}); // the same error reaches the callback above; unheard, streamx would crash the process
  return { sink, done };
}

// streamx types `end(data)` with a required argument; it takes none, like any stream.
const end = (sink: Sink) => (sink as unknown as { end(): void }).end();

async function write(sink: Sink, chunk: Buffer): Promise<void> {
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    // `close` ends the wait when the pack is torn down (output gone, interrupted) instead of waiting forever.
    const drained = (): void => void (sink.off('close', closed), resolve());
    const closed = (): void => void (sink.off('drain', drained), reject(new Error('tar entry closed')));
    sink.once('drain', drained);
    sink.once('close', closed);
  });
}

// Linux dev_t: major in bits 8-19 and 32-43, minor in bits 0-7 and 20-31.
const major = (rdev: number) => Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
const minor = (rdev: number) => Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
