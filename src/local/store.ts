// Vaults, archives and multipart uploads of glacier-local, kept in a Vfs (disk or memory).
// Layout under the root:  r/<region>/v/<vault>/vault.json
//   a/<archiveId>/archive.json + segment files       (an archive is the ordered list of its segments)
//   u/<uploadId>/upload.json, p<n>.json + p<n>.<rand> (a part is visible once its json names its data file)
//   j/<jobId>/job.json + output files
// Completing an upload writes u/<id>/archive.json and then renames the upload's folder into a/<archiveId>, so
// a crash leaves either the open upload or the whole archive; load() rolls a half-done rename forward.
// Operations on one upload (a part's commit, Complete, Abort, ListParts) run one at a time (`serial`), so a
// Complete sees a fixed set of parts and a part re-sent meanwhile can neither change nor delete them. Every
// operation that fails puts back what it had changed, on disk and in memory.
import { Readable } from 'node:stream';
import { combineTreeHashes, MiB } from '../core/tree-hash.js';
import { isTempName, TRASH, type BlobWriter, type Vfs } from './vfs.js';
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
  /** The multipart upload it was completed from: a Complete repeated after a restart still gets this archive. */
  uploadId?: string;
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
  /** Set once completed or aborted: a part body still arriving must not be committed into it. */
  closed?: boolean;
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
  /** UploadArchive bodies being received: while any is, the vault is "recently written to" and cannot be deleted. */
  writing: number;
}

export const isoNow = (now = Date.now()) => new Date(now).toISOString();

export class Store {
  private readonly vaults = new Map<string, Vault>();
  private readonly queues = new Map<string, Promise<unknown>>();

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

  /** Runs `fn` after every earlier call with the same key has settled (a per-key FIFO mutex). */
  async serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.queues.set(key, tail);
    void tail.then(() => {
      if (this.queues.get(key) === tail) this.queues.delete(key);
    });
    return run;
  }

  /** Holds off DeleteVault while `fn` writes into the vault; call it in the same tick as the vault's look-up. */
  async writing<T>(v: Vault, fn: () => Promise<T>): Promise<T> {
    v.writing++;
    try {
      return await fn();
    } finally {
      v.writing--;
    }
  }

  private current(v: Vault): boolean {
    return this.vaults.get(this.key(v.region, v.name)) === v;
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
    // Serialised with DeleteVault of the same name, so a delete's folder removal never takes a new vault's files.
    return this.serial(`vault:${this.key(region, name)}`, async () => {
      const existing = this.vaults.get(this.key(region, name));
      if (existing) return existing;
      const dir = `r/${region}/v/${name}`;
      const v: Vault = {
        name, region, arn: this.arn(region, name), creationDate: isoNow(now), lastInventoryDate: null,
        archives: new ArchiveIndex(vaultTag(this.arn(region, name))), uploads: new Map(), jobs: new Map(), recentlyClosed: new Map(), dir, writing: 0,
      };
      try {
        await this.vfs.writeJson(`${dir}/vault.json`, { name, region, creationDate: v.creationDate });
      } catch (e) {
        await this.vfs.removeTree(dir).catch(() => {});
        throw e;
      }
      this.vaults.set(this.key(region, name), v);
      return v;
    });
  }

  async deleteVault(v: Vault): Promise<void> {
    const key = this.key(v.region, v.name);
    // Checked and unlisted in one tick: an UploadArchive that found the vault holds `writing` up by now, and one
    // that comes later no longer finds it.
    if (v.archives.size > 0 || v.uploads.size > 0 || v.writing > 0) throw invalidParam(`Vault not empty or recently written to: ${v.arn}`);
    if (!this.current(v)) return;
    this.vaults.delete(key);
    await this.serial(`vault:${key}`, async () => {
      try {
        await this.vfs.removeTree(v.dir);
      } catch (e) {
        if (!this.vaults.has(key)) this.vaults.set(key, v);
        throw e;
      }
    });
  }

  async saveVault(v: Vault): Promise<void> {
    await this.vfs.writeJson(`${v.dir}/vault.json`, { name: v.name, region: v.region, creationDate: v.creationDate, lastInventoryDate: v.lastInventoryDate });
  }

  /** Commits a blob already written under the vault's staging folder as a new single-segment archive; on any
   *  failure the blob is discarded and nothing is left in the vault. */
  async addArchive(v: Vault, blob: Pick<BlobWriter, 'commit' | 'discard'>, meta: Omit<Archive, 'id' | 'segments' | 'creationDate'>, now = Date.now()): Promise<Archive> {
    if (!this.current(v)) {
      await blob.discard();
      throw notFound(`Vault not found for ARN: ${v.arn}`);
    }
    const id = newArchiveId(v.arn);
    const dir = `${v.dir}/a/${id}`;
    const a: Archive = { ...meta, id, creationDate: isoNow(now), segments: [{ file: 'data', size: meta.size }] };
    try {
      await blob.commit(`${dir}/data`);
      await this.vfs.writeJson(`${dir}/archive.json`, a);
    } catch (e) {
      await blob.discard().catch(() => {});
      await this.vfs.removeTree(dir).catch(() => {});
      throw e;
    }
    v.archives.set(id, a);
    return a;
  }

  async deleteArchive(v: Vault, archiveId: string): Promise<void> {
    if (!archiveIdMatchesVault(archiveId, v.arn)) throw invalidParam(`Invalid vault name: ${v.arn}`);
    const a = v.archives.get(archiveId);
    if (!a || !v.archives.delete(archiveId)) return; // deleting twice is not an error
    try {
      await this.vfs.removeTree(`${v.dir}/a/${archiveId}`);
    } catch (e) {
      v.archives.set(archiveId, a);
      throw e;
    }
  }

  archiveFile(v: Vault, a: Archive, seg: Segment): string {
    // A segment path with a '/' is relative to the vault (the shared body of synthetic archives, archive-index.ts).
    return seg.file.includes('/') ? `${v.dir}/${seg.file}` : `${v.dir}/a/${a.id}/${seg.file}`;
  }

  async initiateUpload(v: Vault, partSize: number, description: string | null, now = Date.now()): Promise<Upload> {
    const id = newUploadId();
    const u: Upload = { id, description, partSize, creationDate: isoNow(now), parts: new Map(), dir: `${v.dir}/u/${id}` };
    try {
      await this.vfs.writeJson(`${u.dir}/upload.json`, { id, description, partSize, creationDate: u.creationDate });
    } catch (e) {
      await this.vfs.removeTree(u.dir).catch(() => {});
      throw e;
    }
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

  /** A writer for a part body of `u`, in the upload's folder (so a crash mid-body leaves it there, to be dropped
   *  at start). Throws ResourceNotFoundException once the upload is closed. */
  async partWriter(u: Upload): Promise<BlobWriter> {
    if (u.closed) throw notFound(`The upload ID was not found: ${u.id}`);
    try {
      return await this.vfs.writer(u.dir, { create: false });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`The upload ID was not found: ${u.id}`);
      throw e;
    }
  }

  /**
   * Makes a received part body part `part.index` of `u`, replacing an earlier one. Serialised with the upload's
   * other operations; throws ResourceNotFoundException (and discards the body) when the upload was completed or
   * aborted meanwhile. On any failure the body is discarded and the previous part stays.
   */
  async putPart(u: Upload, part: Omit<Part, 'file'>, blob: Pick<BlobWriter, 'commit' | 'discard'>): Promise<void> {
    await this.serial(`upload:${u.id}`, async () => {
      if (u.closed) {
        await blob.discard();
        throw notFound(`The upload ID was not found: ${u.id}`);
      }
      const file = `p${part.index}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
      const p: Part = { ...part, file };
      try {
        await blob.commit(`${u.dir}/${file}`);
        await this.vfs.writeJson(`${u.dir}/p${part.index}.json`, p);
      } catch (e) {
        await blob.discard().catch(() => {});
        await this.vfs.remove(`${u.dir}/${file}`).catch(() => {});
        throw e;
      }
      const old = u.parts.get(part.index);
      u.parts.set(part.index, p);
      if (old) await this.vfs.remove(`${u.dir}/${old.file}`).catch(() => {}); // else left for the next start-up
    });
  }

  /** The upload's parts in order, read between the upload's other operations. */
  async listParts(u: Upload): Promise<Part[]> {
    return this.serial(`upload:${u.id}`, async () => {
      if (u.closed) throw notFound(`The upload ID was not found: ${u.id}`);
      return [...u.parts.values()].sort((a, b) => a.index - b.index);
    });
  }

  /**
   * Completes `u` into an archive, serialised with the upload's other operations. A Complete repeated after one
   * that succeeded answers that same archive (the service is idempotent here for a while, protocol §6.3); after
   * an Abort it is ResourceNotFoundException. Throws InvalidParameterValueException for missing content, a short
   * middle part or a tree hash mismatch, leaving the upload open and unchanged.
   */
  async completeUpload(v: Vault, u: Upload, archiveSize: number, treeHash: string, now = Date.now()): Promise<Archive> {
    return this.serial(`upload:${u.id}`, async () => {
      const closed = v.recentlyClosed.get(u.id);
      if (closed?.archiveId && v.archives.has(closed.archiveId)) return v.archives.get(closed.archiveId)!;
      if (u.closed || v.uploads.get(u.id) !== u) throw notFound(`The upload ID was not found: ${u.id}`);
      return this.completeLocked(v, u, archiveSize, treeHash, now);
    });
  }

  private async completeLocked(v: Vault, u: Upload, archiveSize: number, treeHash: string, now: number): Promise<Archive> {
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
      uploadId: u.id,
    };
    const adir = `${v.dir}/a/${id}`;
    await this.vfs.writeJson(`${u.dir}/archive.json`, a);
    try {
      await this.vfs.rename(u.dir, adir);
    } catch (e) {
      // The file system refused the rename (answered 5xx): the upload stays open as it was. A crash here, which
      // answers nothing, is rolled forward by load() instead; so is anything but an fs error.
      if ((e as NodeJS.ErrnoException).code) await this.vfs.remove(`${u.dir}/archive.json`).catch(() => {});
      throw e;
    }
    u.closed = true;
    v.uploads.delete(u.id);
    v.archives.set(id, a);
    v.recentlyClosed.set(u.id, { archiveId: id });
    // Part bodies still arriving were writing temporary files in the upload's folder, which is now the archive's:
    // drop them (their writers find the upload closed and answer 404).
    await this.dropTemps(adir).catch(() => {});
    return a;
  }

  /** Aborts an upload, serialised with its other operations; aborting twice succeeds, aborting a completed one
   *  is ResourceNotFoundException (protocol §6.4). */
  async abortUpload(v: Vault, uploadId: string): Promise<void> {
    return this.serial(`upload:${uploadId}`, async () => {
      const u = v.uploads.get(uploadId);
      if (!u) {
        const closed = v.recentlyClosed.get(uploadId);
        if (closed && !closed.archiveId) return; // aborting twice succeeds
        throw notFound(`The upload ID was not found: ${uploadId}`);
      }
      // Moved aside in one step: a part body still arriving can no longer commit into it.
      await this.vfs.removeTree(u.dir);
      u.closed = true;
      v.uploads.delete(uploadId);
      v.recentlyClosed.set(uploadId, {});
    });
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
    await vfs.remove(TRASH); // trees whose removal a stop cut short
    await this.dropTemps('');
    for (const region of await vfs.list('r')) {
      for (const name of await vfs.list(`r/${region}/v`)) {
        const dir = `r/${region}/v/${name}`;
        const meta = await vfs.readJson<{ creationDate: string; lastInventoryDate?: string | null }>(`${dir}/vault.json`);
        if (!meta) continue;
        const v: Vault = {
          name, region, arn: this.arn(region, name), creationDate: meta.creationDate, lastInventoryDate: meta.lastInventoryDate ?? null,
          archives: new ArchiveIndex(vaultTag(this.arn(region, name))), uploads: new Map(), jobs: new Map(), recentlyClosed: new Map(), dir, writing: 0,
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
          if (a && a.id === aid) {
            // Part bodies that were arriving when their upload completed, then a crash before they were dropped.
            await this.dropTemps(`${dir}/a/${aid}`);
            v.archives.set(aid, a);
            if (a.uploadId) v.recentlyClosed.set(a.uploadId, { archiveId: aid });
          } else {
            await vfs.remove(`${dir}/a/${aid}`); // a blob whose metadata never landed
          }
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

