// Retrieval jobs of glacier-local: archive retrievals (whole or a megabyte-aligned range) and inventories in
// JSON or CSV. A job completes once its tier's delay has passed (checked whenever it is looked at) or when an
// admin call says so. On completion an archive job hard-links the archive's data, so deleting the archive later
// leaves the prepared output downloadable, as the service promises.
import { isMegabyteAligned, isTreeHashAligned } from '../core/tree-hash.js';
import { invalidParam, missingParam, notFound } from './glacier-error.js';
import { newJobId } from './ids.js';
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

export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function validDescription(d: string): boolean {
  return d.length <= 1024 && PRINTABLE_ASCII.test(d);
}

export class Jobs {
  constructor(
    private readonly store: Store,
    private readonly delays: () => Record<Tier, number>,
  ) {}

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

  /** The job, completed first if its time has come. */
  async get(v: Vault, jobId: string, now = Date.now()): Promise<Job> {
    const job = v.jobs.get(jobId);
    if (!job) throw notFound(`The job ID was not found: ${jobId}`);
    if (job.status === 'InProgress' && now >= job.completeAt) await this.finish(v, job, true, undefined, now);
    return job;
  }

  async list(v: Vault, now = Date.now()): Promise<Job[]> {
    const jobs = [...v.jobs.values()].sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.id.localeCompare(b.id));
    for (const j of jobs) await this.get(v, j.id, now);
    return jobs;
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
      const text = this.inventory(v, job, now);
      const w = await this.store.vfs.writer(this.dir(v, job));
      await w.write(Buffer.from(text));
      await w.commit(`${this.dir(v, job)}/inventory`);
      job.segments = [{ file: 'inventory', size: Buffer.byteLength(text) }];
      job.outputSize = Buffer.byteLength(text);
      v.lastInventoryDate = isoNow(now);
      await this.store.saveVault(v);
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

  private inventory(v: Vault, job: Job, now: number): string {
    const ip = job.inventoryParams!;
    const from = ip.StartDate ? Date.parse(ip.StartDate) : -Infinity;
    const to = ip.EndDate ? Date.parse(ip.EndDate) : Infinity;
    let list = [...v.archives.values()]
      .filter((a) => {
        const t = Date.parse(a.creationDate);
        return t >= from && t < to;
      })
      .sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.id.localeCompare(b.id));
    if (ip.Marker) {
      const i = list.findIndex((a) => a.id === ip.Marker);
      list = i < 0 ? [] : list.slice(i);
    }
    const limit = ip.Limit ? Number(ip.Limit) : Infinity;
    job.nextMarker = list.length > limit ? list[limit].id : null;
    list = list.slice(0, limit);
    if (job.format === 'CSV') {
      // Amazon's CSV: fields quoted when needed, an embedded quote escaped with a backslash (not doubled).
      const q = (s: string) => `"${s.replace(/"/g, '\\"')}"`;
      const rows = list.map((a) => [a.id, q(a.description ?? ''), a.creationDate, String(a.size), a.treeHash].join(','));
      return ['ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash', ...rows].join('\n') + '\n';
    }
    return JSON.stringify({
      VaultARN: v.arn,
      InventoryDate: isoNow(now).replace(/\.\d{3}Z$/, 'Z'),
      ArchiveList: list.map((a) => ({ ArchiveId: a.id, ArchiveDescription: a.description ?? '', CreationDate: a.creationDate, Size: a.size, SHA256TreeHash: a.treeHash })),
    });
  }
}
