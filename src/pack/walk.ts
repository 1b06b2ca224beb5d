// The first scan: walks the PATHs with lstat (symlinks are entries, never followed), applies --exclude, and lists
// every entry in archive order with the stat fields its tar header needs, plus the total of file bytes to read
// (what progress counts against). Problems with a PATH the user named are usage errors, found before any output;
// problems inside a tree are reported and skipped, with GNU tar's exit status (1: changed or vanished, 2: cannot).
import { constants, type Stats } from 'node:fs';
import { isAbsolute, join, posix } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { UsageError } from '../core/errors.js';
import { Excluder } from './exclude.js';
import { nodeFs, reason, type PackFs } from './fs.js';

/** Something GNU tar would warn about; `status` is the exit status it implies (0: a notice only). */
export interface Problem {
  path: string;
  message: string;
  status: 0 | 1 | 2;
}

export type Kind = 'file' | 'directory' | 'symlink' | 'fifo' | 'character-device' | 'block-device';

export interface Entry {
  /** Where to read it. */
  path: string;
  /** Member name: '/'-separated, relative, no trailing '/'. */
  name: string;
  kind: Kind;
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  size: number;
  dev: number;
  ino: number;
  nlink: number;
  rdev: number;
}

export interface WalkOptions {
  /** -C DIR: relative PATHs are found here (names stay as given). */
  cwd?: string;
  exclude?: readonly string[];
  fs?: PackFs;
  problem(p: Problem): void;
  /** The archive itself when it is a file (stdout redirected into the tree): never packed into itself. */
  skip?: { dev: number; ino: number };
  signal?: AbortSignal;
}

export interface Walked {
  entries: Entry[];
  /** Bytes of file data to read, each hard-linked file counted once. */
  total: number;
}

export async function walk(inputs: readonly string[], o: WalkOptions): Promise<Walked> {
  const fs = o.fs ?? nodeFs;
  const excluder = new Excluder(o.exclude ?? []);
  const entries: Entry[] = [];
  const seen = new Set<string>();
  let total = 0;
  let visited = 0;
  const noticed = new Set<string>();
  const notice = (what: string) => {
    if (noticed.has(what)) return;
    noticed.add(what);
    o.problem({ path: '', message: `removing leading '${what}' from member names`, status: 0 });
  };

  const visit = async (path: string, name: string, st: Stats, top: boolean): Promise<void> => {
    if (excluder.matches(name)) return;
    const kind = kindOf(st);
    if (!kind) {
      o.problem({ path, message: 'socket ignored', status: 0 });
      return;
    }
    if (o.skip && st.dev === o.skip.dev && st.ino === o.skip.ino) {
      o.problem({ path, message: 'file is the archive; not dumped', status: 0 });
      return;
    }
    entries.push({ path, name, kind, mode: st.mode, uid: st.uid, gid: st.gid, mtimeMs: st.mtimeMs, size: kind === 'file' ? st.size : 0, dev: st.dev, ino: st.ino, nlink: st.nlink, rdev: st.rdev });
    if (kind === 'file') {
      const id = `${st.dev}:${st.ino}`;
      if (st.nlink < 2 || !seen.has(id)) total += st.size;
      if (st.nlink > 1) seen.add(id);
      return;
    }
    if (kind !== 'directory') return;
    let children: Buffer[];
    try {
      children = fs.readdir(path);
    } catch (e) {
      if (top) throw new UsageError(`cannot read ${path}: ${reason(e)}`);
      o.problem({ path, message: `cannot read directory: ${reason(e)}`, status: 2 });
      return;
    }
    children.sort(Buffer.compare);
    for (const raw of children) {
      const child = raw.toString('utf8');
      const childPath = `${path === '/' ? '' : path}/${child}`;
      // Node paths are strings: a name that is not UTF-8 cannot even be opened again, so say so rather than
      // report it as vanished.
      if (!Buffer.from(child, 'utf8').equals(raw)) {
        o.problem({ path: childPath, message: 'name is not valid UTF-8; not dumped', status: 2 });
        continue;
      }
      let cst: Stats;
      try {
        cst = fs.lstat(childPath);
      } catch (e) {
        const gone = (e as NodeJS.ErrnoException).code === 'ENOENT';
        o.problem({ path: childPath, message: gone ? 'file removed before we read it' : `cannot stat: ${reason(e)}`, status: gone ? 1 : 2 });
        continue;
      }
      // The calls are synchronous (see fs.ts): let signals through now and then on a big tree.
      if (++visited % 512 === 0) {
        await yieldToLoop();
        if (o.signal?.aborted) throw o.signal.reason;
      }
      await visit(childPath, `${name}/${child}`, cst, false);
    }
  };

  for (const input of inputs) {
    if (input === '') throw new UsageError('empty PATH');
    // As given (so that warnings name what the user typed), under -C DIR when relative.
    const path = (o.cwd && !isAbsolute(input) ? join(o.cwd, input) : input).replace(/(.)\/+$/, '$1');
    let st: Stats;
    try {
      st = fs.lstat(path);
    } catch (e) {
      throw new UsageError(`cannot stat ${input}: ${reason(e)}`);
    }
    if (st.isFile()) {
      try {
        fs.access(path, constants.R_OK);
      } catch (e) {
        throw new UsageError(`cannot read ${input}: ${reason(e)}`);
      }
    }
    const { name, stripped } = memberName(input);
    if (stripped) notice(stripped);
    await visit(path, name, st, true);
  }
  return { entries, total };
}

/**
 * The member name of a PATH as GNU tar makes it: normalized, without a trailing '/', without leading '/' or '../'
 * (restoring then never writes outside the folder it is run in). '.' stays '.', so its children are './x'.
 */
export function memberName(input: string): { name: string; stripped?: string } {
  let name = posix.normalize(input).replace(/\/+$/, '');
  let stripped: string | undefined;
  if (name.startsWith('/')) {
    name = name.replace(/^\/+/, '');
    stripped = '/';
  }
  while (name === '..' || name.startsWith('../')) {
    name = name.slice(3);
    stripped = '../';
  }
  return { name: name === '' ? '.' : name, stripped };
}

function kindOf(st: Stats): Kind | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  if (st.isCharacterDevice()) return 'character-device';
  if (st.isBlockDevice()) return 'block-device';
  return undefined; // a socket: GNU tar ignores them too
}
