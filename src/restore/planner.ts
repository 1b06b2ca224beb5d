// The planner: glacier-restore's input turned into the archives that need a job. Each input record is checked,
// named (before the shard is applied, so every shard names an archive as a whole run would), kept only when in
// this run's shard, taken once however often it is listed, and skipped when the journal says it is done.
import { keyOf, type ArchiveRecord, type Journal } from './journal.js';
import type { Namer } from './names.js';
import type { InventoryArchive } from './seam.js';
import { inShard, type Shard } from './shard.js';
import type { Item } from './sinks.js';

const ID_RE = /^[A-Za-z0-9_-]{1,1024}$/;

/**
 * Checks one input record (an ArchiveList entry of Glacier's inventory, or a line of `glacier-job output
 * --archives`); returns it with the tree hash in lower case. Throws an Error naming what is wrong.
 */
export function checkArchive(a: InventoryArchive): InventoryArchive {
  if (!a || typeof a !== 'object') throw new Error('not a JSON object');
  if (typeof a.ArchiveId !== 'string' || !ID_RE.test(a.ArchiveId)) throw new Error(`no valid ArchiveId`);
  if (typeof a.Size !== 'number' || !Number.isSafeInteger(a.Size) || a.Size < 0) throw new Error(`Size of ${a.ArchiveId} is not a byte count`);
  if (typeof a.SHA256TreeHash !== 'string' || !/^[0-9a-fA-F]{64}$/.test(a.SHA256TreeHash)) throw new Error(`SHA256TreeHash of ${a.ArchiveId} is not 64 hex digits`);
  return { ...a, SHA256TreeHash: a.SHA256TreeHash.toLowerCase() };
}

/** The item an input record becomes once named. */
export function itemOf(a: InventoryArchive, name: string, mtime?: Date): Item {
  return {
    archiveId: a.ArchiveId,
    name,
    size: a.Size,
    treeHash: a.SHA256TreeHash,
    description: String(a.ArchiveDescription ?? ''),
    creationDate: String(a.CreationDate ?? ''),
    mtime: mtime?.getTime(),
  };
}

/** What the journal keeps of an item when its job starts. */
export function archiveRecord(i: Item): ArchiveRecord {
  return { archiveId: i.archiveId, size: i.size, treeHash: i.treeHash, description: i.description, creationDate: i.creationDate };
}

/** An archive an earlier run started a job for (the journal's outstanding record). */
export interface Resumed {
  item: Item;
  jobId: string;
  /** When the job was started, ms since the epoch. */
  at: number;
}

/**
 * Hands out the archives of one run, each once: first those whose job an earlier run started (`resumed`), then
 * the input's, in input order, that are neither done nor resumed. Memory: one 22-character key per archive seen.
 */
export interface Planner {
  /** Archives of this shard with a job outstanding in the journal; called once, before `next`. */
  resumed(): Resumed[];
  /**
   * The next archive of the input that needs a job, or undefined once the input is exhausted. Archives the
   * journal has as done are passed to `onDoneBefore` on the way and not returned. Rejects with the input's error
   * (an unreadable line, an inventory that is not one).
   */
  next(): Promise<Item | undefined>;
  /** Whether the input is exhausted. */
  readonly inputDone: boolean;
}

export interface PlannerOptions {
  input: AsyncIterable<InventoryArchive>;
  namer: Namer;
  journal: Journal;
  shard?: Shard;
  /** Each archive of this shard, once, as it is first taken (resumed ones included). */
  onSeen?(item: Item): void;
  /** An archive the journal has as done (an earlier run finished it). */
  onDoneBefore?(item: Item): void | Promise<void>;
}

/** The planner of a run (see Planner). */
export function makePlanner(o: PlannerOptions): Planner {
  const seen = new Set<string>(); // keys of the archive ids seen, to take each once
  const fromJournal = new Set<string>(); // archives whose job an earlier run started: taken up first, counted once
  const iterator = o.input[Symbol.asyncIterator]();
  let inputDone = false;
  return {
    get inputDone() {
      return inputDone;
    },
    resumed() {
      const out: Resumed[] = [];
      for (const r of o.journal.outstanding()) {
        if (o.shard && !inShard(r.archive.archiveId, o.shard)) continue;
        const item: Item = { ...r.archive, name: r.name, mtime: r.mtime };
        fromJournal.add(item.archiveId);
        o.onSeen?.(item);
        out.push({ item, jobId: r.jobId, at: r.at });
      }
      return out;
    },
    async next() {
      while (!inputDone) {
        const n = await iterator.next();
        if (n.done) {
          inputDone = true;
          return undefined;
        }
        const a = n.value;
        if (seen.has(keyOf(a.ArchiveId))) continue; // listed twice: once is enough
        const { name, mtime } = o.namer.name(a.ArchiveId, a.ArchiveDescription);
        if (o.shard && !inShard(a.ArchiveId, o.shard)) continue;
        seen.add(keyOf(a.ArchiveId));
        if (fromJournal.has(a.ArchiveId)) continue;
        const item = itemOf(a, name, mtime);
        o.onSeen?.(item);
        if (o.journal.isDone(a.ArchiveId)) {
          await o.onDoneBefore?.(item);
          continue;
        }
        return item;
      }
      return undefined;
    },
  };
}
