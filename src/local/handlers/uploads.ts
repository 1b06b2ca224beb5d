// Multipart upload operations of glacier-local: InitiateMultipartUpload, ListMultipartUploads,
// UploadMultipartPart (body streamed), CompleteMultipartUpload, AbortMultipartUpload, ListParts (protocol §8).
import { isValidPartSize } from '../../core/tree-hash.js';
import { invalidParam, missingParam } from '../glacier-error.js';
import { contentLength, description, empty, header, json, location, page, vaultOf, type Ctx } from '../context.js';
import { receive } from './archives.js';

export async function initiateMultipartUpload(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const ps = header(c.req, 'x-amz-part-size') ?? '0';
  if (!/^\d+$/.test(ps) || !isValidPartSize(Number(ps))) {
    throw invalidParam(`Invalid part size: ${ps}. Part size must not be null, must be a power of two and be between 1048576 and 4294967296 bytes.`);
  }
  const u = await c.local.store.initiateUpload(v, Number(ps), description(c), c.now);
  c.log.uploadId = u.id;
  empty(c, 201, { Location: location(c, v.name, 'multipart-uploads', u.id), 'x-amz-multipart-upload-id': u.id });
}

export async function listMultipartUploads(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const all = [...v.uploads.values()].sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.id.localeCompare(b.id));
  const { page: uploads, marker } = page(c, all, (u) => u.id, 50);
  json(c, 200, {
    Marker: marker,
    UploadsList: uploads.map((u) => ({ ArchiveDescription: u.description, CreationDate: u.creationDate, MultipartUploadId: u.id, PartSizeInBytes: u.partSize, VaultARN: v.arn })),
  });
}

/**
 * `Content-Range: bytes FIRST-LAST/TOTAL` of a part: TOTAL is `*` (what the SDKs send) or, as RFC 7233 allows,
 * the archive's size, which must then agree with the range (LAST < TOTAL, and a part shorter than the part size
 * is the last one, so it ends at TOTAL - 1). Errors: 400 InvalidParameterValueException.
 */
export function parsePartRange(cr: string, partSize: number): { first: number; last: number } {
  const m = /^bytes (\d+)-(\d+)\/(\*|\d+)$/.exec(cr);
  if (!m || Number(m[2]) < Number(m[1])) throw invalidParam(`Invalid Content-Range: ${cr}`);
  const [first, last] = [Number(m[1]), Number(m[2])];
  if (m[3] !== '*') {
    const total = Number(m[3]);
    const short = last - first + 1 < partSize;
    if (last >= total || (short && last + 1 !== total)) throw invalidParam(`Invalid Content-Range: ${cr}: the total ${total} contradicts the range`);
  }
  return { first, last };
}

export async function uploadMultipartPart(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const store = c.local.store;
  const u = store.upload(v, c.route.id!);
  const cr = header(c.req, 'content-range') ?? '';
  c.log.uploadId = u.id;
  c.log.range = cr;
  const { first, last } = parsePartRange(cr, u.partSize);
  const length = contentLength(c);
  if (length !== last - first + 1) throw invalidParam(`Content-Range: ${cr} is incompatible with Content-Length: ${length}`);
  if (first % u.partSize !== 0) throw invalidParam(`Content-Range: ${cr} does not start at a multiple of the part size ${u.partSize}`);
  if (length > u.partSize) throw invalidParam(`Content-Range: ${cr} is larger than the part size ${u.partSize}`);
  const index = first / u.partSize;
  if (index >= 10_000) throw invalidParam(`This is part number ${index + 1} for the current multipart upload. It exceeds the limit of 10000 parts.`);
  // The body goes to the upload's folder without recreating it, and is committed under the upload's lock, which
  // refuses it (404) if a Complete or Abort closed the upload meanwhile.
  const got = await receive(c, () => store.partWriter(u), length);
  await store.putPart(u, { index, start: first, end: last, treeHash: got.treeHash, leaves: got.leaves }, got.writer);
  empty(c, 204, { 'x-amz-sha256-tree-hash': got.treeHash });
}

export async function completeMultipartUpload(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const id = c.route.id!;
  const size = header(c.req, 'x-amz-archive-size');
  const hash = header(c.req, 'x-amz-sha256-tree-hash');
  const closed = v.recentlyClosed.get(id);
  if (closed?.archiveId && v.archives.has(closed.archiveId)) {
    const a = v.archives.get(closed.archiveId)!;
    return empty(c, 201, { Location: location(c, v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
  }
  const u = c.local.store.upload(v, id);
  if (size === undefined || !/^\d+$/.test(size)) throw missingParam('Required parameter missing: x-amz-archive-size');
  if (!hash) throw missingParam('Required parameter missing: x-amz-sha256-tree-hash');
  const a = await c.local.store.completeUpload(v, u, Number(size), hash.toLowerCase(), c.now);
  c.log.uploadId = id;
  empty(c, 201, { Location: location(c, v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
}

export async function abortMultipartUpload(c: Ctx): Promise<void> {
  await c.local.store.abortUpload(vaultOf(c), c.route.id!);
  empty(c, 204);
}

export async function listParts(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const u = c.local.store.upload(v, c.route.id!);
  const parts = await c.local.store.listParts(u);
  const { page: got, marker } = page(c, parts, (p) => String(p.index), 50);
  json(c, 200, {
    ArchiveDescription: u.description, CreationDate: u.creationDate, Marker: marker, MultipartUploadId: u.id, PartSizeInBytes: u.partSize,
    Parts: got.map((p) => ({ RangeInBytes: `${p.start}-${p.end}`, SHA256TreeHash: p.treeHash })),
    VaultARN: v.arn,
  });
}
