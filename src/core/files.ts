// Small file-system facts shared by the lock, state and partial files of downloads and restores: every file a
// binary creates is created O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600, so that a link planted at its predictable
// name is never followed, and locks are taken so that two processes can never both hold one.
import { randomBytes } from 'node:crypto';
import { constants, promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;

/** Whether process `pid` exists on this machine (EPERM: it exists but belongs to another user). A lock whose
 * holder is gone is stale and may be taken over. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsyncs a folder, so that a rename or a new file in it survives a power cut (POSIX leaves that to the folder). */
export async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

/**
 * Creates `path`, which must not exist, mode 0600 (`flags` added to O_CREAT|O_EXCL|O_NOFOLLOW, O_WRONLY by
 * default). Throws the system error (EEXIST when anything, a link included, is at `path`).
 */
export function createExclusive(path: string, flags: number = O_WRONLY): Promise<fsp.FileHandle> {
  return fsp.open(path, flags | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
}

/**
 * A temporary file of ours at the fixed name `path` (e.g. a compaction's `STATE.tmp`): what a killed run left
 * there, or a link someone planted, is unlinked (a link's target is never opened nor changed), then `path` is
 * created with createExclusive. Throws when something appears there again in between.
 */
export async function createTemp(path: string, flags: number = O_WRONLY): Promise<fsp.FileHandle> {
  try {
    return await createExclusive(path, flags);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = await fsp.lstat(path).catch(() => null);
  if (st?.isDirectory()) throw new Error(`${path} is a folder; remove it`);
  await fsp.unlink(path).catch(() => {});
  return createExclusive(path, flags);
}

/** The lock temps found in each folder read (by device and inode); see sweepLockTemps. */
const lockTemps = new Map<string, string[]>();

/**
 * Removes the `LOCK.PID-HEX.tmp` files that acquireLock left beside `lock` in processes killed (kill -9) between
 * creating their temp file and removing it: only those that name this host and a process that is gone (or are
 * still empty), and the `LOCK.stale-INO-MTIME` markers such processes left while breaking a stale lock (see
 * removeMarkerOfGone). Best effort: a file that cannot be read or removed is left.
 */
async function sweepLockTemps(lock: string): Promise<void> {
  const dir = dirname(lock);
  const base = basename(lock);
  // A folder is read once per process (the lock temps found are kept by folder): a restore of millions of files
  // into one folder takes a lock per file, and reading the folder each time would cost in proportion to the files
  // already there. Temps left by a process killed after that read are removed by the next process.
  // (By the folder's device, inode and birth time: a path like /proc/self/fd/N names another folder once N is
  // reused, and a folder removed and made again can have the same inode.)
  const st = await fsp.stat(dir).catch(() => null);
  const key = st ? `${st.dev}:${st.ino}:${st.birthtimeMs}` : undefined;
  let temps = key === undefined ? undefined : lockTemps.get(key);
  if (!temps) {
    const all = await fsp.readdir(dir).catch(() => [] as string[]);
    temps = all.filter((n) => /\.\d+-[0-9a-f]{12}\.tmp$/.test(n) || /\.stale-\d+-\d+$/.test(n));
    if (key !== undefined) lockTemps.set(key, temps);
  }
  const names = temps.filter((n) => n.startsWith(base));
  for (const name of names) {
    if (/^\.stale-\d+-\d+$/.test(name.slice(base.length))) {
      await removeMarkerOfGone(join(dir, name));
      continue;
    }
    const m = /^\.(\d+)-[0-9a-f]{12}\.tmp$/.exec(name.startsWith(base) ? name.slice(base.length) : '');
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    const text = await readNoFollow(join(dir, name)).catch(() => null);
    const held = /^(\d+) (\S+)\n?$/.exec(text ?? '');
    // Empty: killed before it wrote its line (a moment of microseconds).
    if (text === '' || (held && Number(held[1]) === pid && held[2] === hostname())) await fsp.unlink(join(dir, name)).catch(() => {});
  }
}

/**
 * Removes the stale-lock marker `marker` (`LOCK.stale-INO-MTIME`, a hard link to its maker's `PID HOST` temp
 * file; see acquireLock) when its maker is a process of this host that is gone: one killed (kill -9) between
 * creating the marker and removing it. Only the file read is removed (its inode checked again just before).
 * Resolves true when it was removed; never throws.
 */
async function removeMarkerOfGone(marker: string): Promise<boolean> {
  const fh = await fsp.open(marker, O_RDONLY | O_NOFOLLOW).catch(() => null);
  if (!fh) return false;
  let text: string;
  let ino: number;
  try {
    [text, ino] = [await fh.readFile('utf8'), (await fh.stat()).ino];
  } catch {
    return false;
  } finally {
    await fh.close();
  }
  const held = /^(\d+) (\S+)\n?$/.exec(text);
  if (!held || held[2] !== hostname() || Number(held[1]) === process.pid || processAlive(Number(held[1]))) return false;
  const st = await fsp.lstat(marker).catch(() => null);
  if (st?.ino !== ino) return false;
  return fsp.unlink(marker).then(
    () => true,
    () => false,
  );
}

/** The holder a lock file names, or why it could not be taken. */
export class LockHeldError extends Error {
  constructor(
    readonly lock: string,
    readonly pid: number | undefined,
    readonly host: string | undefined,
    why: string,
  ) {
    super(why);
  }
}

/** Whether `e` says this user may not (read, remove) a file: EACCES or EPERM. */
const denied = (e: unknown): boolean => ['EACCES', 'EPERM'].includes((e as NodeJS.ErrnoException).code ?? '');

/** The text of `path`, never through a link; null when it is not there (or a link); other errors thrown (EACCES). */
async function readNoFollow(path: string): Promise<string | null> {
  const fh = await fsp.open(path, O_RDONLY | O_NOFOLLOW).catch((e: NodeJS.ErrnoException) => {
    if (denied(e)) throw e;
    return null;
  });
  if (!fh) return null;
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * Takes the lock file `lock` so that two processes can never both hold it. The holder's `PID HOST` is written
 * to a private temporary file first, which is then hard-linked to `lock` (link(2) fails with EEXIST when the
 * name exists, atomically): the lock name never exists empty or half written. A lock whose holder is gone (same
 * host, no such process) is stale: it is removed by the one process that first creates a marker named after
 * that lock file's identity (inode and mtime), after checking that the same file is still there, so two
 * processes breaking one stale lock cannot remove a live lock taken meanwhile. A marker whose maker was killed
 * before it removed the marker is removed (here when it stands in the way, and by the sweep of the folder).
 * Resolves with the release function (which removes the lock only while it is still ours); throws
 * LockHeldError naming the holder, or a system error.
 */
export async function acquireLock(lock: string): Promise<() => Promise<void>> {
  await sweepLockTemps(lock);
  const me = `${process.pid} ${hostname()}\n`;
  const tmp = `${lock}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  const fh = await createExclusive(tmp);
  let ino: number;
  try {
    await fh.writeFile(me);
    await fh.sync();
    ino = (await fh.stat()).ino;
  } finally {
    await fh.close();
  }
  try {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await fsp.link(tmp, lock);
        return async () => {
          // Only our own lock is removed: a lock file that is another one now is left alone.
          const st = await fsp.lstat(lock).catch(() => null);
          if (st && st.ino === ino) await fsp.unlink(lock).catch(() => {});
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const st = await fsp.lstat(lock).catch(() => null);
      if (!st) continue; // released meanwhile: try again
      if (!st.isFile()) throw new LockHeldError(lock, undefined, undefined, `${lock} is not a regular file; remove it if no process uses it`);
      const text = await readNoFollow(lock).catch((e: NodeJS.ErrnoException) => {
        // Another user's lock (0600) in a shared folder: its holder cannot be read, only its owner.
        if (!denied(e)) throw e;
        throw new LockHeldError(lock, undefined, undefined, `${lock} belongs to another user (uid ${st.uid}) and cannot be read by this one: a run of theirs may hold it; wait for it to end, or have that user (or root) remove it if no process of theirs uses it`);
      });
      const m = /^(\d+) (\S+)\n?$/.exec(text ?? '');
      if (!m) throw new LockHeldError(lock, undefined, undefined, `${lock} names no holder; remove it if no process uses it`);
      const [pid, host] = [Number(m[1]), m[2]];
      if (host !== hostname() || processAlive(pid)) throw new LockHeldError(lock, pid, host, `held by process ${pid}${host !== hostname() ? ` on ${host}` : ''}`);
      const marker = `${lock}.stale-${st.ino}-${Math.trunc(st.mtimeMs)}`;
      try {
        await fsp.link(tmp, marker);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // A marker left by a process killed while it broke this lock: removed, and the next attempt makes its own.
        if (await removeMarkerOfGone(marker)) continue;
        // Another process is removing this stale lock; the next attempt sees what it left.
        await new Promise((r) => setTimeout(r, Math.min(5 + attempt * 5, 50)));
        continue;
      }
      try {
        const again = await fsp.lstat(lock).catch(() => null);
        if (again && again.ino === st.ino && Math.trunc(again.mtimeMs) === Math.trunc(st.mtimeMs)) {
          await fsp.unlink(lock).catch((e: NodeJS.ErrnoException) => {
            // A folder with the sticky bit (/tmp, a shared folder) lets only a file's owner remove it.
            if (!denied(e)) throw e;
            throw new LockHeldError(lock, undefined, undefined, `${lock} is left by process ${pid}, which is gone, and cannot be removed by this user (${e.code}: it belongs to another user in a folder that lets only its owner remove it); remove it as its owner or root`);
          });
        }
      } finally {
        await fsp.unlink(marker).catch(() => {});
      }
    }
    throw new LockHeldError(lock, undefined, undefined, `${lock} could not be taken (a stale lock kept coming back); remove ${lock} and ${lock}.stale-* if no process uses them`);
  } finally {
    await fsp.unlink(tmp).catch(() => {});
  }
}
