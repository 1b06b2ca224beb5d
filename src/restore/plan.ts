// --dry-run: what a restore would do, without starting a job: each archive's name and destination, the
// totals, and how long it takes at the pace set. Memory: the names seen (16 bytes each), not the archives.
import { s3RequestsFor } from './prices.js';
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
  /** S3 PUT-class requests the uploads make (S3 destinations only; 0 otherwise). */
  s3Requests: number;
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
  /** S3 part size (bytes), for --to s3://: each archive's upload requests are counted. */
  s3PartSize?: number;
  emit(r: object): void | Promise<void>;
}): Promise<Plan> {
  const p: Plan = { plan: true, archives: 0, bytes: 0, alreadyDone: 0, jobs: 0, jobBytes: 0, days: 0, tier: o.tier, maxJobs: o.maxJobs, maxBytesPerDay: o.maxBytesPerDay ?? null, s3Requests: 0 };
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
      if (o.s3PartSize) p.s3Requests += s3RequestsFor(a.Size, o.s3PartSize);
    }
    await o.emit({ archiveId: a.ArchiveId, name, size: a.Size, status: done ? 'done' : 'planned', to: o.sink.where(item), ...(mtime ? { mtime: mtime.toISOString() } : {}) });
  }
  p.days = daysAt(p.jobs, p.jobBytes, o.tier, o.maxJobs, o.maxBytesPerDay, o.windowMs);
  return p;
}

/**
 * Days `jobs` retrievals of `jobBytes` take: jobs run in waves of `maxJobs`, each the tier's time (TIER_HOURS);
 * the byte budget starts one `windowMs` worth a day. Rounded to hundredths.
 */
export function daysAt(jobs: number, jobBytes: number, tier: string, maxJobs: number, maxBytesPerDay: number | undefined, windowMs: number): number {
  const tierDays = (TIER_HOURS[tier] ?? 12) / 24;
  const windowDays = windowMs / 86_400_000;
  const byJobs = Math.ceil(jobs / maxJobs) * tierDays;
  const byBytes = maxBytesPerDay ? Math.max(0, Math.ceil(jobBytes / maxBytesPerDay) - 1) * windowDays + tierDays : 0;
  return Math.round(Math.max(byJobs, byBytes) * 100) / 100;
}

/**
 * The pace that takes about `days` (default 7): the smallest --max-jobs (at most `maxJobsLimit`) and, when a byte
 * budget is set, the smallest --max-bytes-per-day whose plan takes no longer, by daysAt's arithmetic.
 */
export function paceFor(jobs: number, jobBytes: number, tier: string, windowMs: number, withBudget: boolean, maxJobsLimit = 100_000, days = 7): { maxJobs: number; maxBytesPerDay?: number } {
  const tierDays = (TIER_HOURS[tier] ?? 12) / 24;
  const waves = Math.max(1, Math.floor(days / tierDays));
  const maxJobs = Math.min(maxJobsLimit, Math.max(1, Math.ceil(jobs / waves)));
  if (!withBudget) return { maxJobs };
  const windows = Math.max(1, Math.floor((days - tierDays) / (windowMs / 86_400_000)) + 1);
  return { maxJobs, maxBytesPerDay: Math.max(1, Math.ceil(jobBytes / windows)) };
}
