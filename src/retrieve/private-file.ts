// Files a download creates next to its destination (FILE.partial, its record, its lock) are private (0600) and
// created without following a link someone planted at their predictable names: O_CREAT|O_EXCL|O_NOFOLLOW, the
// semantics issue 15 asks of every client file.
import { constants, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { ServiceError } from '../core/errors.js';
import { acquireLock, LockHeldError } from '../core/files.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDWR } = constants;

/** Refuses a symbolic link at `path`; throws ServiceError (exit 1) naming it. */
export async function refuseLink(path: string): Promise<void> {
  const st = await fsp.lstat(path).catch(() => null);
  if (st?.isSymbolicLink()) throw new ServiceError(`${path} is a symbolic link; refusing to follow it (remove it if it is yours)`);
  if (st && !st.isFile()) throw new ServiceError(`${path} is not a regular file; remove it or choose another -o`);
}

/**
 * Creates `path` afresh, mode 0600, for reading and writing: a regular file left there is replaced, a
 * symbolic link is refused (ServiceError) and whatever it points to is left alone.
 */
export async function createPrivate(path: string): Promise<fsp.FileHandle> {
  await refuseLink(path);
  await fsp.rm(path, { force: true });
  try {
    return await fsp.open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST' || (e as NodeJS.ErrnoException).code === 'ELOOP') throw new ServiceError(`${path} appeared while it was being created; refusing to use it`);
    throw e;
  }
}

/** Opens an existing `path` to continue it (never through a link), and makes sure it is 0600. */
export async function reopenPrivate(path: string): Promise<fsp.FileHandle> {
  const fh = await fsp.open(path, O_RDWR | O_NOFOLLOW);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new ServiceError(`${path} is not a regular file`);
    if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw new ServiceError(`${path} belongs to another user; refusing to continue it`);
    await fh.chmod(0o600);
    return fh;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

/**
 * `fh`'s file opened a second time for writing past the page cache (O_DIRECT), through /proc/self/fd: the same
 * file whatever its path has become since, never a link. Undefined where the platform or the file system has no
 * O_DIRECT (macOS; some FUSE and older tmpfs), or GLACIER_NO_DIRECT is set (to anything but empty or 0).
 */
export async function openDirect(fh: fsp.FileHandle): Promise<fsp.FileHandle | undefined> {
  const off = process.env.GLACIER_NO_DIRECT;
  if (!constants.O_DIRECT || process.platform !== 'linux' || (off && off !== '0')) return undefined;
  return fsp.open(`/proc/self/fd/${fh.fd}`, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
}

/** Writes `data` to `path` in one rename, through a private temporary file (never a planted link). */
export async function replacePrivate(path: string, data: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await createPrivate(tmp);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  await fsp.rename(tmp, path);
}

/**
 * Takes the exclusive lock of `path` (the file `path.lock` holding the owner's `PID HOST`, linked into place
 * whole: see acquireLock): two downloads to one FILE would interleave their bytes. A lock whose process is gone
 * (same host) is taken over. Throws ServiceError (exit 1) naming the holder. Returns the release function.
 */
export async function lockFile(path: string): Promise<() => Promise<void>> {
  const lock = `${path}.lock`;
  try {
    return await acquireLock(lock);
  } catch (e) {
    if (!(e instanceof LockHeldError)) throw e;
    if (e.pid === undefined) throw new ServiceError(`${path} is locked (${e.message})`);
    throw new ServiceError(`${path} is locked by process ${e.pid}${e.host && e.host !== hostname() ? ` on ${e.host}` : ''}, another download to the same file (lock file ${lock}); wait for it to end, or stop it`);
  }
}
