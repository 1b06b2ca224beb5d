// Inventories of glacier-local: which archive listing a vault's inventory, counts and emptiness come from
// (live, or the last snapshot as the service does about once a day: --inventory snapshot), the inventory body
// written as a stream in Amazon's JSON or CSV, and the admin fill call that adds N synthetic archives at once.
import { TreeHasher, MiB } from '../core/tree-hash.js';
import { ArchiveIndex, type ArchiveView, type Fill } from './archive-index.js';
import { validDescription } from './jobs.js';
import { isoNow, type Archive, type Store, type Vault } from './store.js';
import type { Vfs } from './vfs.js';

export type InventoryMode = 'live' | 'snapshot';

const EMPTY: ArchiveView = { size: 0, totalBytes: () => 0, ordered: function* () {} };

/** Where inventories, DescribeVault's counts, LastInventoryDate and DeleteVault's emptiness check look. */
export class Inventories {
  private readonly snapshots = new WeakMap<Vault, { view: ArchiveView; date: string }>();

  constructor(readonly mode: InventoryMode) {}

  /** The listing an inventory of `v` shows: the live index, or the last snapshot (empty before the first). */
  view(v: Vault): ArchiveView {
    return this.mode === 'live' ? v.archives : (this.snapshots.get(v)?.view ?? EMPTY);
  }

  /** LastInventoryDate: the last inventory job's completion (live) or the last snapshot's date, else null. */
  lastInventoryDate(v: Vault): string | null {
    return this.mode === 'live' ? v.lastInventoryDate : (this.snapshots.get(v)?.date ?? null);
  }

  /** The InventoryDate an inventory body of `v` carries. */
  inventoryDate(v: Vault, now: number): string {
    const d = this.mode === 'live' ? isoNow(now) : (this.snapshots.get(v)?.date ?? v.creationDate);
    return d.replace(/\.\d{3}Z$/, 'Z');
  }

  /** Takes a snapshot of every vault given (snapshot mode), dated `now`. Returns the vaults' names and counts. */
  snapshot(vaults: Vault[], now: number): { vault: string; region: string; archives: number; date: string }[] {
    return vaults.map((v) => {
      const snap = { view: v.archives.freeze(), date: isoNow(now) };
      this.snapshots.set(v, snap);
      return { vault: v.name, region: v.region, archives: snap.view.size, date: snap.date };
    });
  }
}

export interface InventoryParams {
  format: 'JSON' | 'CSV';
  startDate: string | null;
  endDate: string | null;
  limit: number | null;
  marker: string | null;
}

/**
 * The ArchiveDescription column as Amazon's CSV inventory writes it: always quoted (empty too), a '"' inside
 * written '\"', a backslash left as it is (glacier-protocol.md, inventory body (CSV); not RFC 4180).
 */
export function csvField(s: string): string {
  return `"${s.replace(/"/g, '\\"')}"`;
}

/**
 * The inventory body as a stream of strings (rows, in inventory order), in Amazon's JSON or CSV. Archives outside
 * [startDate, endDate), before `marker` or beyond `limit` are left out; `result.nextMarker` is set once the
 * generator ends (the id of the first archive left out by `limit`, else null).
 */
export function* inventoryText(view: ArchiveView, p: InventoryParams, arn: string, inventoryDate: string, result: { nextMarker: string | null }): Generator<string> {
  const from = p.startDate ? Date.parse(p.startDate) : -Infinity;
  const to = p.endDate ? Date.parse(p.endDate) : Infinity;
  const limit = p.limit ?? Infinity;
  let seenMarker = !p.marker;
  let n = 0;
  result.nextMarker = null;
  yield p.format === 'CSV' ? 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n' : `{"VaultARN":${JSON.stringify(arn)},"InventoryDate":${JSON.stringify(inventoryDate)},"ArchiveList":[`;
  for (const a of view.ordered()) {
    if (!seenMarker) {
      if (a.id !== p.marker) continue;
      seenMarker = true;
    }
    const t = Date.parse(a.creationDate);
    if (t < from || t >= to) continue;
    if (n === limit) {
      result.nextMarker = a.id;
      break;
    }
    yield row(a, p.format, n++ > 0);
  }
  if (p.format === 'JSON') yield ']}';
}

function row(a: Archive, format: 'JSON' | 'CSV', comma: boolean): string {
  if (format === 'CSV') return `${a.id},${csvField(a.description ?? '')},${a.creationDate},${a.size},${a.treeHash}\n`;
  const item = JSON.stringify({ ArchiveId: a.id, ArchiveDescription: a.description ?? '', CreationDate: a.creationDate, Size: a.size, SHA256TreeHash: a.treeHash });
  return comma ? `,${item}` : item;
}

/**
 * Writes an inventory body to `path` through the vfs in 256 KiB writes (memory bounded by that, whatever the
 * vault's size; with --memory the body itself is held in memory). Resolves to its size and next marker.
 */
export async function writeInventory(vfs: Vfs, dir: string, path: string, text: Generator<string>, result: { nextMarker: string | null }): Promise<{ size: number; nextMarker: string | null }> {
  const w = await vfs.writer(dir);
  let size = 0;
  let batch: string[] = [];
  let batchLen = 0;
  const flush = async () => {
    const buf = Buffer.from(batch.join(''));
    batch = [];
    batchLen = 0;
    size += buf.length;
    await w.write(buf);
  };
  try {
    for (const s of text) {
      batch.push(s);
      batchLen += s.length;
      if (batchLen >= 256 * 1024) await flush();
    }
    await flush();
    await w.commit(path);
  } catch (e) {
    await w.discard();
    throw e;
  }
  return { size, nextMarker: result.nextMarker };
}

export interface FillRequest {
  vault: string;
  region?: string;
  count: number;
  size?: number;
  description?: string;
}

/**
 * Adds `count` synthetic archives of `size` bytes (default 1024, at most 64 MiB) to a vault, sharing one body of
 * deterministic bytes, with the description template (default `synthetic archive {i}`, `{i}` the index).
 * Costs one file and one record whatever the count (see archive-index.ts). Throws Error for bad input or a
 * missing vault.
 */
export async function fillVault(store: Store, input: FillRequest, now: number): Promise<{ vault: string; key: string; count: number; size: number; treeHash: string; firstArchiveId: string }> {
  const count = Number(input.count);
  const size = input.size === undefined ? 1024 : Number(input.size);
  if (!Number.isInteger(count) || count < 1 || count > 100_000_000) throw new Error('fill: count must be an integer from 1 to 100000000');
  if (!Number.isInteger(size) || size < 1 || size > 64 * MiB) throw new Error('fill: size must be an integer from 1 to 67108864');
  const description = input.description ?? 'synthetic archive {i}';
  if (typeof description !== 'string' || !validDescription(description.replaceAll('{i}', String(count - 1)))) {
    throw new Error('fill: the description must be printable ASCII, at most 1024 characters with {i} replaced');
  }
  const v = store.vault(input.region ?? 'us-east-1', String(input.vault));
  const key = ArchiveIndex.newKey();
  const dir = `${v.dir}/f/${key}`;
  const hasher = new TreeHasher({ leaves: true });
  const w = await store.vfs.writer(dir);
  // Deterministic bytes: a repeating 1 MiB pattern derived from nothing but the offset.
  const block = Buffer.alloc(Math.min(size, MiB));
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 8) * 7) & 0xff;
  for (let off = 0; off < size; off += block.length) {
    const chunk = block.subarray(0, Math.min(block.length, size - off));
    hasher.update(chunk);
    await w.write(chunk);
  }
  await w.commit(`${dir}/data`);
  const d = hasher.digest();
  const fill: Fill = {
    key, count, size, treeHash: d.treeHash, leaves: Buffer.concat(hasher.leaves!).toString('base64'), creationDate: isoNow(now), description, deleted: [],
  };
  await store.vfs.writeJson(`${dir}/fill.json`, fill);
  v.archives.addFill(fill);
  return { vault: v.name, key, count, size, treeHash: fill.treeHash, firstArchiveId: v.archives.fillArchiveId(key, 0) };
}
