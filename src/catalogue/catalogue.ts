// The local catalogue: one JSON line per archive this host uploaded (or found in an inventory) and per archive it
// deleted, kept per account, region and vault, so an archive id lost from glacier-put's stdout is found again
// without an inventory job (hours). Several writers at once (overlapping cron jobs) append whole lines with one
// O_APPEND write each; a line cut by a crash is skipped when read.
import { closeSync, constants, createReadStream, fstatSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, statSync, writeSync, type Stats } from 'node:fs';
import { open as openAsync } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { ServiceError, UsageError } from '../core/errors.js';
import { journalDir } from '../upload/journal.js';
import { displayName } from '../core/archive-name.js';

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

/** Where an archive came from: glacier-put's FILE (or spool folder), its stdin, its `-- CMD`, or an inventory. */
export type Source = 'file' | 'stdin' | 'command' | 'inventory';

/**
 * An archive as `glacier-ls --archives` prints it: the field names of `glacier-job output --archives` (Glacier's
 * inventory names) plus Name (the decoded name glacier-restore gives), Source and Host (null when found in an
 * inventory: uploaded by another host or tool).
 */
export interface CatalogueArchive {
  ArchiveId: string;
  ArchiveDescription: string;
  /** ISO 8601 UTC */
  CreationDate: string;
  /** bytes */
  Size: number;
  SHA256TreeHash: string;
  Name: string;
  Source: Source;
  Host: string | null;
}

/** The vault a catalogue line belongs to (one --catalogue FILE may hold several vaults). */
export interface VaultKey {
  account: string;
  region: string;
  vault: string;
}

type Line =
  | ({ Event: 'archive'; Vault: string; Region: string; Account: string } & CatalogueArchive)
  | { Event: 'deleted'; Vault: string; Region: string; Account: string; ArchiveId: string; DeletionDate: string; Host: string };

/**
 * The catalogue file of a vault: `--catalogue FILE`, else GLACIER_CATALOGUE, else
 * `$XDG_STATE_HOME/glacier-pipes/catalogue/REGION.VAULT.jsonl` (XDG_STATE_HOME defaults to ~/.local/state). The
 * account is not in the name: `--account-id 123456789012` and `-` (the credentials' own, maybe that same account)
 * must find the same lines, so an upload and a deletion spelled differently never split it (see sameAccount).
 * Throws UsageError (exit 2), before anything is created, without a region, or for a region or vault that is not
 * a region or vault name (a `/` or `..` would put the file outside the catalogue folder).
 */
export function cataloguePath(key: VaultKey, option?: string, env: Record<string, string | undefined> = process.env): string {
  if (option) return option;
  if (env.GLACIER_CATALOGUE) return env.GLACIER_CATALOGUE;
  if (!key.region) throw new UsageError('no region for the catalogue: give --region or set AWS_REGION (or name the file: --catalogue FILE)');
  // AWS region names (us-east-1, cn-north-1, us-gov-west-1); vault names per the CreateVault rules (protocol §3).
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(key.region)) throw new UsageError(`invalid region "${key.region}": a region name such as us-east-1 (or name the catalogue: --catalogue FILE)`);
  if (!/^[A-Za-z0-9._-]{1,255}$/.test(key.vault) || /^\.+$/.test(key.vault)) throw new UsageError(`invalid vault name "${key.vault}": 1 to 255 of A-Z a-z 0-9 _ - .`);
  return join(journalDir(env), 'catalogue', `${key.region}.${key.vault}.jsonl`);
}

/** Whether a line's account and the one asked for may be the same: equal, or either is `-` (the credentials' own). */
export function sameAccount(line: string | undefined, asked: string): boolean {
  return !line || line === asked || line === '-' || asked === '-';
}

/**
 * Refuses a catalogue in a folder another user could swap or fill, as ssh refuses a key file in one: each folder
 * from the catalogue's up to / (each link on the way as given, and the folders it leads to) must be this user's
 * or root's, and not writable by others unless sticky (/tmp). Folders not yet there are skipped (they will be
 * created 0700). Throws ServiceError naming the folder and the fix.
 */
export function checkFolders(file: string): void {
  const me = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (me === undefined) return;
  const check = (dir: string, st: Stats, what: string) => {
    if (st.uid !== me && st.uid !== 0) throw new ServiceError(`the catalogue's folder ${dir} ${what} belongs to another user (uid ${st.uid}); keep the catalogue in a folder of your own: --catalogue ~/FILE`);
    if (!st.isSymbolicLink() && (st.mode & 0o002) && !(st.mode & 0o1000)) throw new ServiceError(`the catalogue's folder ${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}); chmod o-w ${dir}, or keep the catalogue in a folder of your own: --catalogue ~/FILE`);
  };
  const walk = (start: string, stat: (p: string) => Stats, what: string) => {
    for (let dir = start; ; dir = dirname(dir)) {
      let st: Stats | undefined;
      try {
        st = stat(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ServiceError(`cannot check the catalogue's folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      if (st) check(dir, st, what);
      if (dirname(dir) === dir) return;
    }
  };
  const dir = dirname(resolve(file));
  walk(dir, lstatSync, '(or a link on its way)');
  let real: string | undefined;
  for (let d = dir; !real; d = dirname(d)) {
    try {
      real = realpathSync(d);
    } catch {
      if (dirname(d) === d) return;
    }
  }
  walk(real, statSync, '');
}

/**
 * The Name of an archive's `--archives` line: the name glacier-restore gives it (before de-duplication), from the
 * one decoder, with `/` after a folder marker's folder (`photos/`), as `glacier-job output --archives` gives it.
 */
export function archiveName(archiveId: string, description: string | null | undefined): string {
  return displayName(archiveId, description);
}

/**
 * Refuses a catalogue that is not a regular file of this user, or that others may write to: its lines decide what
 * glacier-rm deletes, so a file planted in a shared folder (--catalogue /tmp/...) must not be taken for ours.
 */
function checkOwn(st: Stats, path: string): void {
  if (!st.isFile()) throw new ServiceError(`catalogue ${path} is not a regular file; move it away or give another with --catalogue FILE`);
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) {
    throw new ServiceError(`catalogue ${path} belongs to another user; refusing it (give your own with --catalogue FILE)`);
  }
  if (st.mode & 0o022) throw new ServiceError(`catalogue ${path} is writable by others (mode ${(st.mode & 0o777).toString(8)}); make it private: chmod 600 ${path}`);
}

/**
 * A catalogue opened for appending. Created O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600 (its folder 0700), or opened
 * O_APPEND|O_NOFOLLOW when it exists (refused when it is not a regular file of this user): a link planted at its
 * name is never followed.
 */
export class CatalogueWriter {
  private checked = false;

  private constructor(
    readonly path: string,
    private readonly key: VaultKey,
    private fd: number,
  ) {}

  /** Opens (creating if need be) the catalogue at `path`. Throws ServiceError naming the file and the fix. */
  static open(path: string, key: VaultKey): CatalogueWriter {
    checkFolders(path);
    let fd: number;
    try {
      mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
      try {
        fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        // O_NONBLOCK: a FIFO planted at the name fails at once (ENXIO) instead of waiting for a reader for ever.
        fd = openSync(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK);
      }
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ELOOP' ? 'it is a symbolic link' : code === 'ENXIO' ? 'it is not a regular file (a FIFO?)' : (code ?? (e as Error).message);
      throw new ServiceError(`cannot open the catalogue ${path}: ${why}; give a writable file with --catalogue FILE (or GLACIER_CATALOGUE)`);
    }
    try {
      checkOwn(fstatSync(fd), path);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new CatalogueWriter(path, key, fd);
  }

  /** Records archives (an upload, or those an inventory adds). One write per call; throws ServiceError. */
  addArchives(archives: CatalogueArchive[]): void {
    this.write(archives.map((a) => ({ Event: 'archive', ...this.where(), ...a })));
  }

  /** Records deletions at `when` (default now). */
  addDeletions(archiveIds: string[], when = new Date()): void {
    const host = hostname();
    this.write(archiveIds.map((id) => ({ Event: 'deleted', ...this.where(), ArchiveId: id, DeletionDate: when.toISOString(), Host: host })));
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }

  private where() {
    return { Vault: this.key.vault, Region: this.key.region, Account: this.key.account };
  }

  private write(lines: Line[]): void {
    if (!lines.length) return;
    // A line cut by a crash ends the file without its newline: begin on a line of our own, or ours would be glued
    // to it and lost with it. (Two writers may both add one: a blank line, skipped when read.) Asked before our
    // first line only: every line written since, ours or another writer's, went out whole in one write.
    const torn = this.checked ? false : this.endsTorn();
    this.checked = true;
    const text = (torn ? '\n' : '') + lines.map((l) => `${JSON.stringify(l)}\n`).join('');
    const buf = Buffer.from(text);
    try {
      // One write with O_APPEND: the kernel places it whole at the end, so concurrent writers never interleave.
      const n = writeSync(this.fd, buf);
      if (n !== buf.length) throw Object.assign(new Error(`short write (${n} of ${buf.length} bytes)`), { code: 'ENOSPC' });
    } catch (e) {
      throw new ServiceError(`cannot append to the catalogue ${this.path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  private endsTorn(): boolean {
    const size = fstatSync(this.fd).size;
    if (size === 0) return false;
    let rfd: number;
    try {
      rfd = openSync(this.path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    } catch {
      return false;
    }
    try {
      const b = Buffer.alloc(1);
      return readSync(rfd, b, 0, 1, size - 1) === 1 && b[0] !== 0x0a;
    } finally {
      closeSync(rfd);
    }
  }
}

/** What a catalogue holds for a vault: its archives (deletions applied) and the ids recorded as deleted. */
export interface CatalogueState {
  archives: Map<string, CatalogueArchive>;
  deleted: Map<string, string>;
  /** Lines that were not catalogue lines (a line torn by a crash): skipped. */
  skipped: number;
  /** Whether the file exists at all (nothing uploaded from here yet, when not). */
  exists: boolean;
}

/**
 * Reads the catalogue at `path` for `key`'s vault (lines of other vaults, regions or accounts skipped), in file
 * order: an archive deleted after it was recorded is left out, one recorded again after a deletion comes back. A
 * missing file is an empty catalogue; a line that does not parse (torn by a crash) is counted in `skipped`.
 * Opened O_NOFOLLOW. Throws ServiceError when the file cannot be read, or is another user's or writable by others.
 */
export async function readCatalogue(path: string, key: VaultKey): Promise<CatalogueState> {
  const state: CatalogueState = { archives: new Map(), deleted: new Map(), skipped: 0, exists: false };
  let fh;
  checkFolders(path);
  try {
    // O_NONBLOCK: a FIFO at the name opens at once (and is then refused as not a regular file) instead of
    // blocking a thread of the pool until a writer comes, deaf to SIGTERM.
    fh = await openAsync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return state;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ServiceError(`cannot read the catalogue ${path}: ${code === 'ELOOP' ? 'it is a symbolic link' : (code ?? (e as Error).message)}`);
  }
  state.exists = true;
  try {
    checkOwn(await fh.stat(), path);
    const input = createReadStream('', { fd: fh.fd, autoClose: false });
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      if (!text.trim()) continue;
      let l: Line;
      try {
        l = JSON.parse(text) as Line;
      } catch {
        state.skipped++;
        continue;
      }
      if (!l || typeof l !== 'object' || typeof l.ArchiveId !== 'string') {
        state.skipped++;
        continue;
      }
      if (l.Vault !== key.vault || (l.Region && key.region && l.Region !== key.region) || !sameAccount(l.Account, key.account)) continue;
      if (l.Event === 'deleted') {
        state.archives.delete(l.ArchiveId);
        state.deleted.set(l.ArchiveId, l.DeletionDate);
      } else if (l.Event === 'archive') {
        const { Event: _e, Vault: _v, Region: _r, Account: _a, ...archive } = l;
        state.archives.set(l.ArchiveId, archive);
        state.deleted.delete(l.ArchiveId);
      } else state.skipped++;
    }
  } finally {
    await fh.close();
  }
  return state;
}

/** This host's name, as catalogue lines carry it. */
export const thisHost = (): string => hostname();
