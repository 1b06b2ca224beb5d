// `--to s3://BUCKET/PREFIX`: one S3 multipart upload per archive, continued across runs and jobs. A part's body
// is streamed as the verified bytes arrive, its SHA-256 sent as a trailing checksum that S3 checks, so memory
// stays at a few 1 MiB buffers whatever the part size; a part's response is awaited while the next one streams.
// The upload id is recorded before anything relies on it (an intent first, then the id); a killed run's upload is
// found again (its recorded id, else the uploads open on the archive's key) and continued. Each part S3 confirms
// is recorded in order with its SHA-256 and the archive's tree-hash state after it, so the next job (or run)
// continues after the recorded parts (those S3 still lists with the same checksum), reading the archive from that
// offset and verifying the whole archive's tree hash at the end; parts S3 holds beyond them are compared with the
// archive's bytes as they are re-read and verified from Glacier, and only the parts it lacks, or that hold other
// bytes, are sent (S3 replaces a part sent again under its number). A part cut by a job's expiry makes the
// archive's parts after it smaller (see smallerPart), recorded with the upload. The upload
// is completed once the whole archive matched its tree hash, and never over an object that holds another archive
// (its `glacier-archive-id` metadata): such a name is taken, and the archive gets another. The object's metadata
// keeps the archive id, its description and tree hash.
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { IntegrityError, ServiceError, UsageError } from '../core/errors.js';
import { MiB, TreeCombiner } from '../core/tree-hash.js';
import type { PartRecord } from './journal.js';
import type { ArchiveSink, ArchiveWriter, Item } from './sinks.js';
import { abortUpload, errorName, listParts, MAX_PARTS, MIN_PART, needsMd5, partMatches, partSizeFor, PartStream, uploadsOnKey, type HeldPart } from './s3-upload.js';

export interface S3Target {
  bucket: string;
  prefix: string;
}

/** Parses s3://BUCKET/PREFIX (PREFIX may be empty; a name is appended to it as it is, so end it with /). */
export function parseS3Url(url: string): S3Target {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new UsageError(`invalid S3 destination "${url}": s3://BUCKET/PREFIX (bucket: 3-63 of a-z, 0-9, '.', '-')`);
  let prefix = m[2] ?? '';
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  return { bucket: m[1], prefix };
}

/** S3 user metadata travels in HTTP headers: anything but printable ASCII is percent-encoded. */
export function metadataValue(s: string): string {
  return /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
}

export const STORAGE_CLASSES = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR'];

/** The upload id recorded before CreateMultipartUpload is sent: an upload on that key may exist unrecorded. */
export const PENDING_UPLOAD = '-';

/** Where the sink keeps its upload ids across runs (the restore journal has these methods). */
export interface UploadRecords {
  /** `s`: the size of the parts after those recorded, once an expiry cut a part (absent: the run's part size). */
  upload(archiveId: string): { u: string; key: string; s?: number } | undefined;
  allUploads(): { u: string; key: string }[];
  /** Resolves once the record is durable. */
  recordUpload(archiveId: string, uploadId: string, key: string, partSize?: number): Promise<void>;
  recordUploadEnd(archiveId: string, uploadId: string): Promise<void>;
  /** The parts recorded for the archive's upload, in order from part 1, and the tree-hash state after the last. */
  uploadParts?(archiveId: string): { u: string; parts: PartRecord[]; roots: string } | undefined;
  /** Records that S3 holds part `p.n` (parts 1..n-1 recorded before it) and the tree-hash state after it; resolves once durable. */
  recordPart?(archiveId: string, uploadId: string, p: PartRecord, roots: string): Promise<void>;
}

export interface S3SinkOptions {
  client?: S3Client;
  storageClass: string;
  /** Bytes per part (at least 5 MiB; raised so an archive needs at most 10,000 parts). An upload continued keeps its own. */
  partSize: number;
  region?: string;
  /** Part responses awaited at once per archive while the next part streams (default 4). */
  partsInFlight?: number;
  records?: UploadRecords;
  /** Fired when the run is interrupted: every S3 request in flight ends at once (answers are not waited for). */
  signal?: AbortSignal;
}

interface Reread {
  held: HeldPart;
  sha: Hash;
  md5?: Hash;
  remaining: number;
  /** The part's bytes as they passed: sent as the part again when S3's part is not them. */
  bytes: Buffer[];
}

/** A part S3 holds is compared with the archive's bytes (kept in memory meanwhile) up to this size; a larger one is sent again. */
const MAX_REREAD = 16 * MiB;

/**
 * The part size after an expiry cut a part of `cur` bytes: half (whole MiB), never below 5 MiB, and never so small
 * that the archive's `rest` bytes after `parts` parts need more than 10,000 parts; `cur` when it cannot shrink.
 */
export function smallerPart(cur: number, parts: number, rest: number): number {
  const half = Math.max(MIN_PART, Math.floor(cur / 2 / MiB) * MiB);
  const least = Math.ceil(rest / Math.max(1, MAX_PARTS - parts) / MiB) * MiB;
  return Math.min(cur, Math.max(half, least));
}

export class S3Sink implements ArchiveSink {
  readonly client: S3Client;

  constructor(
    readonly target: S3Target,
    private readonly o: S3SinkOptions,
  ) {
    const custom = Boolean(process.env.AWS_ENDPOINT_URL_S3 || process.env.AWS_ENDPOINT_URL);
    // The SDK reads AWS_ENDPOINT_URL_S3 and the profile's endpoint itself; S3-compatible servers on a custom
    // endpoint rarely answer virtual-hosted names (BUCKET.127.0.0.1), so those get path-style URLs.
    // A part request ended by an interruption makes the SDK's default logger print a warning on stderr: the
    // sink says what matters itself, so the SDK's logger is silent.
    const logger = { trace() {}, debug() {}, info() {}, warn() {}, error() {} };
    this.client = o.client ?? new S3Client({ region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION, forcePathStyle: custom || undefined, logger });
  }

  /** Keeps upload ids in `records` (the run's journal) from now on. */
  keepRecords(records: UploadRecords): void {
    this.o.records = records;
  }

  key(item: Item): string {
    return `${this.target.prefix}${item.name}`;
  }

  where(item: Item): string {
    return `s3://${this.target.bucket}/${this.key(item)}`;
  }

  /**
   * Whether the key for `name` holds an object that is not this archive (its `glacier-archive-id` metadata names
   * another, or none): that name is not given to this archive, so the object is never replaced. An object of this
   * archive (a run whose state was lost) is its own. S3 has no folders: a folder marker's name is never taken.
   */
  async taken(name: string, folder: boolean, item: { archiveId?: string; size: number; treeHash: string }): Promise<boolean> {
    if (folder) return false;
    const h = await this.head(`${this.target.prefix}${name}`);
    if (!h) return false;
    const id = h.Metadata?.['glacier-archive-id'];
    if (item.archiveId !== undefined) return id !== item.archiveId;
    return !(id && h.Metadata?.['glacier-tree-hash'] === item.treeHash && h.ContentLength === item.size);
  }

  async holds(item: Item): Promise<boolean> {
    const h = await this.head(this.key(item)).catch(() => undefined);
    return h?.ContentLength === item.size && h.Metadata?.['glacier-archive-id'] === item.archiveId && h.Metadata?.['glacier-tree-hash'] === item.treeHash;
  }

  /**
   * At start: a run killed between CreateMultipartUpload and the record of its id left an upload nobody knows
   * the id of; every upload open on such a key is aborted (it holds no part: parts are sent only after the record).
   */
  async recover(): Promise<void> {
    for (const r of this.o.records?.allUploads() ?? []) {
      if (r.u !== PENDING_UPLOAD) continue;
      for (const id of await uploadsOnKey(this.client, this.target.bucket, r.key, this.o.signal)) await abortUpload(this.client, this.target.bucket, r.key, id);
    }
  }

  /** Aborts an upload a run left open. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    await abortUpload(this.client, this.target.bucket, key, uploadId);
  }

  /** HeadObject of `Key`, or undefined when there is no object there. */
  private async head(Key: string, checksums = false): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key, ChecksumMode: checksums ? 'ENABLED' : undefined }), { abortSignal: this.o.signal });
    } catch (e) {
      if (['NotFound', 'NoSuchKey'].includes(errorName(e)) || (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
      throw e;
    }
  }

  /** Throws when the key holds an object that is not this archive: it is never replaced. */
  private async refuseOther(item: Item, Key: string): Promise<void> {
    const h = await this.head(Key);
    if (!h) return;
    const id = h.Metadata?.['glacier-archive-id'];
    if (id === item.archiveId) return;
    throw new ServiceError(
      `s3://${this.target.bucket}/${Key} already holds ${id ? `archive ${id}` : 'an object that is no archive of this vault'}: not replaced (restore to another --to prefix, or move that object away and run again)`,
    );
  }

  /** The upload this archive already has in S3 (its parts), else a new one, recorded before it is relied on. */
  private async upload(item: Item, Key: string): Promise<{ UploadId: string; held: Map<number, HeldPart> }> {
    const Bucket = this.target.bucket;
    const rec = this.o.records?.upload(item.archiveId);
    if (rec && rec.u !== PENDING_UPLOAD) {
      const held = rec.key === Key ? await listParts(this.client, Bucket, Key, rec.u, this.o.signal) : undefined;
      if (held) return { UploadId: rec.u, held };
      if (rec.key !== Key) await abortUpload(this.client, Bucket, rec.key, rec.u);
    }
    // Not recorded (the state lost, or a kill before the record): the uploads open on the archive's key are its
    // own; the one holding the most parts is continued, the others aborted.
    let best: { UploadId: string; held: Map<number, HeldPart> } | undefined;
    for (const UploadId of await uploadsOnKey(this.client, Bucket, Key, this.o.signal)) {
      const held = await listParts(this.client, Bucket, Key, UploadId, this.o.signal);
      if (!held) continue;
      if (best && best.held.size >= held.size) {
        await abortUpload(this.client, Bucket, Key, UploadId);
        continue;
      }
      if (best) await abortUpload(this.client, Bucket, Key, best.UploadId);
      best = { UploadId, held };
    }
    if (best) {
      await this.o.records?.recordUpload(item.archiveId, best.UploadId, Key);
      return best;
    }
    // The intent is on disk before the upload exists: a kill before its id is recorded is found at the next start.
    await this.o.records?.recordUpload(item.archiveId, PENDING_UPLOAD, Key);
    const up = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket,
        Key,
        StorageClass: this.o.storageClass as never,
        ChecksumAlgorithm: 'SHA256',
        ContentType: 'application/octet-stream',
        Metadata: {
          'glacier-archive-id': item.archiveId,
          'glacier-tree-hash': item.treeHash,
          'glacier-description': metadataValue(item.description),
          'glacier-creation-date': metadataValue(item.creationDate),
        },
      }),
      { abortSignal: this.o.signal },
    );
    await this.o.records?.recordUpload(item.archiveId, up.UploadId!, Key);
    return { UploadId: up.UploadId!, held: new Map() };
  }

  /** Part sizes made smaller by an expiry this run (by archive id and upload id), for a sink without records. */
  private readonly shrunk = new Map<string, number>();

  async open(item: Item): Promise<ArchiveWriter> {
    const Bucket = this.target.bucket;
    const Key = this.key(item);
    await this.refuseOther(item, Key); // before a byte is fetched for it
    const { UploadId, held } = await this.upload(item, Key);
    // The size of the parts after those recorded: --part-size, smaller once an expiry cut a part of this
    // archive (recorded with the upload); an upload continued without its state keeps its first part's size.
    const rec = this.o.records?.upload(item.archiveId);
    const chosen = (rec?.u === UploadId ? rec.s : undefined) ?? this.shrunk.get(`${item.archiveId} ${UploadId}`);
    let partSize = partSizeFor(item.size, this.o.partSize);
    const first = held.get(1);
    if (chosen && chosen >= MIN_PART && chosen % MiB === 0 && Math.ceil(item.size / chosen) <= MAX_PARTS) partSize = chosen;
    else if (first && first.size > 0 && (first.size >= MIN_PART || first.size >= item.size) && Math.ceil(item.size / first.size) <= MAX_PARTS) partSize = first.size;
    // Each part's end in the archive: the parts recorded (their own sizes), then `partSize` ones to the end.
    const ends: number[] = [];
    const layout = (from: number) => {
      ends.length = 0;
      let e = from;
      do ends.push((e = Math.min(item.size, e + partSize)));
      while (e < item.size);
    };
    layout(0);
    let count = ends.length;
    const sizeOf = (n: number) => ends[n - 1] - (n > 1 ? ends[n - 2] : 0);
    const parts: CompletedPart[] = [];
    const digests: Buffer[] = [];
    const inFlight = new Map<Promise<void>, PartStream>(); // parts sent whole, their answer awaited
    const maxInFlight = Math.max(1, this.o.partsInFlight ?? 4);
    let firstError: unknown;
    let cur: PartStream | undefined;
    let reread: Reread | undefined;
    let pos = 0;
    let completed = 0; // parts S3 confirmed (or matched) during this job
    let after: { warning?: string; error?: string } | undefined;

    // The parts recorded by an earlier job or run, still listed by S3 with the checksum recorded: the download
    // continues after them, from the archive's tree-hash state recorded with the last one.
    const records = this.o.records;
    let resumed = 0;
    let combiner: TreeCombiner | undefined;
    let recordedThrough = 0; // parts 1..recordedThrough are recorded
    const kept = records?.uploadParts?.(item.archiveId);
    if (kept && kept.u === UploadId && kept.parts.length > 0) {
      let prev = 0;
      const fits = kept.parts.every((p, i) => {
        const h = held.get(i + 1);
        // S3 lists a part's SHA-256 (AWS, for uploads created with ChecksumAlgorithm), else its ETag as it gave it.
        const same = h?.checksum ? h.checksum.replace(/-\d+$/, '') === p.sha : Boolean(h?.etag && p.etag && h.etag.replace(/"/g, '') === p.etag.replace(/"/g, ''));
        const ok = p.n === i + 1 && p.end > prev && p.end < item.size && p.end % MiB === 0 && h?.size === p.end - prev && same;
        prev = p.end;
        return ok;
      });
      const end = prev;
      const roots = kept.roots.match(/[0-9a-f]{64}/g)?.map((r) => Buffer.from(r, 'hex')) ?? [];
      if (fits && kept.roots.length === roots.length * 64 && kept.parts.length + Math.ceil((item.size - end) / partSize) <= MAX_PARTS) {
        try {
          combiner = TreeCombiner.resume(end / MiB, roots);
          for (const [i, p] of kept.parts.entries()) {
            parts[i] = { PartNumber: i + 1, ETag: held.get(i + 1)!.etag, ChecksumSHA256: p.sha };
            digests[i] = Buffer.from(p.sha, 'base64');
          }
          layout(end);
          ends.unshift(...kept.parts.map((p) => p.end));
          count = ends.length;
          resumed = pos = end;
          recordedThrough = kept.parts.length;
        } catch {
          combiner = undefined; // a state that does not fit: the archive is re-read from its start
        }
      }
    }
    // Parts end on whole MiB (all but the last): only then is the tree-hash state at their ends recorded.
    const aligned = ends.slice(0, -1).every((e) => e % MiB === 0);
    const partEnding = new Map(ends.slice(0, -1).map((e, i) => [e, i + 1]));
    let at = 0; // index in `ends` of the part holding `pos`
    const partAt = (offset: number) => {
      while (ends[at] <= offset && at < ends.length - 1) at++;
      return at + 1;
    };
    // The tree-hash state at each part's end, taken as the download folds the leaves in (see PartCombiner).
    const rootsAt = new Map<number, string>();
    let recording: Promise<void> = Promise.resolve();
    /** Records, in order, each part S3 confirmed once the tree-hash state after it is known. */
    const record = () => {
      if (!records?.recordPart || !aligned) return;
      for (let n = recordedThrough + 1; n < count && parts[n - 1] && digests[n - 1] && rootsAt.has(n); n = recordedThrough + 1) {
        recordedThrough = n;
        const roots = rootsAt.get(n)!;
        rootsAt.delete(n);
        const p: PartRecord = { n, end: ends[n - 1], sha: digests[n - 1].toString('base64'), etag: parts[n - 1].ETag };
        recording = recording.then(() => records.recordPart!(item.archiveId, UploadId, p, roots)).catch((e) => {
          firstError ??= e;
        });
      }
    };
    const tree = new PartCombiner(resumed / MiB, combiner, (leaves, roots) => {
      const n = partEnding.get(leaves * MiB);
      if (n === undefined) return;
      rootsAt.set(n, roots());
      record();
    });

    // Stopped: no answer is waited for (a part S3 kept is checked by the next attempt like any other).
    const settle = async () => {
      cur?.cancel();
      cur = undefined;
      for (const p of inFlight.values()) p.cancel();
      await Promise.allSettled(inFlight.keys());
    };
    const sent = (p: PartStream) => {
      const n = p.partNumber;
      const digest = p.sha.digest();
      const t: Promise<void> = p.result
        .then((r) => {
          // S3 computed the part's SHA-256 from what it received; it must be the one of the bytes we sent.
          if (r.ChecksumSHA256 && r.ChecksumSHA256 !== digest.toString('base64')) throw new IntegrityError(`part ${n} of s3://${Bucket}/${Key}: S3 received bytes with SHA-256 ${r.ChecksumSHA256}, sent ${digest.toString('base64')}`);
          parts[n - 1] = { PartNumber: n, ETag: r.ETag, ChecksumSHA256: digest.toString('base64') };
          digests[n - 1] = digest;
          completed++;
          record();
        })
        .catch((e) => {
          firstError ??= e;
        })
        .finally(() => inFlight.delete(t));
      inFlight.set(t, p);
    };
    const checked = async (r: Reread) => {
      const n = r.held.partNumber;
      const sha = r.sha.digest();
      if (partMatches(r.held, sha, r.md5?.digest())) {
        parts[n - 1] = { PartNumber: n, ETag: r.held.etag, ChecksumSHA256: r.held.checksum ?? sha.toString('base64') };
        digests[n - 1] = sha;
        completed++;
        record();
        return;
      }
      // S3's part n is not these bytes (another writer's, or one damaged): sent again from them, it replaces it.
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight.keys());
      if (firstError) throw firstError;
      const p = (cur = new PartStream(this.client, { Bucket, Key, UploadId }, n, sizeOf(n), this.o.signal));
      for (const b of r.bytes) await p.write(b);
      cur = undefined;
      sent(p);
    };

    return {
      resumed,
      combiner: tree,
      write: async (data, start) => {
        if (start !== pos) throw new Error(`bytes at ${start} handed to the S3 sink, expected at ${pos}`);
        for (let off = 0; off < data.length; ) {
          if (firstError) throw firstError;
          if (!cur && !reread) {
            const n = partAt(pos);
            const h = held.get(n);
            // A part S3 holds in full is checked as its bytes pass; a part of another size (one cut short), or one
            // too large to keep in memory while it is checked, is sent again.
            if (h && h.size === sizeOf(n) && h.size <= MAX_REREAD && (h.checksum || needsMd5(h)))
              reread = { held: h, sha: createHash('sha256'), md5: needsMd5(h) ? createHash('md5') : undefined, remaining: h.size, bytes: [] };
            else {
              while (inFlight.size >= maxInFlight) await Promise.race(inFlight.keys());
              if (firstError) throw firstError;
              cur = new PartStream(this.client, { Bucket, Key, UploadId }, n, sizeOf(n), this.o.signal);
            }
          }
          if (reread) {
            const take = Math.min(reread.remaining, data.length - off);
            const slice = data.subarray(off, off + take);
            reread.sha.update(slice);
            reread.md5?.update(slice);
            reread.bytes.push(Buffer.from(slice)); // a copy: the caller reuses its buffers
            reread.remaining -= take;
            off += take;
            pos += take;
            if (!reread.remaining) {
              const r = reread;
              reread = undefined;
              await checked(r);
            }
          } else {
            const p = cur!;
            const take = Math.min(p.remaining, data.length - off);
            await p.write(data.subarray(off, off + take));
            off += take;
            pos += take;
            if (!p.remaining) {
              cur = undefined;
              sent(p);
            }
          }
        }
      },
      finish: async () => {
        await Promise.allSettled(inFlight.keys());
        if (firstError) throw firstError;
        if (pos !== item.size) throw new Error(`the S3 sink was given ${pos} of ${item.size} bytes`);
        if (item.size === 0 && !parts[0]) {
          const empty = Buffer.alloc(0);
          const digest = createHash('sha256').update(empty).digest();
          const r = await this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 1, Body: empty, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: digest.toString('base64'), ContentLength: 0 }), { abortSignal: this.o.signal });
          parts[0] = { PartNumber: 1, ETag: r.ETag, ChecksumSHA256: digest.toString('base64') };
          digests[0] = digest;
        }
        // Another archive may have reached the key while this one moved: never complete over it.
        await this.refuseOther(item, Key);
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }), { abortSignal: this.o.signal });
        await this.o.records?.recordUploadEnd(item.archiveId, UploadId);
        // S3's checksum of a multipart object is the SHA-256 of the parts' digests, "-N": it must be ours.
        const want = `${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}-${count}`;
        const h = await this.head(Key, true);
        // Some S3-compatible servers give the composite checksum without its "-N" part count.
        const got = h?.ChecksumSHA256?.replace(/-\d+$/, '');
        const bad = h?.ContentLength !== item.size ? `holds ${h?.ContentLength} bytes, not ${item.size}` : got && got !== want.replace(/-\d+$/, '') ? `has checksum ${h!.ChecksumSHA256}, not ${want}` : '';
        if (bad) {
          await this.client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => {});
          throw new IntegrityError(`s3://${Bucket}/${Key} ${bad} (deleted)`);
        }
      },
      // The whole archive went through and failed (its tree hash, another archive at the key):
      // the upload goes. Stopped part way (an error, an expired job), it stays for the next attempt to continue.
      abort: async () => {
        await settle();
        if (pos === item.size) {
          await abortUpload(this.client, Bucket, Key, UploadId).catch(() => {});
          await this.o.records?.recordUploadEnd(item.archiveId, UploadId);
        }
      },
      // The recorded upload and its parts stay: the same command continues it. The job expired (the run goes on):
      // the part being streamed is dropped, those sent whole are awaited and recorded. Interrupted: nothing is awaited.
      // A part cut by the expiry makes the parts after those recorded smaller (see smallerPart), recorded with the
      // upload so that the next job and later runs keep it; a job that gave no whole part of the least size ends
      // the archive for this run (see afterExpiry).
      suspend: async () => {
        if (this.o.signal?.aborted) return settle();
        const cut = cur && cur.remaining < cur.size ? cur.partNumber : reread && reread.remaining < reread.held.size ? reread.held.partNumber : undefined;
        cur?.cancel();
        cur = undefined;
        reread = undefined;
        await Promise.allSettled(inFlight.keys());
        await recording;
        if (cut === undefined) return;
        const from = recordedThrough ? ends[recordedThrough - 1] : 0;
        const next = smallerPart(partSize, recordedThrough, item.size - from);
        if (!completed && next === partSize) {
          after = {
            error:
              `no job lives long enough to give one whole ${mib(partSize)} part of this archive (part ${cut} cut at each expiry): ` +
              `run again with a higher --limit-rate, or fewer downloads at once (-c)`,
          };
          return;
        }
        if (next < partSize) {
          this.shrunk.set(`${item.archiveId} ${UploadId}`, next);
          await records?.recordUpload(item.archiveId, UploadId, Key, next);
        }
        after = {
          warning:
            next < partSize
              ? `part ${cut} (${mib(sizeOf(cut))}) was cut by the expiry: the parts from byte ${from} on are ${mib(next)} (a smaller --part-size, or a higher --limit-rate, gives whole parts within a job's life)`
              : `part ${cut} (${mib(sizeOf(cut))}) was cut by the expiry and is sent again by the next job (a smaller --part-size, or a higher --limit-rate, wastes less)`,
        };
      },
      kept: () => (recordedThrough ? ends[recordedThrough - 1] : 0),
      afterExpiry: () => after,
    };
  }
}

/** `n` bytes as MiB for messages ("8 MiB", "5.5 MiB"). */
function mib(n: number): string {
  return `${Number((n / MiB).toFixed(1))} MiB`;
}

/**
 * The archive's running tree hash as the download folds its 1 MiB leaves in, telling `atLeaf` the state (its
 * subtree roots, hex) after each leaf, so the S3 sink can record it at the end of each part. `from`: the leaves
 * already folded into `start` (a continued upload).
 */
class PartCombiner extends TreeCombiner {
  private readonly inner: TreeCombiner;

  constructor(
    private leaves: number,
    start: TreeCombiner | undefined,
    private readonly atLeaf: (leaves: number, roots: () => string) => void,
  ) {
    super();
    this.inner = start ?? new TreeCombiner();
  }

  override push(leaf: Buffer): void {
    this.inner.push(leaf);
    this.leaves++;
    this.atLeaf(this.leaves, () => Buffer.concat(this.inner.roots()).toString('hex'));
  }

  override digest(): Buffer {
    return this.inner.digest();
  }

  override roots(): Buffer[] {
    return this.inner.roots();
  }
}
