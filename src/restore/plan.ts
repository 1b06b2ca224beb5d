// --dry-run: what a restore would do, without starting a job: each archive's name and destination, the
// totals, and how long it takes at the pace set. Memory: the names seen (16 bytes each), not the archives.
import { keyOf, type Journal } from './journal.js';
import type { Namer } from './names.js';
import type { InventoryArchive } from './seam.js';
import { inShard, type Shard } from './shard.js';
import type { ArchiveSink } from './sinks.js';

/** Hours a retrieval job takes, by tier (AWS's documented typical upper bounds). */
export const TIER_HOURS: Record<string, number> = { Expedited: 5 / 60, Standard: 5, Bulk: 12 };

export interface Plan {
  plan: true;
  archives: number;
  bytes: number;
  alreadyDone: number;
  jobs: number;
  jobBytes: number;
  days: number;
  tier: string;
  maxJobs: number;
  maxBytesPerDay: number | null;
}

export async function plan(o: {
  input: AsyncIterable<InventoryArchive>;
  namer: Namer;
  sink: ArchiveSink;
  journal: Journal;
  shard?: Shard;
  tier: string;
  maxJobs: number;
  maxBytesPerDay?: number;
  windowMs: number;
  emit(r: object): void | Promise<void>;
}): Promise<Plan> {
  const p: Plan = { plan: true, archives: 0, bytes: 0, alreadyDone: 0, jobs: 0, jobBytes: 0, days: 0, tier: o.tier, maxJobs: o.maxJobs, maxBytesPerDay: o.maxBytesPerDay ?? null };
  const seen = new Set<string>(); // keys (22 characters) of the archive ids seen, to take each once
  for await (const a of o.input) {
    if (seen.has(keyOf(a.ArchiveId))) continue;
    const recorded = o.journal.nameOf(a.ArchiveId); // a name an earlier run recorded stays
    const { name, mtime } = recorded !== undefined ? await o.namer.claim(a.ArchiveId, a.ArchiveDescription, { recorded }) : o.namer.name(a.ArchiveId, a.ArchiveDescription, a.Size);
    if (o.shard && !inShard(a.ArchiveId, o.shard)) continue;
    seen.add(keyOf(a.ArchiveId));
    p.archives++;
    p.bytes += a.Size;
    const done = o.journal.isDone(a.ArchiveId);
    const item = { archiveId: a.ArchiveId, name, size: a.Size, treeHash: a.SHA256TreeHash, description: a.ArchiveDescription, creationDate: a.CreationDate, mtime: mtime?.getTime() };
    if (done) p.alreadyDone++;
    else {
      p.jobs++;
      p.jobBytes += a.Size;
    }
    await o.emit({ archiveId: a.ArchiveId, name, size: a.Size, status: done ? 'done' : 'planned', to: o.sink.where(item), ...(mtime ? { mtime: mtime.toISOString() } : {}) });
  }
  // Jobs run in waves of --max-jobs, each taking the tier's time; the byte budget allows one window's worth a day.
  const windowDays = o.windowMs / 86_400_000;
  const byJobs = Math.ceil(p.jobs / o.maxJobs) * ((TIER_HOURS[o.tier] ?? 12) / 24);
  const byBytes = o.maxBytesPerDay ? Math.max(0, Math.ceil(p.jobBytes / o.maxBytesPerDay) - 1) * windowDays + (TIER_HOURS[o.tier] ?? 12) / 24 : 0;
  p.days = Math.round(Math.max(byJobs, byBytes) * 100) / 100;
  return p;
}
