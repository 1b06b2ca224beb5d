// Vaults, archives and multipart uploads of glacier-local, kept in a Vfs (disk or memory).
// Layout under the root:  r/<region>/v/<vault>/vault.json
//   a/<archiveId>/archive.json + segment files       (an archive is the ordered list of its segments)
//   u/<uploadId>/upload.json, p<n>.json + p<n>.<rand> (a part is visible once its json names its data file)
//   j/<jobId>/job.json + output files
// Completing an upload writes u/<id>/archive.json and then renames the upload's folder into a/<archiveId>, so
// a crash leaves either the open upload or the whole archive; load() rolls a half-done rename forward.
import { Readable } from 'node:stream';
import { combineTreeHashes, MiB } from '../core/tree-hash.js';
import { isTempName, type Vfs } from './vfs.js';
import { invalidParam, notFound } from './glacier-error.js';
import { archiveIdMatchesVault, newArchiveId, newUploadId, vaultTag } from './ids.js';
import { ArchiveIndex } from './archive-index.js';
import type { Job } from './jobs.js';

export interface Segment {
  file: string; // path in the vfs
  size: number;
}

export interface Archive {
  id: string;
  description: string | null;
  creationDate: string;
  size: number;
  treeHash: string;
  leaves: string; // base64 of the concatenated 1 MiB leaf digests, to answer hashes of aligned ranges
  segments: Segment[];
}

export interface Part {
  index: number;
  start: number;
  end: number; // inclusive
  treeHash: string;
  leaves: string;
  file: string;
}

export interface Upload {
  id: string;
  description: string | null;
  partSize: number;
  creationDate: string;
  parts: Map<number, Part>;
  dir: string;
}

export interface Vault {
  name: string;
  region: string;
  arn: string;
  creationDate: string;
  lastInventoryDate: string | null;
  archives: ArchiveIndex;
  uploads: Map<string, Upload>;
  jobs: Map<string, Job>;
  /** Completed or aborted upload ids, remembered so a repeated Complete/Abort answers as the service does. */
  recentlyClosed: Map<string, { archiveId?: string }>;
  dir: string;
}

export const isoNow = (now = Date.now()) => new Date(now).toISOString();

export class Store {
  private readonly vaults = new Map<string, Vault>();

  constructor(
    readonly vfs: Vfs,
    readonly accountId: string,
  ) {}

  arn(region: string, name: string): string {
    return `arn:aws:glacier:${region}:${this.accountId}:vaults/${name}`;
  }

  private key(region: string, name: string) {
    return `${region}/${name}`;
  }

  listVaults(region: string): Vault[] {
    return [...this.vaults.values()].filter((v) => v.region === region).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  listAllVaults(): Vault[] {
    return [...this.vaults.values()];
  }

  vault(region: string, name: string): Vault {
    const v = this.vaults.get(this.key(region, name));
    if (!v) throw notFound(`Vault not found for ARN: ${this.arn(region, name)}`);
    return v;
  }

  async createVault(region: string, name: string, now = Date.now()): Promise<Vault> {
    const existing = this.vaults.get(this.key(region, name));
    if (existing) return existing;
    const dir = `r/${region}/v/${name}`;
    const v: Vault = {
      name, region, arn: this.arn(region, name), creationDate: isoNow(now), lastInventoryDate: null,
      archives: new ArchiveIndex(vaultTag(this.arn(region, name))), uploads: new Map(), jobs: new Map(), recentlyClosed: new Map(), dir,
    };
    await this.vfs.writeJson(`${dir}/vault.json`, { name, region, creationDate: v.creationDate });
    this.vaults.set(this.key(region, name), v);
    return v;
  }

  async deleteVault(v: Vault): Promise<void> {
    if (v.archives.size > 0 || v.uploads.size > 0) throw invalidParam(`Vault not empty or recently written to: ${v.arn}`);
    this.vaults.delete(this.key(v.region, v.name));
    await this.vfs.remove(v.dir);
  }

  async saveVault(v: Vault): Promise<void> {
    await this.vfs.writeJson(`${v.dir}/vault.json`, { name: v.name, region: v.region, creationDate: v.creationDate, lastInventoryDate: v.lastInventoryDate });
  }

  /** Commits a blob already written under the vault's staging folder as a new single-segment archive. */
  async addArchive(v: Vault, commit: (path: string) => Promise<void>, meta: Omit<Archive, 'id' | 'segments' | 'creationDate'>, now = Date.now()): Promise<Archive> {
    const id = newArchiveId(v.arn);
    const dir = `${v.dir}/a/${id}`;
    const file = `${dir}/data`;
    await commit(file);
    const a: Archive = { ...meta, id, creationDate: isoNow(now), segments: [{ file: 'data', size: meta.size }] };
    await this.vfs.writeJson(`${dir}/archive.json`, a);
    v.archives.set(id, a);
    return a;
  }

  async deleteArchive(v: Vault, archiveId: string): Promise<void> {
    if (!archiveIdMatchesVault(archiveId, v.arn)) throw invalidParam(`Invalid vault name: ${v.arn}`);
    if (!v.archives.delete(archiveId)) return; // deleting twice is not an error
    await this.vfs.remove(`${v.dir}/a/${archiveId}`);
  }

  archiveFile(v: Vault, a: Archive, seg: Segment): string {
    // A segment path with a '/' is relative to the vault (the shared body of synthetic archives, archive-index.ts).
    return seg.file.includes('/') ? `${v.dir}/${seg.file}` : `${v.dir}/a/${a.id}/${seg.file}`;
  }

  async initiateUpload(v: Vault, partSize: number, description: string | null, now = Date.now()): Promise<Upload> {
    const id = newUploadId();
    const u: Upload = { id, description, partSize, creationDate: isoNow(now), parts: new Map(), dir: `${v.dir}/u/${id}` };
    await this.vfs.writeJson(`${u.dir}/upload.json`, { id, description, partSize, creationDate: u.creationDate });
    v.uploads.set(id, u);
    return u;
  }

  async saveUpload(u: Upload): Promise<void> {
    await this.vfs.writeJson(`${u.dir}/upload.json`, { id: u.id, description: u.description, partSize: u.partSize, creationDate: u.creationDate });
  }

  upload(v: Vault, uploadId: string): Upload {
    const u = v.uploads.get(uploadId);
    if (!u) throw notFound(`The upload ID was not found: ${uploadId}`);
    return u;
  }

  async putPart(u: Upload, part: Omit<Part, 'file'>, commit: (path: string) => Promise<void>): Promise<void> {
    const file = `p${part.index}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    await commit(`${u.dir}/${file}`);
    const old = u.parts.get(part.index);
    const p: Part = { ...part, file };
    await this.vfs.writeJson(`${u.dir}/p${part.index}.json`, p);
    u.parts.set(part.index, p);
    if (old) await this.vfs.remove(`${u.dir}/${old.file}`);
  }

  async completeUpload(v: Vault, u: Upload, archiveSize: number, treeHash: string, now = Date.now()): Promise<Archive> {
    const parts = [...u.parts.values()].sort((a, b) => a.index - b.index);
    let expect = 0;
    for (const p of parts) {
      if (p.start !== expect) break;
      expect = p.end + 1;
    }
    // The service's texts for these cases are not documented; the code is InvalidParameterValueException.
    if (expect !== archiveSize || parts.length === 0 || parts.at(-1)!.end + 1 !== archiveSize) {
      throw invalidParam(`Archive size ${archiveSize} does not match the uploaded parts: missing content in range ${expect}-${Math.max(expect, archiveSize - 1)}`);
    }
    for (const p of parts.slice(0, -1)) {
      if (p.end - p.start + 1 !== u.partSize) throw invalidParam(`Part ${p.start}-${p.end} is smaller than the part size ${u.partSize} and is not the last part`);
    }
    const computed = combineTreeHashes(parts.map((p) => Buffer.from(p.treeHash, 'hex'))).toString('hex');
    if (computed !== treeHash) throw invalidParam(`Invalid x-amz-sha256-tree-hash: ${treeHash}`);
    const id = newArchiveId(v.arn);
    const a: Archive = {
      id, description: u.description, creationDate: isoNow(now), size: archiveSize, treeHash: computed,
      leaves: Buffer.concat(parts.map((p) => Buffer.from(p.leaves, 'base64'))).toString('base64'),
      segments: parts.map((p) => ({ file: p.file, size: p.end - p.start + 1 })),
    };
    await this.vfs.writeJson(`${u.dir}/archive.json`, a);
    await this.vfs.rename(u.dir, `${v.dir}/a/${id}`);
    v.uploads.delete(u.id);
    v.archives.set(id, a);
    v.recentlyClosed.set(u.id, { archiveId: id });
    return a;
  }

  async abortUpload(v: Vault, uploadId: string): Promise<void> {
    const u = v.uploads.get(uploadId);
    if (!u) {
      const closed = v.recentlyClosed.get(uploadId);
      if (closed && !closed.archiveId) return; // aborting twice succeeds
      throw notFound(`The upload ID was not found: ${uploadId}`);
    }
    v.uploads.delete(uploadId);
    v.recentlyClosed.set(uploadId, {});
    await this.vfs.remove(u.dir);
  }

  /** Bytes [start, endIncl] of a list of segments, streamed. */
  readSegments(dir: string, segments: Segment[], start: number, endIncl: number): Readable {
    const vfs = this.vfs;
    return Readable.from(
      (async function* () {
        let off = 0;
        for (const s of segments) {
          const a = Math.max(start, off);
          const b = Math.min(endIncl, off + s.size - 1);
          if (a <= b) yield* vfs.read(`${dir}/${s.file}`, a - off, b - off);
          off += s.size;
          if (off > endIncl) break;
        }
      })(),
      { objectMode: false },
    );
  }

  /** Removes the temporary files directly inside `dir`: a crash stopped their writers before the rename. */
  private async dropTemps(dir: string): Promise<void> {
    for (const f of await this.vfs.list(dir)) if (isTempName(f)) await this.vfs.remove(`${dir}/${f}`);
  }

  /** Loads what a previous run left on disk, finishing interrupted completes and dropping half-written files. */
  async load(loadJob: (v: Vault, dir: string) => Promise<void>): Promise<void> {
    const vfs = this.vfs;
    for (const region of await vfs.list('r')) {
      for (const name of await vfs.list(`r/${region}/v`)) {
        const dir = `r/${region}/v/${name}`;
        const meta = await vfs.readJson<{ creationDate: string; lastInventoryDate?: string | null }>(`${dir}/vault.json`);
        if (!meta) continue;
        const v: Vault = {
          name, region, arn: this.arn(region, name), creationDate: meta.creationDate, lastInventoryDate: meta.lastInventoryDate ?? null,
          archives: new ArchiveIndex(vaultTag(this.arn(region, name))), uploads: new Map(), jobs: new Map(), recentlyClosed: new Map(), dir,
        };
        // Staging only ever holds UploadArchive bodies not yet committed: whatever a crash left there is garbage.
        await vfs.remove(`${dir}/staging`);
        await this.dropTemps(dir);
        for (const uid of await vfs.list(`${dir}/u`)) {
          const done = await vfs.readJson<Archive>(`${dir}/u/${uid}/archive.json`);
          if (!done) continue;
          await this.dropTemps(`${dir}/u/${uid}`); // a part body cut off mid-upload must not move into the archive
          await vfs.rename(`${dir}/u/${uid}`, `${dir}/a/${done.id}`);
        }
        await v.archives.load(vfs, dir);
        for (const aid of await vfs.list(`${dir}/a`)) {
          const a = await vfs.readJson<Archive>(`${dir}/a/${aid}/archive.json`);
          if (a) v.archives.set(aid, a);
          else await vfs.remove(`${dir}/a/${aid}`); // a blob whose metadata never landed
        }
        for (const uid of await vfs.list(`${dir}/u`)) {
          const udir = `${dir}/u/${uid}`;
          const um = await vfs.readJson<Omit<Upload, 'parts' | 'dir'>>(`${udir}/upload.json`);
          if (!um) {
            await vfs.remove(udir);
            continue;
          }
          const u: Upload = { ...um, parts: new Map(), dir: udir };
          const files = await vfs.list(udir);
          for (const f of files.filter((f) => /^p\d+\.json$/.test(f))) {
            const p = await vfs.readJson<Part>(`${udir}/${f}`);
            if (p && files.includes(p.file)) u.parts.set(p.index, p);
          }
          const keep = new Set(['upload.json', ...[...u.parts.values()].flatMap((p) => [p.file, `p${p.index}.json`])]);
          for (const f of files) if (!keep.has(f)) await vfs.remove(`${udir}/${f}`); // temp files, superseded parts
          v.uploads.set(uid, u);
        }
        for (const jid of await vfs.list(`${dir}/j`)) {
          await this.dropTemps(`${dir}/j/${jid}`); // job.json or an inventory cut off mid-write
          await loadJob(v, `${dir}/j/${jid}`);
        }
        this.vaults.set(this.key(region, name), v);
      }
    }
  }
}

/** Tree hash of archive bytes [start, endIncl] (start MiB-aligned) from the archive's stored leaf digests. */
export function rangeTreeHash(leavesB64: string, start: number, endIncl: number): string {
  const leaves = Buffer.from(leavesB64, 'base64');
  const first = start / MiB;
  const last = Math.floor(endIncl / MiB);
  const nodes: Buffer[] = [];
  for (let i = first; i <= last; i++) nodes.push(leaves.subarray(i * 32, i * 32 + 32));
  return combineTreeHashes(nodes).toString('hex');
}

