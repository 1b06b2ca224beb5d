// The lock of a destination folder: a run restoring into `--to DIR` holds a lock file in DIR itself for the whole
// run, so that a second run writing into that folder (by another path to it, a symbolic link, with another --state)
// refuses at once instead of starting a second retrieval job for each archive. Shards share a folder: the lock is
// per shard (`--shard K/N`), and a run refuses while any run whose shard can hold the same archives holds its own.
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { acquireLock, LockHeldError } from '../core/files.js';
import { UsageError } from '../core/errors.js';
import type { Shard } from './shard.js';

/**
 * The lock file's name in DIR for a run of `shard` (none: the whole vault, as `--shard 0/1`). It starts with
 * `.glacier-restore-`, which no archive's name ever does (safeName appends `_` to such a name), so no archive is
 * ever restored to it, nor taken for it.
 */
export function destLockName(shard?: Shard): string {
  return !shard || shard.n === 1 ? '.glacier-restore-run.lock' : `.glacier-restore-run-${shard.k}-of-${shard.n}.lock`;
}

const LOCK_NAME = /^\.glacier-restore-run(?:-(\d+)-of-(\d+))?\.lock$/;

/** The shard a lock file's name stands for, or undefined when the name is no such lock's. */
function shardOfName(name: string): Shard | undefined {
  const m = LOCK_NAME.exec(name);
  if (!m) return undefined;
  if (m[1] === undefined) return { k: 0, n: 1 };
  const s = { k: Number(m[1]), n: Number(m[2]) };
  return Number.isSafeInteger(s.n) && s.n >= 1 && s.k < s.n ? s : undefined;
}

const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/**
 * Whether two shards can hold the same archive: an archive is in K/N when its hash h is K mod N (src/restore/
 * shard.ts), and h ≡ a.k (mod a.n) with h ≡ b.k (mod b.n) has a solution exactly when a.k ≡ b.k modulo gcd(a.n, b.n)
 * (the Chinese remainder theorem). So 0/3 and 1/3 never meet, 0/2 and 1/4 never meet, 0/2 and 0/4 do.
 */
export function shardsOverlap(a: Shard, b: Shard): boolean {
  return (a.k - b.k) % gcd(a.n, b.n) === 0;
}

/** A run of `shard` as the error names it. */
const runOf = (s: Shard): string => (s.n === 1 ? 'another glacier-restore' : `another glacier-restore --shard ${s.k}/${s.n}`);

/** The UsageError for a lock held by someone else (or one that names no holder), naming it and what to do. */
function refusal(e: unknown, dir: string, lock: string, held: Shard, mine: Shard): unknown {
  if (!(e instanceof LockHeldError)) return e;
  if (e.pid === undefined) return new UsageError(`cannot lock ${dir} for this run: ${e.message}`);
  const other = e.host !== undefined && e.host !== hostname();
  const shared = held.k !== mine.k || held.n !== mine.n ? ` (--shard K/N runs of one N and different K may share a folder)` : '';
  return new UsageError(
    `${dir} is in use by process ${e.pid}${other ? ` on ${e.host}` : ''} (${runOf(held)} restoring into that folder, lock ${lock}); ` +
      `wait for it to end, or restore into another folder${shared}${other ? `; if that process is gone (its host stopped), remove ${lock}` : ''}`,
  );
}

/**
 * Takes the lock of the destination folder `dir` for a run of `shard` (see destLockName) with acquireLock: two
 * processes can never both hold it, one of a gone process of this host is taken over, another host's is refused.
 * Then every other run lock in `dir` whose shard overlaps this one's (shardsOverlap: the whole vault overlaps every
 * shard) is taken and released at once, so that a live one refuses this run (and a stale one is removed). Two runs
 * of overlapping shards starting together cannot both go on: each takes its own lock before reading the folder, so
 * the later reader sees the other's. `dir` is read once, as a stream (memory flat however many files it holds).
 * Resolves with the release (which removes the lock while it is still ours); throws UsageError (exit 2) naming the
 * holder's pid and host, and what to do, or a system error.
 */
export async function lockDestination(dir: string, shard?: Shard): Promise<() => Promise<void>> {
  const mine = shard && shard.n > 1 ? shard : { k: 0, n: 1 };
  const own = join(dir, destLockName(mine));
  let release: () => Promise<void>;
  try {
    release = await acquireLock(own);
  } catch (e) {
    throw refusal(e, dir, own, mine, mine);
  }
  try {
    const others: { lock: string; shard: Shard }[] = [];
    for await (const entry of await fsp.opendir(dir)) {
      const s = shardOfName(entry.name);
      if (!s || (s.k === mine.k && s.n === mine.n) || !shardsOverlap(s, mine)) continue;
      others.push({ lock: join(dir, entry.name), shard: s });
    }
    for (const o of others) {
      let free: () => Promise<void>;
      try {
        free = await acquireLock(o.lock);
      } catch (e) {
        throw refusal(e, dir, o.lock, o.shard, mine);
      }
      await free();
    }
  } catch (e) {
    await release();
    throw e;
  }
  return release;
}
