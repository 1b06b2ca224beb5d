// The exclusive lock of a --data folder: one glacier-local at a time owns it, because start-up clean-up deletes
// whatever no acknowledged write owns *as far as this process knows*, and a second process knows nothing of the
// first one's writes in flight.
//
// The lock is the file LOCK_NAME holding {"pid","start"} of its owner, created atomically with link(2) (it exists
// whole or not at all). It is stale when that process is gone: on Linux the process start time (field 22 of
// /proc/PID/stat) must match too, so a recycled pid does not keep a dead owner's lock alive. Taking over a stale
// lock is itself guarded by a short-lived O_EXCL file, so two starters cannot both win.
import { promises as fsp, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export const LOCK_NAME = 'glacier-local.lock';
const TAKEOVER = `${LOCK_NAME}.takeover`;

interface Owner {
  pid: number;
  start: string | null;
}

/** The data folder is locked by a live process. */
export class DataDirBusyError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`--data ${dir} is in use by another glacier-local (pid ${pid}); stop that one first or give another folder`);
  }
}

/** Start time of a process in clock ticks since boot, or null where /proc cannot tell (not Linux). */
function startTime(pid: number): string | null | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ESRCH' ? undefined : null;
  }
}

function alive(o: Owner): boolean {
  if (!Number.isInteger(o.pid) || o.pid <= 0) return false;
  const start = startTime(o.pid);
  if (start === undefined) return false; // no such process
  if (start !== null && o.start !== null) return start === o.start;
  try {
    process.kill(o.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

async function readOwner(path: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await fsp.readFile(path, 'utf8')) as Owner;
    return o && typeof o === 'object' ? o : { pid: 0, start: null };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { pid: 0, start: null }; // unreadable or torn: nobody can prove ownership
  }
}

export interface DataLock {
  /** Removes the lock file if it is still this process's. */
  release(): Promise<void>;
}

/**
 * Takes the exclusive lock of `dir` (created 0700 if missing) for this process.
 * Throws DataDirBusyError when a live process holds it; other fs errors as they come.
 */
export async function lockDataDir(dir: string): Promise<DataLock> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const me: Owner = { pid: process.pid, start: startTime(process.pid) ?? null };
  const lockPath = join(dir, LOCK_NAME);
  const mine = JSON.stringify(me);
  const tmp = join(dir, `${LOCK_NAME}.${randomBytes(6).toString('hex')}`);
  await fsp.writeFile(tmp, mine, { mode: 0o600, flag: 'wx' });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await fsp.link(tmp, lockPath);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const owner = await readOwner(lockPath);
      if (owner === undefined) continue; // released meanwhile
      if (alive(owner)) throw new DataDirBusyError(dir, owner.pid);
      if (attempt > 50) throw new DataDirBusyError(dir, owner.pid);
      await takeOverStale(dir, lockPath, owner, tmp);
      if ((await fsp.readFile(lockPath, 'utf8').catch(() => '')) === mine) break;
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  return {
    release: async () => {
      if ((await fsp.readFile(lockPath, 'utf8').catch(() => '')) === mine) await fsp.rm(lockPath, { force: true });
    },
  };
}

/** Replaces a dead owner's lock with ours, under the takeover guard; leaves it alone if it changed meanwhile. */
async function takeOverStale(dir: string, lockPath: string, stale: Owner, ours: string): Promise<void> {
  const guard = join(dir, TAKEOVER);
  try {
    await fsp.writeFile(guard, String(process.pid), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // Another starter is taking over; a guard left by a crash is dropped once it is old.
    const st = await fsp.stat(guard).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10_000) await fsp.rm(guard, { force: true });
    await new Promise((r) => setTimeout(r, 50));
    return;
  }
  try {
    const now = await readOwner(lockPath);
    if (now && now.pid === stale.pid && now.start === stale.start && !alive(now)) await fsp.rename(ours, lockPath);
  } finally {
    await fsp.rm(guard, { force: true });
  }
}
