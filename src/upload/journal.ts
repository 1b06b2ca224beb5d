// The journal of a multipart upload: enough to resume it after a failure, a SIGINT or a kill -9, and to name it
// when it cannot be aborted. One JSON line in $XDG_STATE_HOME/glacier-pipes/<uploadId>.journal (mode 0600).
// Glacier's own ListParts is the truth on resume, so the journal holds no per-part lines.
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ServiceError } from '../core/errors.js';

export interface JournalHeader {
  type: 'glacier-put';
  version: 1;
  vault: string;
  accountId: string;
  region?: string;
  endpoint?: string;
  /** --profile as given, for the commands printed in messages. */
  profile?: string;
  uploadId: string;
  partSize: number;
  description: string | null;
  source: { kind: 'file' | 'stdin' | 'chunks' | 'spool'; path?: string };
  created: string;
}

export function journalDir(env: Record<string, string | undefined> = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'glacier-pipes');
}

// Created exclusively, never through a planted symlink.
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

function writeWhole(path: string, text: string, flags: number): void {
  const fd = openSync(path, flags, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The journal's folder, found writable before the upload exists: a probe as long as the real journal is written,
 * synced and removed, so that a read-only or full folder fails before any request and nothing is left behind.
 */
export class PendingJournal {
  private constructor(
    readonly dir: string,
    /** The first folder prepare() created, if any: removed again (when empty) by discard(). */
    private readonly created?: string,
  ) {}

  /** Creates `dir` (0700) and probes it. Throws ServiceError (exit 1) naming the folder when it cannot be written. */
  static prepare(dir: string, header: Omit<JournalHeader, 'uploadId'>): PendingJournal {
    const probe = join(dir, `.probe-${randomBytes(8).toString('hex')}.journal`);
    let created: string | undefined;
    try {
      created = mkdirSync(dir, { recursive: true, mode: 0o700 });
      // As long as the real line will be (an upload id is 92-138 characters), so a nearly full disk fails here.
      writeWhole(probe, `${JSON.stringify({ ...header, uploadId: 'x'.repeat(138) })}\n`, CREATE);
      rmSync(probe, { force: true });
    } catch (e) {
      rmSync(probe, { force: true });
      new PendingJournal(dir, created).discard();
      throw new ServiceError(`cannot write the upload journal in ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; nothing was sent (set XDG_STATE_HOME to a writable folder)`);
    }
    return new PendingJournal(dir, created);
  }

  /** Writes <uploadId>.journal (new, 0600, synced). Throws ServiceError when the disk refuses. */
  commit(header: JournalHeader): Journal {
    const path = join(this.dir, `${header.uploadId}.journal`);
    try {
      writeWhole(path, `${JSON.stringify(header)}\n`, CREATE);
    } catch (e) {
      rmSync(path, { force: true });
      this.discard();
      throw new ServiceError(`cannot write the upload journal ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return new Journal(path, header);
  }

  /** Removes the folders prepare() created if nothing is in them. */
  discard(): void {
    if (!this.created) return;
    for (let d = this.dir; d.length >= this.created.length; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty: someone else's
      }
    }
  }
}

export class Journal {
  constructor(
    readonly path: string,
    readonly header: JournalHeader,
  ) {}

  /** Writes a journal at once (for an upload that already exists). */
  static create(dir: string, header: JournalHeader): Journal {
    return PendingJournal.prepare(dir, header).commit(header);
  }

  /** Journals of a vault, newest first. */
  static find(dir: string, filter: (h: JournalHeader) => boolean = () => true): { path: string; header: JournalHeader }[] {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.journal') && !n.startsWith('.'));
    } catch {
      return [];
    }
    const out: { path: string; header: JournalHeader; mtime: number }[] = [];
    for (const n of names) {
      const path = join(dir, n);
      try {
        const header = JSON.parse(readFileSync(path, 'utf8').split('\n')[0]) as JournalHeader;
        if (header.type === 'glacier-put' && filter(header)) out.push({ path, header, mtime: statSync(path).mtimeMs });
      } catch {
        // not ours or unreadable: ignore
      }
    }
    return out.sort((a, b) => b.mtime - a.mtime);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
