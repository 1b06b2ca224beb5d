// What `glacier-ls --archives` prints: the catalogue's archives of a vault, picked by age and name, and, with an
// inventory, reconciled with it: what other hosts or tools uploaded is added (and recorded), what the inventory
// lacks is marked.
import { UsageError } from '../core/errors.js';
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
  /**
   * Only archives this host recorded as uploaded by `host` (their Host field); undefined: every line, those an
   * inventory added (Host null) included. glacier-ls gives this host's name unless --all-hosts or --host H.
   */
  host?: string;
  now?: number;
}

/** A listed archive; with an inventory, whether the inventory holds it. */
export type Listed = CatalogueArchive & { InInventory?: boolean };

/**
 * Refuses (UsageError, exit 2) a --name GLOB that is not one: a `[` with no `]` to close it (glob matching would
 * take it as a literal and silently pick nothing, or, worse, the wrong names), or a class such as `[z-a]`.
 */
export function checkGlob(glob: string): void {
  for (let i = 0; i < glob.length; i++) {
    if (glob[i] === '\\') i++;
    else if (glob[i] === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) throw new UsageError(`invalid --name "${glob}": the [ at character ${i + 1} has no ] to close it; write \\[ for a literal [`);
      i = end;
    }
  }
  try {
    globToRegExp(glob);
  } catch {
    throw new UsageError(`invalid --name "${glob}": a character class such as [z-a] is out of order; write [a-z]`);
  }
}

/** A predicate for `sel`: dates as ISO 8601; an archive without a readable CreationDate never passes an age test. */
export function selector(sel: Selection): (a: CatalogueArchive) => boolean {
  const now = sel.now ?? Date.now();
  const name = sel.name === undefined ? undefined : globToRegExp(sel.name);
  return (a) => {
    const created = Date.parse(a.CreationDate);
    if (sel.olderThanMs !== undefined && !(now - created > sel.olderThanMs)) return false;
    if (sel.newerThanMs !== undefined && !(now - created < sel.newerThanMs)) return false;
    if (sel.host !== undefined && a.Host !== sel.host) return false;
    return !name || name.test(a.Name);
  };
}

/**
 * The catalogue's archives in creation order (then id), those `sel` picks. Each is named by the one decoder now
 * (archiveName), whatever Name its line was written with (by a version that decoded names otherwise).
 */
export function listCatalogue(state: CatalogueState, sel: Selection): Listed[] {
  const pick = selector(sel);
  const named = (a: CatalogueArchive): CatalogueArchive => {
    const Name = archiveName(a.ArchiveId, a.ArchiveDescription);
    return Name === a.Name ? a : { ...a, Name };
  };
  return [...state.archives.values()].map(named).filter(pick).sort(byCreation);
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
