// File names for archives, made unique: the decoder is core/archive-name.ts; here a duplicate gets a suffix derived
// from the archive id alone, and names recorded in the state or held in the destination are never given again.
import { baseName, shortHash, withTag, type BaseName } from '../core/archive-name.js';

export { baseName, decodeDescription, decodeUtf7, displayName, safeName, SEGMENT_MAX, type BaseName, type Decoded } from '../core/archive-name.js';

/** `photo.jpg` + `x1y2` → `photo~x1y2.jpg` (the suffix before the extension, so the type stays visible). */
function withSuffix(name: string, suffix: string): string {
  const slash = name.lastIndexOf('/');
  return `${name.slice(0, slash + 1)}${withTag(name.slice(slash + 1), suffix)}`;
}

export interface Named extends BaseName {
  /** Whether the name was recorded in an earlier run (it is kept as it was). */
  recorded?: boolean;
}

/**
 * Gives each archive its name: its base name when free, else `~` + 8 characters of its archive id's hash
 * (then `-2`, `-3`... on the rare collision of those): the suffix depends on the archive alone, never on input
 * order. Free means: no other archive of this run or recorded in the state holds it (or a folder of it, or a file
 * where it needs a folder), compared as the destination compares names (`fold`), and the destination does not hold
 * it for another archive (`taken`). Memory: 16 bytes of hash per name and folder seen.
 */
export class Namer {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly fold: (s: string) => string;

  /**
   * `overrides`: archive id → name (--names). `o.fold`: how the destination compares names (identity, or
   * lower case for a case-insensitive folder). `o.held`: names recorded for archives in an earlier run (they stay
   * theirs whether or not those archives are in this run's input; a trailing `/` marks a folder).
   */
  constructor(
    private readonly overrides: Map<string, string> = new Map(),
    o: { fold?: (s: string) => string; held?: Iterable<string> } = {},
  ) {
    this.fold = o.fold ?? ((s) => s);
    for (const n of o.held ?? []) this.take(n.replace(/\/$/, ''), n.endsWith('/'));
  }

  /**
   * The base name of an archive (override, description or id), not yet made unique. A folder marker that holds
   * bytes (`size` > 0) keeps them as a file in its folder, named by the archive id (its file name is blank).
   */
  base(archiveId: string, description: string | undefined, size = 0): BaseName {
    const b = baseName(archiveId, description, this.overrides.get(archiveId));
    return b.folder && size > 0 ? { ...b, name: `${b.name}/${archiveId}`, folder: false } : b;
  }

  /** Names an archive from this run's names alone (the destination unchecked): for --dry-run and tests. */
  name(archiveId: string, description: string | undefined, size = 0): Named {
    const b = this.base(archiveId, description, size);
    for (const n of this.candidates(b, archiveId)) {
      if (this.free(n, b.folder)) return this.took(b, n);
    }
    throw new Error('unreachable');
  }

  /**
   * Names an archive for good: `recorded` (its name from the state) is kept as it is; else the first candidate
   * free here and not `taken(name, folder)` in the destination (resolves true when the destination holds that
   * name for something else).
   */
  claim(archiveId: string, description: string | undefined, o: { size?: number; recorded?: string; taken?: (name: string, folder: boolean) => Promise<boolean> } = {}): Promise<Named> {
    // One claim at a time: two archives asking the destination about the same free name never both get it.
    const next = this.claiming.then(() => this.claimNow(archiveId, description, o));
    this.claiming = next.catch(() => {});
    return next;
  }

  private claiming: Promise<unknown> = Promise.resolve();

  private async claimNow(archiveId: string, description: string | undefined, o: { size?: number; recorded?: string; taken?: (name: string, folder: boolean) => Promise<boolean> }): Promise<Named> {
    const b = this.base(archiveId, description, o.size);
    if (o.recorded !== undefined) {
      const folder = o.recorded.endsWith('/');
      const name = o.recorded.replace(/\/$/, '');
      this.take(name, folder);
      return { ...b, name, folder, recorded: true };
    }
    for (const n of this.candidates(b, archiveId)) {
      if (!this.free(n, b.folder)) continue;
      // Held in the destination by something else (asked per archive: a file is its own archive's).
      if (o.taken && (await o.taken(n, b.folder))) continue;
      return this.took(b, n);
    }
    throw new Error('unreachable');
  }

  private took(b: BaseName, name: string): Named {
    this.take(name, b.folder);
    return { ...b, name };
  }

  private *candidates(b: BaseName, archiveId: string): Generator<string> {
    yield b.name;
    const h = shortHash(archiveId);
    // A folder that is a file already cannot take a suffix away: then the path is flattened.
    const base = this.parentIsFile(b.name) ? b.name.replace(/\//g, '_') : b.name;
    yield withSuffix(base, h);
    for (let i = 2; ; i++) yield withSuffix(base, `${h}-${i}`);
  }

  private key(name: string): string {
    return shortHash(this.fold(name), 16);
  }

  /** Whether `name` is free: a folder marker may share a folder with other names, a file may not. */
  private free(name: string, folder = false): boolean {
    const k = this.key(name);
    if (this.files.has(k) || (!folder && this.dirs.has(k))) return false;
    return !this.parentIsFile(name);
  }

  private parentIsFile(name: string): boolean {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) if (this.files.has(this.key(parts.slice(0, i).join('/')))) return true;
    return false;
  }

  private take(name: string, folder: boolean): void {
    if (folder) this.dirs.add(this.key(name));
    else this.files.add(this.key(name));
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) this.dirs.add(this.key(parts.slice(0, i).join('/')));
  }
}
