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
export function itemOf(a: InventoryArchive, name: string, mtime?: Date, more: { folder?: boolean; encoding?: string } = {}): Item {
  return {
    archiveId: a.ArchiveId,
    name,
    size: a.Size,
    treeHash: a.SHA256TreeHash,
    description: String(a.ArchiveDescription ?? ''),
    creationDate: String(a.CreationDate ?? ''),
    mtime: mtime?.getTime(),
    ...(more.folder && a.Size === 0 ? { folder: true } : {}),
    ...(more.encoding ? { encoding: more.encoding } : {}),
  };
}

/**
 * The mtime an archive's file gets (ms since the epoch): the one its description carries; when the description's
 * client records one (mt-aws-glacier always does) but it is not a valid time, the inventory's CreationDate;
 * else none (the time of the restore).
 */
export function mtimeOf(a: InventoryArchive, named: { mtime?: Date; badTime?: boolean }): Date | undefined {
  if (named.mtime) return named.mtime;
  if (!named.badTime) return undefined;
  const t = Date.parse(String(a.CreationDate ?? ''));
  return Number.isNaN(t) ? undefined : new Date(t);
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
  /** Whether the destination holds a name for something else than this archive (the sink's `taken`). */
  taken?(name: string, folder: boolean, item: { archiveId: string; size: number; treeHash: string }): Promise<boolean>;
  /** Why the sink can never take this archive, if so (the sink's `refuses`). */
  refuses?(item: Item): string | undefined;
  /**
   * An archive refused for good (recorded in the journal before this is called): no job is started for it.
   * `o.integrity`: an earlier run's job contradicted this input line (its size or tree hash).
   */
  onRefused?(item: Item, reason: string, o: { integrity?: boolean }): void | Promise<void>;
  /** An archive an earlier run found gone from the vault (recorded `missing`): no job is started for it. */
  onMissing?(item: Item): void | Promise<void>;
  /** An archive whose recorded name the destination held for something else: `item.name` is its new name. */
  onRenamed?(item: Item, from: string): void | Promise<void>;
  /** A folder marker with no bytes: made by the sink, no job needed. */
  onFolder?(item: Item): Promise<void>;
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
        const encoding = o.namer.base(r.archive.archiveId, r.archive.description).encoding;
        // Its name is the recorded one: renamed since its job started when the destination held it for something else.
        const name = o.journal.nameOf(r.archive.archiveId)?.replace(/\/$/, '') ?? r.name;
        const item: Item = { ...r.archive, name, mtime: r.mtime, ...(encoding ? { encoding } : {}) };
        o.namer.claim(r.archive.archiveId, r.archive.description, { recorded: name }).catch(() => {}); // holds its name
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
        if (o.shard && !inShard(a.ArchiveId, o.shard)) {
          o.namer.name(a.ArchiveId, a.ArchiveDescription, a.Size); // taken here too, so every shard names alike
          continue;
        }
        seen.add(keyOf(a.ArchiveId));
        if (fromJournal.has(a.ArchiveId)) continue;
        // An archive's name is its recorded one; else the first free here and in the destination, recorded
        // before its job starts, so that it never changes and no other archive is ever given it.
        const done = o.journal.isDone(a.ArchiveId);
        const recorded = o.journal.nameOf(a.ArchiveId);
        const taken = o.taken;
        const takenHere = done || !taken ? undefined : (n: string, f: boolean) => taken(n, f, { archiveId: a.ArchiveId, size: a.Size, treeHash: a.SHA256TreeHash });
        let named = await o.namer.claim(a.ArchiveId, a.ArchiveDescription, { size: a.Size, recorded, taken: takenHere });
        // Queued: written with the next batch of records, before the archive's job starts (the tracker waits for
        // the journal's durable() first).
        if (recorded === undefined && !done) void o.journal.recordName(a.ArchiveId, named.folder ? `${named.name}/` : named.name, { queued: true });
        // A recorded name the destination now holds for something else (a file another process made there since):
        // the archive takes the next free name, as for a name another archive holds, and keeps it from now on.
        let renamedFrom: string | undefined;
        if (recorded !== undefined && takenHere && !o.journal.isMissing(a.ArchiveId) && (await takenHere(named.name, named.folder))) {
          renamedFrom = named.name;
          named = await o.namer.claim(a.ArchiveId, a.ArchiveDescription, { size: a.Size, taken: takenHere });
          await o.journal.recordRename(a.ArchiveId, named.folder ? `${named.name}/` : named.name);
        }
        const item = itemOf(a, named.name, mtimeOf(a, named), named);
        o.onSeen?.(item);
        if (renamedFrom !== undefined) await o.onRenamed?.(item, renamedFrom);
        if (done) {
          await o.onDoneBefore?.(item);
          continue;
        }
        if (o.journal.isMissing(a.ArchiveId)) {
          await o.onMissing?.(item);
          continue;
        }
        const line = { size: a.Size, treeHash: a.SHA256TreeHash };
        const recordedRefusal = o.journal.refusal(a.ArchiveId, line);
        if (recordedRefusal) {
          await o.onRefused?.(item, recordedRefusal.reason, { integrity: recordedRefusal.integrity });
          continue;
        }
        const refused = o.refuses?.(item);
        if (refused !== undefined) {
          await o.journal.recordRefused(a.ArchiveId, refused);
          await o.onRefused?.(item, refused, {});
          continue;
        }
        if (item.folder && o.onFolder) {
          await o.onFolder(item);
          continue;
        }
        return item;
      }
      return undefined;
    },
  };
}
