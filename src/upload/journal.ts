// The journal of a multipart upload: enough to resume it after a failure, a SIGINT or a kill -9.
// JSON lines in $XDG_STATE_HOME/glacier-pipes/<uploadId>.journal (mode 0600): a header, then one line per part
// that Glacier accepted. Glacier's own ListParts stays the truth on resume; the journal says where to look.
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync, fsyncSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface JournalHeader {
  type: 'glacier-put';
  version: 1;
  vault: string;
  accountId: string;
  region?: string;
  endpoint?: string;
  uploadId: string;
  partSize: number;
  description: string | null;
  source: { kind: 'file' | 'stdin' | 'chunks' | 'spool'; path?: string };
  created: string;
}

export interface JournalPart {
  part: number;
  size: number;
  treeHash: string;
}

export function journalDir(env = process.env): string {
  const base = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'glacier-pipes');
}

export class Journal {
  constructor(
    readonly path: string,
    readonly header: JournalHeader,
  ) {}

  static create(dir: string, header: JournalHeader): Journal {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, `${header.uploadId}.journal`);
    const fd = openSync(path, 'w', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(header)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return new Journal(path, header);
  }

  static read(path: string): { journal: Journal; parts: JournalPart[] } {
    const lines = readFileSync(path, 'utf8').split('\n').filter(Boolean);
    const header = JSON.parse(lines[0]) as JournalHeader;
    const parts: JournalPart[] = [];
    for (const l of lines.slice(1)) {
      try {
        parts.push(JSON.parse(l));
      } catch {
        break; // a line cut short by a crash: ListParts will tell the rest
      }
    }
    return { journal: new Journal(path, header), parts };
  }

  /** Journals of a vault, newest first. */
  static find(dir: string, filter: (h: JournalHeader) => boolean = () => true): { path: string; header: JournalHeader }[] {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith('.journal'));
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

  addPart(p: JournalPart): void {
    appendFileSync(this.path, `${JSON.stringify(p)}\n`, { mode: 0o600 });
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }
}
