// What `glacier-ls --archives` prints: the catalogue's archives of a vault, picked by age and name, and, with an
// inventory, reconciled with it: what other hosts or tools uploaded is added (and recorded), what the inventory
// lacks is marked.
import type { ArchiveRecord } from '../retrieve/inventory.js';
import { globToRegExp } from '../pack/exclude.js';
import { archiveName, type CatalogueArchive, type CatalogueState, type CatalogueWriter } from './catalogue.js';

export interface Selection {
  /** Only archives created more than this many ms before `now`. */
  olderThanMs?: number;
  /** Only archives created less than this many ms before `now`. */
  newerThanMs?: number;
  /** A glob (`*`, `?`, `[a-z]`; `*` stops at `/`, `**` does not) on the whole Name. */
  name?: string;
  now?: number;
}

/** A listed archive; with an inventory, whether the inventory holds it. */
export type Listed = CatalogueArchive & { InInventory?: boolean };

/** A predicate for `sel`: dates as ISO 8601; an archive without a readable CreationDate never passes an age test. */
export function selector(sel: Selection): (a: CatalogueArchive) => boolean {
  const now = sel.now ?? Date.now();
  const name = sel.name === undefined ? undefined : globToRegExp(sel.name);
  return (a) => {
    const created = Date.parse(a.CreationDate);
    if (sel.olderThanMs !== undefined && !(now - created > sel.olderThanMs)) return false;
    if (sel.newerThanMs !== undefined && !(now - created < sel.newerThanMs)) return false;
    return !name || name.test(a.Name);
  };
}

/** The catalogue's archives in creation order (then id), those `sel` picks. */
export function listCatalogue(state: CatalogueState, sel: Selection): Listed[] {
  const pick = selector(sel);
  return [...state.archives.values()].filter(pick).sort(byCreation);
}

const byCreation = (a: CatalogueArchive, b: CatalogueArchive) => (a.CreationDate < b.CreationDate ? -1 : a.CreationDate > b.CreationDate ? 1 : a.ArchiveId < b.ArchiveId ? -1 : 1);

export interface Reconciled {
  archives: Listed[];
  /** Archives of the inventory the catalogue lacked (now recorded with Source "inventory"). */
  added: number;
  /** Archives of the catalogue the inventory lacks (uploaded after it was taken, or deleted by another host). */
  missing: number;
}

/**
 * Reconciles the catalogue with an inventory of the vault: each inventory archive the catalogue lacks (and did
 * not see deleted) is added with its decoded Name, Source "inventory" and Host null, and appended to the
 * catalogue through `writer` (in batches); every listed archive carries InInventory. Memory: the catalogue plus
 * one id per inventory archive. Throws what the inventory reader or the writer throw.
 */
export async function reconcile(state: CatalogueState, inventory: AsyncIterable<ArchiveRecord>, writer: CatalogueWriter | undefined, sel: Selection): Promise<Reconciled> {
  const seen = new Set<string>();
  let batch: CatalogueArchive[] = [];
  let added = 0;
  const flush = () => {
    writer?.addArchives(batch);
    batch = [];
  };
  for await (const r of inventory) {
    seen.add(r.ArchiveId);
    if (state.archives.has(r.ArchiveId) || state.deleted.has(r.ArchiveId)) continue;
    const a: CatalogueArchive = {
      ArchiveId: r.ArchiveId,
      ArchiveDescription: r.ArchiveDescription ?? '',
      CreationDate: r.CreationDate,
      Size: r.Size,
      SHA256TreeHash: r.SHA256TreeHash.toLowerCase(),
      Name: archiveName(r.ArchiveId, r.ArchiveDescription),
      Source: 'inventory',
      Host: null,
    };
    state.archives.set(a.ArchiveId, a);
    batch.push(a);
    added++;
    if (batch.length >= 256) flush();
  }
  flush();
  let missing = 0;
  const archives = listCatalogue(state, sel).map((a) => {
    const InInventory = seen.has(a.ArchiveId);
    if (!InInventory) missing++;
    return { ...a, InInventory };
  });
  return { archives, added, missing };
}
