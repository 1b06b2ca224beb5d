// `--to s3://BUCKET/PREFIX`: one S3 multipart upload per archive. Every part carries its SHA-256, which S3
// checks on receipt; the bytes of a part were each verified against Glacier's tree hash before they were
// buffered; the upload is completed only once the whole archive matched its tree hash, else aborted. The
// object's metadata keeps the archive id, its description and tree hash.
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { IntegrityError, UsageError } from '../core/errors.js';
import { MiB } from '../core/tree-hash.js';
import type { ArchiveSink, ArchiveWriter, Item } from './sinks.js';

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

export interface S3SinkOptions {
  client?: S3Client;
  storageClass: string;
  /** Bytes per part (at least 5 MiB; raised so an archive needs at most 10,000 parts). */
  partSize: number;
  region?: string;
  onUpload?: (item: Item, uploadId: string, key: string) => Promise<void>;
  onUploadEnd?: (item: Item, uploadId: string) => Promise<void>;
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
    this.client = o.client ?? new S3Client({ region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION, forcePathStyle: custom || undefined });
  }

  key(item: Item): string {
    return `${this.target.prefix}${item.name}`;
  }

  where(item: Item): string {
    return `s3://${this.target.bucket}/${this.key(item)}`;
  }

  async holds(item: Item): Promise<boolean> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.target.bucket, Key: this.key(item) }));
      return h.ContentLength === item.size && h.Metadata?.['glacier-archive-id'] === item.archiveId && h.Metadata?.['glacier-tree-hash'] === item.treeHash;
    } catch {
      return false;
    }
  }

  /** Aborts an upload a killed run left open. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.target.bucket, Key: key, UploadId: uploadId })).catch((e) => {
      if ((e as Error).name !== 'NoSuchUpload') throw e;
    });
  }

  async open(item: Item): Promise<ArchiveWriter> {
    const Bucket = this.target.bucket;
    const Key = this.key(item);
    const partSize = Math.max(this.o.partSize, Math.ceil(item.size / 10_000 / MiB) * MiB);
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
    );
    const UploadId = up.UploadId!;
    await this.o.onUpload?.(item, UploadId, Key);
    const parts: CompletedPart[] = [];
    const digests: Buffer[] = [];
    let buf = Buffer.allocUnsafe(Math.min(partSize, Math.max(1, item.size)));
    let filled = 0;
    const send = async () => {
      if (!filled && parts.length) return;
      const body = buf.subarray(0, filled);
      const digest = createHash('sha256').update(body).digest();
      const PartNumber = parts.length + 1;
      const r = await this.client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: body, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: digest.toString('base64'), ContentLength: filled }));
      parts.push({ PartNumber, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? digest.toString('base64') });
      digests.push(digest);
      filled = 0;
    };
    return {
      resumed: 0,
      write: async (data) => {
        for (let off = 0; off < data.length; ) {
          const n = Math.min(buf.length - filled, data.length - off);
          data.copy(buf, filled, off, off + n);
          filled += n;
          off += n;
          if (filled === buf.length) await send();
        }
      },
      finish: async () => {
        if (filled || !parts.length) await send();
        await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
        await this.o.onUploadEnd?.(item, UploadId);
        // S3's checksum of a multipart object is the SHA-256 of the parts' digests, "-N": it must be ours.
        const want = `${createHash('sha256').update(Buffer.concat(digests)).digest('base64')}-${parts.length}`;
        const h = await this.client.send(new HeadObjectCommand({ Bucket, Key, ChecksumMode: 'ENABLED' }));
        // Some S3-compatible servers give the composite checksum without its "-N" part count.
        const got = h.ChecksumSHA256?.replace(/-\d+$/, '');
        const bad = h.ContentLength !== item.size ? `holds ${h.ContentLength} bytes, not ${item.size}` : got && got !== want.replace(/-\d+$/, '') ? `has checksum ${h.ChecksumSHA256}, not ${want}` : '';
        if (bad) {
          await this.client.send(new DeleteObjectCommand({ Bucket, Key })).catch(() => {});
          throw new IntegrityError(`s3://${Bucket}/${Key} ${bad} (deleted)`);
        }
        buf = Buffer.alloc(0);
      },
      abort: async () => {
        await this.abortUpload(Key, UploadId).catch(() => {});
        await this.o.onUploadEnd?.(item, UploadId);
        buf = Buffer.alloc(0);
      },
    };
  }
}
