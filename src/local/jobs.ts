// Retrieval jobs of glacier-local: archive retrievals (whole or a megabyte-aligned range) and inventories in
// JSON or CSV. A job completes once its tier's delay has passed (checked whenever it is looked at) or when an
// admin call says so. On completion an archive job hard-links the archive's data, so deleting the archive later
// leaves the prepared output downloadable, as the service promises.
import { isMegabyteAligned, isTreeHashAligned } from '../core/tree-hash.js';
import { invalidParam, missingParam, notFound } from './glacier-error.js';
import { newJobId } from './ids.js';
import { inventoryText, writeInventory, type Inventories } from './inventory.js';
import { isoNow, rangeTreeHash, type Archive, type Segment, type Store, type Vault } from './store.js';

export type Tier = 'Expedited' | 'Standard' | 'Bulk';
export const TIERS: Tier[] = ['Expedited', 'Standard', 'Bulk'];

export interface Job {
  id: string;
  action: 'ArchiveRetrieval' | 'InventoryRetrieval';
  description: string | null;
  sns: string | null;
  tier: Tier;
  creationDate: string;
  completeAt: number;
  status: 'InProgress' | 'Succeeded' | 'Failed';
  statusMessage: string;
  completionDate: string | null;
  // archive jobs
  archiveId: string | null;
  archiveSize: number | null;
  archiveTreeHash: string | null;
  rangeStart: number;
  rangeEnd: number; // inclusive, archive offsets
  leaves: string | null;
  // inventory jobs
  format: 'JSON' | 'CSV' | null;
  inventoryParams: { StartDate: string | null; EndDate: string | null; Limit: string | null; Marker: string | null } | null;
  nextMarker: string | null;
  // output, once complete
  outputSize: number | null;
  segments: Segment[];
}

export interface JobParams {
  Type?: string;
  ArchiveId?: string;
  Description?: string;
  SNSTopic?: string;
  Tier?: string;
  RetrievalByteRange?: string;
  Format?: string;
  InventoryRetrievalParameters?: { StartDate?: string; EndDate?: string; Limit?: string | number; Marker?: string };
}

/** How long each tier's jobs take by default, in ms (the service takes hours; tests want seconds). */
export const DEFAULT_DELAYS: Record<Tier, number> = { Expedited: 1000, Standard: 3000, Bulk: 5000 };

/**
 * Parses --job-delay: one duration for every tier, or TIER=DURATION,... (other tiers keep their default).
 * `parse` turns a duration text into ms. Throws Error naming the bad item.
 */
export function parseTierDelays(text: string, parse: (s: string) => number): Record<Tier, number> {
  const out = { ...DEFAULT_DELAYS };
  for (const item of text.split(',')) {
    const [k, v] = item.includes('=') ? item.split('=') : [null, item];
    const ms = parse(v);
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`invalid job delay "${item}"`);
    if (k === null) for (const t of TIERS) out[t] = ms;
    else if (TIERS.includes(k as Tier)) out[k as Tier] = ms;
    else throw new Error(`invalid tier "${k}" in job delay; use Expedited, Standard or Bulk`);
  }
  return out;
}

export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function validDescription(d: string): boolean {
  return d.length <= 1024 && PRINTABLE_ASCII.test(d);
}

/** How long a finished job stays describable and downloadable by default (the service promises at least 24 h). */
export const DEFAULT_JOB_EXPIRY_MS = 24 * 3600 * 1000;

export interface JobsOptions {
  /** Each tier's delay in ms, read when a job starts. */
  delays: () => Record<Tier, number>;
  /** How long after its CompletionDate a job is forgotten (then 404), in ms. */
  expiryMs: number;
  /** Where inventories come from (live or the last snapshot). */
  inventories: Inventories;
}

export class Jobs {
  constructor(
    private readonly store: Store,
    private readonly opts: JobsOptions,
  ) {}

  private delays() {
    return this.opts.delays();
  }

  async initiate(v: Vault, p: JobParams, now = Date.now()): Promise<Job> {
    if (!p || typeof p !== 'object' || !p.Type) throw missingParam('Required parameter missing: Job Parameters');
    if (p.Description !== undefined && !validDescription(String(p.Description))) {
      throw invalidParam('Invalid job description. The description must be at most 1024 printable ASCII characters.');
    }
    const tier = (p.Tier ?? 'Standard') as Tier;
    if (!TIERS.includes(tier)) throw invalidParam(`Invalid tier: ${p.Tier}. Valid values are: Expedited, Standard, Bulk`);
    const base = {
      id: newJobId(), description: p.Description ?? null, sns: p.SNSTopic ?? null, tier, creationDate: isoNow(now),
      completeAt: now + this.delays()[tier], status: 'InProgress' as const, statusMessage: 'Operation in progress.',
      completionDate: null, outputSize: null, segments: [], leaves: null, nextMarker: null,
    };
    let job: Job;
    if (p.Type === 'archive-retrieval') {
      if (p.Format !== undefined || p.InventoryRetrievalParameters !== undefined) {
        throw invalidParam('Format and InventoryRetrievalParameters are not valid for an archive-retrieval job');
      }
      if (!p.ArchiveId) throw missingParam('Required parameter missing: ArchiveId');
      const a = v.archives.get(p.ArchiveId);
      if (!a) throw notFound(`Archive not found: ${p.ArchiveId}`);
      let [start, end] = [0, a.size - 1];
      if (p.RetrievalByteRange !== undefined) {
        const m = /^(\d+)-(\d+)$/.exec(String(p.RetrievalByteRange));
        if (!m || !isMegabyteAligned(Number(m[1]), Number(m[2]), a.size)) {
          throw invalidParam(`The retrieval byte range is not megabyte aligned or is outside the archive: ${p.RetrievalByteRange}`);
        }
        [start, end] = [Number(m[1]), Number(m[2])];
      }
      job = {
        ...base, action: 'ArchiveRetrieval', archiveId: a.id, archiveSize: a.size, archiveTreeHash: a.treeHash,
        rangeStart: start, rangeEnd: end, format: null, inventoryParams: null,
      };
      job.leaves = a.leaves;
    } else if (p.Type === 'inventory-retrieval') {
      if (p.ArchiveId !== undefined) throw invalidParam('An ArchiveId is not valid for an inventory-retrieval job');
      if (p.RetrievalByteRange !== undefined) throw invalidParam('A RetrievalByteRange is not valid for an inventory-retrieval job');
      const format = (p.Format ?? 'JSON').toUpperCase();
      if (format !== 'JSON' && format !== 'CSV') throw invalidParam(`Invalid format: ${p.Format}. Valid values are: JSON, CSV`);
      const ip = p.InventoryRetrievalParameters ?? {};
      for (const d of [ip.StartDate, ip.EndDate]) {
        if (d !== undefined && Number.isNaN(Date.parse(d))) throw invalidParam(`Invalid date: ${d}`);
      }
      if (ip.Limit !== undefined && !/^[1-9]\d*$/.test(String(ip.Limit))) throw invalidParam(`Invalid limit: ${ip.Limit}`);
      job = {
        ...base, action: 'InventoryRetrieval', archiveId: null, archiveSize: null, archiveTreeHash: null, rangeStart: 0, rangeEnd: -1,
        format: format as 'JSON' | 'CSV',
        inventoryParams: { StartDate: ip.StartDate ?? null, EndDate: ip.EndDate ?? null, Limit: ip.Limit === undefined ? null : String(ip.Limit), Marker: ip.Marker ?? null },
      };
    } else {
      throw invalidParam(`Invalid job type: ${p.Type}. Valid values are: archive-retrieval, inventory-retrieval`);
    }
    // Saved before it is listed: a job whose save failed (full disk) was never created, as its 5xx says.
    try {
      await this.save(v, job);
    } catch (e) {
      await this.store.vfs.removeTree(this.dir(v, job)).catch(() => {});
      throw e;
    }
    v.jobs.set(job.id, job);
    return job;
  }

  private dir(v: Vault, job: Job) {
    return `${v.dir}/j/${job.id}`;
  }

  private async save(v: Vault, job: Job) {
    await this.store.vfs.writeJson(`${this.dir(v, job)}/job.json`, job);
  }

  async load(v: Vault, dir: string): Promise<void> {
    const job = await this.store.vfs.readJson<Job>(`${dir}/job.json`);
    if (job) v.jobs.set(job.id, job);
    else await this.store.vfs.remove(dir);
  }

  /**
   * The job, completed first if its delay has ended (its CompletionDate is then the moment the delay ended, not
   * now). Errors: 404 ResourceNotFoundException for an unknown job or one whose expiry has passed (it is then
   * removed).
   */
  async get(v: Vault, jobId: string, now = Date.now()): Promise<Job> {
    const job = v.jobs.get(jobId);
    if (!job) throw notFound(`The job ID was not found: ${jobId}`);
    if (job.status === 'InProgress' && now >= job.completeAt) await this.finish(v, job, true, undefined, job.completeAt);
    if (job.completionDate !== null && now >= Date.parse(job.completionDate) + this.opts.expiryMs) {
      v.jobs.delete(job.id);
      await this.store.vfs.remove(this.dir(v, job));
      throw notFound(`The job ID was not found: ${jobId}`);
    }
    return job;
  }

  /** The vault's jobs not yet expired, oldest first, each completed if its time has come. */
  async list(v: Vault, now = Date.now()): Promise<Job[]> {
    const jobs = [...v.jobs.values()].sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.id.localeCompare(b.id));
    const out: Job[] = [];
    for (const j of jobs) {
      try {
        out.push(await this.get(v, j.id, now));
      } catch (e) {
        if ((e as { status?: number }).status !== 404) throw e;
      }
    }
    return out;
  }

  async finish(v: Vault, job: Job, succeed: boolean, message?: string, now = Date.now()): Promise<void> {
    if (job.status !== 'InProgress') return;
    if (succeed && job.action === 'ArchiveRetrieval') {
      const a = v.archives.get(job.archiveId!);
      if (!a) {
        succeed = false;
        message = 'The archive was deleted before the job completed.';
      } else {
        job.segments = await this.linkRange(v, job, a);
        job.outputSize = job.rangeEnd - job.rangeStart + 1;
      }
    } else if (succeed) {
      const inv = this.opts.inventories;
      const ip = job.inventoryParams!;
      const result = { nextMarker: null as string | null };
      const text = inventoryText(
        inv.view(v),
        { format: job.format!, startDate: ip.StartDate, endDate: ip.EndDate, limit: ip.Limit ? Number(ip.Limit) : null, marker: ip.Marker },
        v.arn, inv.inventoryDate(v, now), result,
      );
      const { size, nextMarker } = await writeInventory(this.store.vfs, this.dir(v, job), `${this.dir(v, job)}/inventory`, text, result);
      job.segments = [{ file: 'inventory', size }];
      job.outputSize = size;
      job.nextMarker = nextMarker;
      if (inv.mode === 'live') {
        v.lastInventoryDate = isoNow(now);
        await this.store.saveVault(v);
      }
    }
    job.status = succeed ? 'Succeeded' : 'Failed';
    job.statusMessage = succeed ? 'Succeeded' : (message ?? 'The job failed.');
    job.completionDate = isoNow(now);
    await this.save(v, job);
  }

  private async linkRange(v: Vault, job: Job, a: Archive): Promise<Segment[]> {
    const out: Segment[] = [];
    let off = 0;
    for (const [i, s] of a.segments.entries()) {
      if (off + s.size > job.rangeStart && off <= job.rangeEnd) {
        const file = `seg${i}`;
        await this.store.vfs.link(this.store.archiveFile(v, a, s), `${this.dir(v, job)}/${file}`);
        out.push({ file, size: s.size });
      } else {
        out.push({ file: '', size: s.size }); // outside the range: never read
      }
      off += s.size;
    }
    return out;
  }

  /** The job's output bytes [start, endIncl] (offsets into the output). */
  read(v: Vault, job: Job, start: number, endIncl: number) {
    const base = job.action === 'ArchiveRetrieval' ? job.rangeStart : 0;
    return this.store.readSegments(this.dir(v, job), job.segments, base + start, base + endIncl);
  }

  /** Tree hash of output bytes [start, endIncl], or null when the service would not send one. */
  outputTreeHash(job: Job, start: number, endIncl: number, rule: 'tree' | 'megabyte'): string | null {
    if (job.action !== 'ArchiveRetrieval' || !job.leaves) return null;
    const size = job.archiveSize!;
    const [s, e] = [job.rangeStart + start, job.rangeStart + endIncl];
    if (rule === 'megabyte') return isMegabyteAligned(s, e, size) ? rangeTreeHash(job.leaves, s, e) : null;
    if (!isTreeHashAligned(job.rangeStart, job.rangeEnd, size) || !isTreeHashAligned(s, e, size)) return null;
    return rangeTreeHash(job.leaves, s, e);
  }

  describe(v: Vault, job: Job) {
    const archive = job.action === 'ArchiveRetrieval';
    const rangeHash = archive && isTreeHashAligned(job.rangeStart, job.rangeEnd, job.archiveSize!) ? rangeTreeHash(job.leaves!, job.rangeStart, job.rangeEnd) : null;
    return {
      Action: job.action,
      ArchiveId: job.archiveId,
      ArchiveSHA256TreeHash: job.archiveTreeHash,
      ArchiveSizeInBytes: job.archiveSize,
      Completed: job.status !== 'InProgress',
      CompletionDate: job.completionDate,
      CreationDate: job.creationDate,
      InventoryRetrievalParameters: job.inventoryParams && { Format: job.format, ...job.inventoryParams, Marker: job.status === 'Succeeded' ? job.nextMarker : job.inventoryParams.Marker },
      InventorySizeInBytes: archive ? null : job.outputSize,
      JobDescription: job.description,
      JobId: job.id,
      RetrievalByteRange: archive ? `${job.rangeStart}-${job.rangeEnd}` : null,
      SHA256TreeHash: rangeHash,
      SNSTopic: job.sns,
      StatusCode: job.status,
      StatusMessage: job.statusMessage,
      Tier: archive ? job.tier : null,
      VaultARN: v.arn,
    };
  }
}
