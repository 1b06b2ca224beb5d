// A vault's archives: the ones uploaded (one record each) and synthetic ones made by the admin fill call, which
// cost no memory per archive. A fill is one record (count, size, one shared body, a description template) and
// its archives are virtual: archive i has the id TAG + KEY + i (10 digits) + FILLER, so it is found, listed,
// retrieved and deleted like any other; deleting one adds i to the fill's deleted set. This is what lets one
// glacier-local hold a vault of millions of archives in bounded memory, for tests and benchmarks at scale.
// Order: by CreationDate, then id (a fill's archives share one CreationDate and sort by index).
import { randomBytes } from 'node:crypto';
import type { Archive } from './store.js';
import type { Vfs } from './vfs.js';

/** A fill as stored in `<vault>/f/<key>/fill.json`; its shared body is `<vault>/f/<key>/data`. */
export interface Fill {
  key: string; // 20 base64url characters
  count: number;
  size: number;
  treeHash: string;
  leaves: string;
  creationDate: string;
  /** The archives' description; `{i}` stands for the archive's index in the fill. */
  description: string;
  /** Indexes deleted since, sorted. */
  deleted: number[];
}

interface LiveFill {
  fill: Fill;
  deleted: Set<number>;
  filler: string;
}

const KEY_LEN = 20;
const INDEX_LEN = 10;
const ID_LEN = 138;
const TAG_LEN = 16;

/** The parts of the archive listing that inventories and counts read: a frozen snapshot or the live index. */
export interface ArchiveView {
  readonly size: number;
  totalBytes(): number;
  /** Every archive in inventory order (creation date, then id). Archives of fills are made on the fly. */
  ordered(): Generator<Archive>;
}

export class ArchiveIndex implements ArchiveView {
  private readonly real = new Map<string, Archive>();
  private readonly fills = new Map<string, LiveFill>();

  constructor(private readonly tag: string) {}

  get size(): number {
    let n = this.real.size;
    for (const f of this.fills.values()) n += f.fill.count - f.deleted.size;
    return n;
  }

  totalBytes(): number {
    let n = 0;
    for (const a of this.real.values()) n += a.size;
    for (const f of this.fills.values()) n += (f.fill.count - f.deleted.size) * f.fill.size;
    return n;
  }

  get(id: string): Archive | undefined {
    const real = this.real.get(id);
    if (real) return real;
    const hit = this.virtual(id);
    return hit && makeArchive(hit.f, hit.i, id);
  }

  has(id: string): boolean {
    return this.real.has(id) || this.virtual(id) !== undefined;
  }

  set(id: string, a: Archive): this {
    this.real.set(id, a);
    return this;
  }

  /** Removes an uploaded archive (true if it was there). A synthetic archive goes through deleteVirtual. */
  delete(id: string): boolean {
    return this.real.delete(id);
  }

  /** Whether `id` names an archive of a fill (deleted or not). */
  isVirtual(id: string): boolean {
    return this.parse(id) !== undefined;
  }

  /** Deletes a synthetic archive and records it in its fill's file; deleting twice is not an error. */
  async deleteVirtual(vfs: Vfs, vaultDir: string, id: string): Promise<void> {
    const hit = this.virtual(id);
    if (!hit) return;
    hit.f.deleted.add(hit.i);
    hit.f.fill.deleted = [...hit.f.deleted].sort((a, b) => a - b);
    await vfs.writeJson(`${vaultDir}/f/${hit.f.fill.key}/fill.json`, hit.f.fill);
  }

  /** Archives in no particular order. */
  *values(): Generator<Archive> {
    yield* this.real.values();
    for (const f of this.fills.values()) yield* fillArchives(f, this.tag);
  }

  ordered(): Generator<Archive> {
    return orderedArchives([...this.real.values()], [...this.fills.values()], this.tag);
  }

  /** A frozen copy of the listing: later uploads and deletes do not show in it. */
  freeze(): ArchiveView {
    const real = [...this.real.values()];
    const fills = [...this.fills.values()].map((f) => ({ ...f, deleted: new Set(f.deleted) }));
    const tag = this.tag;
    let size = real.length;
    let bytes = real.reduce((n, a) => n + a.size, 0);
    for (const f of fills) {
      size += f.fill.count - f.deleted.size;
      bytes += (f.fill.count - f.deleted.size) * f.fill.size;
    }
    return { size, totalBytes: () => bytes, ordered: () => orderedArchives(real, fills, tag) };
  }

  /** A new fill key, and the path of the fill's folder under the vault. */
  static newKey(): string {
    return randomBytes(15).toString('base64url');
  }

  /** Adds a fill (its body and fill.json already written). */
  addFill(fill: Fill): void {
    this.fills.set(fill.key, { fill, deleted: new Set(fill.deleted), filler: fillerOf(fill.key) });
  }

  /** The id of archive `i` of fill `key`. */
  fillArchiveId(key: string, i: number): string {
    return virtualId(this.tag, this.fills.get(key)!, i);
  }

  /** Loads the fills kept under `<vaultDir>/f/`. */
  async load(vfs: Vfs, vaultDir: string): Promise<void> {
    for (const key of await vfs.list(`${vaultDir}/f`)) {
      const fill = await vfs.readJson<Fill>(`${vaultDir}/f/${key}/fill.json`);
      if (fill) this.addFill(fill);
      else await vfs.remove(`${vaultDir}/f/${key}`); // a fill whose record never landed
    }
  }

  private parse(id: string): { f: LiveFill; i: number } | undefined {
    if (id.length !== ID_LEN || !id.startsWith(this.tag)) return undefined;
    const f = this.fills.get(id.slice(TAG_LEN, TAG_LEN + KEY_LEN));
    if (!f) return undefined;
    const digits = id.slice(TAG_LEN + KEY_LEN, TAG_LEN + KEY_LEN + INDEX_LEN);
    if (!/^\d+$/.test(digits) || id.slice(TAG_LEN + KEY_LEN + INDEX_LEN) !== f.filler) return undefined;
    const i = Number(digits);
    return i < f.fill.count ? { f, i } : undefined;
  }

  private virtual(id: string): { f: LiveFill; i: number } | undefined {
    const hit = this.parse(id);
    return hit && !hit.f.deleted.has(hit.i) ? hit : undefined;
  }
}

function fillerOf(key: string): string {
  // Deterministic per fill, so an id can be checked without storing it; base64url like the rest of the id.
  return Buffer.from(key.repeat(5)).toString('base64url').slice(0, ID_LEN - TAG_LEN - KEY_LEN - INDEX_LEN).padEnd(ID_LEN - TAG_LEN - KEY_LEN - INDEX_LEN, 'A');
}

function virtualId(tag: string, f: LiveFill, i: number): string {
  return tag + f.fill.key + String(i).padStart(INDEX_LEN, '0') + f.filler;
}

function makeArchive(f: LiveFill, i: number, id: string): Archive {
  const { fill } = f;
  return {
    id, description: fill.description.replaceAll('{i}', String(i)), creationDate: fill.creationDate, size: fill.size,
    treeHash: fill.treeHash, leaves: fill.leaves,
    // A path with a '/' is relative to the vault's folder (Store.archiveFile): every archive of the fill shares it.
    segments: [{ file: `f/${fill.key}/data`, size: fill.size }],
  };
}

function* fillArchives(f: LiveFill, tag: string): Generator<Archive> {
  for (let i = 0; i < f.fill.count; i++) if (!f.deleted.has(i)) yield makeArchive(f, i, virtualId(tag, f, i));
}

function* orderedArchives(real: Archive[], fills: LiveFill[], tag: string): Generator<Archive> {
  const byDateId = (a: { creationDate: string; id: string }, b: { creationDate: string; id: string }) =>
    a.creationDate < b.creationDate ? -1 : a.creationDate > b.creationDate ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  const sortedReal = [...real].sort(byDateId);
  // Each fill is a block of ids starting with tag+key: sorted among the real archives by its first id.
  const blocks = fills.map((f) => ({ creationDate: f.fill.creationDate, id: tag + f.fill.key, f })).sort(byDateId);
  let r = 0;
  for (const b of blocks) {
    while (r < sortedReal.length && byDateId(sortedReal[r], b) < 0) yield sortedReal[r++];
    yield* fillArchives(b.f, tag);
  }
  while (r < sortedReal.length) yield sortedReal[r++];
}
