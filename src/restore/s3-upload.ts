// The pieces of one S3 multipart upload that outlive a run: finding the upload an archive already has (by its
// recorded id, else by listing the uploads open on its key), reading back the parts S3 holds, and streaming a
// part's body with its SHA-256 sent as a trailing checksum (aws-chunked), so a part of any size needs only a
// few 1 MiB buffers.
import {
  AbortMultipartUploadCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  UploadPartCommand,
  type S3Client,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { createHash, type Hash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { MiB } from '../core/tree-hash.js';

/** A part S3 holds for an upload, as ListParts gives it. */
export interface HeldPart {
  partNumber: number;
  size: number;
  etag: string;
  /** Base64 SHA-256 of the part, when the server lists it (AWS does for uploads created with ChecksumAlgorithm). */
  checksum?: string;
}

/** S3's limits on multipart uploads (AWS S3 User Guide, "Amazon S3 multipart upload limits"). */
export const MIN_PART = 5 * MiB;
export const MAX_PARTS = 10_000;

/** The part size used for an archive of `size` bytes: `wanted`, raised to whole MiB so 10,000 parts hold it. */
export function partSizeFor(size: number, wanted: number): number {
  return Math.max(wanted, Math.ceil(size / MAX_PARTS / MiB) * MiB);
}

/**
 * Every part S3 holds for the upload (all ListParts pages), by part number; undefined when the upload is gone
 * (NoSuchUpload: completed or aborted). Throws the SDK's error for anything else.
 */
export async function listParts(client: S3Client, Bucket: string, Key: string, UploadId: string, abortSignal?: AbortSignal): Promise<Map<number, HeldPart> | undefined> {
  const parts = new Map<number, HeldPart>();
  let PartNumberMarker: string | undefined;
  try {
    for (;;) {
      const r = await client.send(new ListPartsCommand({ Bucket, Key, UploadId, PartNumberMarker, MaxParts: 1000 }), { abortSignal });
      for (const p of r.Parts ?? []) {
        if (p.PartNumber === undefined) continue;
        parts.set(p.PartNumber, { partNumber: p.PartNumber, size: p.Size ?? -1, etag: p.ETag ?? '', checksum: p.ChecksumSHA256 || undefined });
      }
      if (!r.IsTruncated || !r.NextPartNumberMarker) return parts;
      PartNumberMarker = String(r.NextPartNumberMarker);
    }
  } catch (e) {
    if (errorName(e) === 'NoSuchUpload') return undefined;
    throw e;
  }
}

/** The ids of the multipart uploads open on exactly `Key` (all ListMultipartUploads pages), oldest first. */
export async function uploadsOnKey(client: S3Client, Bucket: string, Key: string, abortSignal?: AbortSignal): Promise<string[]> {
  const found: { id: string; at: number }[] = [];
  let KeyMarker: string | undefined;
  let UploadIdMarker: string | undefined;
  for (;;) {
    const r = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: Key, KeyMarker, UploadIdMarker }), { abortSignal });
    for (const u of r.Uploads ?? []) if (u.Key === Key && u.UploadId) found.push({ id: u.UploadId, at: u.Initiated?.getTime() ?? 0 });
    if (!r.IsTruncated) break;
    KeyMarker = r.NextKeyMarker;
    UploadIdMarker = r.NextUploadIdMarker;
    if (!KeyMarker && !UploadIdMarker) break;
  }
  return found.sort((a, b) => a.at - b.at).map((u) => u.id);
}

/** Aborts an upload; one already gone (NoSuchUpload) is not an error. */
export async function abortUpload(client: S3Client, Bucket: string, Key: string, UploadId: string): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));
  } catch (e) {
    if (errorName(e) !== 'NoSuchUpload') throw e;
  }
}

export function errorName(e: unknown): string {
  return String((e as { Code?: string }).Code ?? (e as Error)?.name ?? '');
}

/**
 * Whether the bytes re-read for a part match what S3 holds for it: its listed SHA-256 when the server gives one,
 * else its ETag, which is the MD5 of the part's bytes for uploads without SSE-KMS or SSE-C (AWS S3 API reference,
 * "Common Response Headers": ETag). A part neither can vouch for is taken as not held, and sent again.
 */
export function partMatches(held: HeldPart, sha256: Buffer, md5: Buffer | undefined): boolean {
  if (held.checksum) return held.checksum.replace(/-\d+$/, '') === sha256.toString('base64');
  const etag = held.etag.replace(/"/g, '').toLowerCase();
  return Boolean(md5) && /^[0-9a-f]{32}$/.test(etag) && etag === md5!.toString('hex');
}

/** Whether a part's ETag can vouch for its bytes (an MD5), so re-read bytes need an MD5 next to their SHA-256. */
export function needsMd5(held: HeldPart): boolean {
  return !held.checksum && /^"?[0-9a-fA-F]{32}"?$/.test(held.etag);
}

const CHUNK = MiB;

/**
 * One part's UploadPart request whose body is written as the bytes arrive. The SDK sends a stream body with
 * `ChecksumAlgorithm: 'SHA256'` as aws-chunked with the SHA-256 in a trailer, which S3 checks against the bytes
 * it received before it accepts the part (AWS S3 User Guide, "Checking object integrity": trailing checksums).
 * `write` copies what it is given (the caller reuses its buffers) into at most a few 1 MiB chunks in flight.
 */
export class PartStream {
  readonly sha: Hash = createHash('sha256');
  readonly result: Promise<UploadPartCommandOutput>;
  private readonly body = new PassThrough({ highWaterMark: CHUNK });
  private readonly stop = new AbortController();
  private written = 0;
  private failed: unknown;

  constructor(
    client: S3Client,
    params: { Bucket: string; Key: string; UploadId: string },
    readonly partNumber: number,
    readonly size: number,
    signal?: AbortSignal,
  ) {
    const abortSignal = signal ? AbortSignal.any([this.stop.signal, signal]) : this.stop.signal;
    this.result = client.send(new UploadPartCommand({ ...params, PartNumber: partNumber, Body: this.body, ContentLength: size, ChecksumAlgorithm: 'SHA256' }), { abortSignal });
    this.body.on('error', () => {}); // a cancelled body: the request's own failure is what is reported
    this.result.catch((e) => {
      this.failed = e;
      this.body.destroy();
    });
  }

  get remaining(): number {
    return this.size - this.written;
  }

  /** Sends `data` (at most `remaining` bytes); resolves once the body can take more. Throws when the request failed. */
  async write(data: Buffer): Promise<void> {
    for (let off = 0; off < data.length; off += CHUNK) {
      if (this.failed) throw this.failed;
      const chunk = Buffer.from(data.subarray(off, Math.min(data.length, off + CHUNK)));
      this.sha.update(chunk);
      this.written += chunk.length;
      if (!this.body.write(chunk)) await this.drained();
    }
    if (this.written === this.size) this.body.end();
  }

  /**
   * Ends the request, sent whole or not, without waiting for its answer (an interrupted run): S3 keeps nothing of
   * a part it did not receive whole, and a part it did keep is checked like any other by the next run.
   */
  cancel(): void {
    this.stop.abort();
    this.body.destroy();
  }

  private drained(): Promise<void> {
    return new Promise((resolve, reject) => {
      const done = () => {
        this.body.off('drain', done);
        this.body.off('close', done);
        if (this.failed) reject(this.failed);
        else resolve();
      };
      this.body.on('drain', done);
      this.body.on('close', done);
      this.result.catch(done);
    });
  }
}
