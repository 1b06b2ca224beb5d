// Archive operations of glacier-local: UploadArchive (body streamed) and DeleteArchive, and the streamed,
// hashed reception of upload bodies that multipart parts share.
import { TreeHasher, MiB } from '../../core/tree-hash.js';
import { GlacierError, invalidParam, missingParam } from '../glacier-error.js';
import { ID_RE } from '../ids.js';
import { contentHashMismatch, contentLength, description, empty, header, location, vaultOf, type Ctx } from '../context.js';
import type { BlobWriter } from '../vfs.js';

export interface Received {
  writer: BlobWriter;
  treeHash: string;
  size: number;
  /** base64 of the body's 1 MiB leaf digests. */
  leaves: string;
}

/**
 * Streams an upload body into a temporary blob made by `open` while hashing it, then checks its length, tree
 * hash and SHA-256 before anything is visible; the caller commits or discards the blob.
 * Errors: 408 RequestTimeoutException after the body stalls for bodyTimeoutMs (the answer is sent and the
 * connection closed here); 400 IncompleteBody; 400 InvalidParameterValueException on a tree-hash mismatch;
 * 403 InvalidSignatureException on a payload-hash mismatch; a failing write of the server's disk (ENOSPC) as it
 * came, for the front to answer 503.
 */
export async function receive(c: Ctx, open: () => Promise<BlobWriter>, expectLength: number): Promise<Received> {
  const declaredSha = header(c.req, 'x-amz-content-sha256');
  const declaredTree = header(c.req, 'x-amz-sha256-tree-hash');
  if (!declaredSha) throw missingParam('Required parameter missing: x-amz-content-sha256');
  if (!declaredTree) throw missingParam('Required parameter missing: x-amz-sha256-tree-hash');
  const writer = await open();
  const hasher = new TreeHasher({ linear: true, leaves: true });
  const timeout = c.local.bodyTimeoutMs;
  let timedOut = false;
  let storage: unknown;
  // A stalled body: answer 408 as the service does, then drop the connection (the body will never finish).
  const onStall = () => {
    timedOut = true;
    const payload = JSON.stringify({ code: 'RequestTimeoutException', message: 'Request timed out.', type: 'Client' });
    c.res.writeHead(408, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'x-amzn-ErrorType': 'RequestTimeoutException', Connection: 'close' });
    c.res.end(payload, () => c.req.destroy());
  };
  let timer = setTimeout(onStall, timeout);
  try {
    for await (const chunk of c.req as AsyncIterable<Buffer>) {
      clearTimeout(timer);
      timer = setTimeout(onStall, timeout);
      if (hasher.size + chunk.length > expectLength) throw invalidParam(`The request body is longer than its Content-Length: ${expectLength}`);
      hasher.update(chunk);
      try {
        await writer.write(chunk);
      } catch (e) {
        storage = e; // the server's disk (ENOSPC...), not the client's body
        throw e;
      }
    }
  } catch (e) {
    await writer.discard().catch(() => {});
    if (timedOut) throw new GlacierError(408, 'RequestTimeoutException', 'Request timed out.');
    if (storage !== undefined) throw storage;
    throw e instanceof GlacierError ? e : new GlacierError(400, 'IncompleteBody', 'The request body ended early: the connection closed before the whole body arrived');
  } finally {
    clearTimeout(timer);
  }
  if (c.req.readableAborted || hasher.size !== expectLength) {
    await writer.discard();
    if (c.req.readableAborted) throw new GlacierError(400, 'IncompleteBody', 'The connection closed before the whole body arrived');
    throw new GlacierError(400, 'IncompleteBody', `The request body has ${hasher.size} bytes but Content-Length says ${expectLength}`);
  }
  const d = hasher.digest();
  const leaves = Buffer.concat(hasher.leaves!).toString('base64');
  if (d.treeHash !== declaredTree.toLowerCase()) {
    await writer.discard();
    throw invalidParam(`Checksum mismatch: expected ${declaredTree}, computed ${d.treeHash}`);
  }
  if (d.sha256 !== declaredSha.toLowerCase()) {
    await writer.discard();
    throw contentHashMismatch(d.sha256!, declaredSha);
  }
  return { writer, treeHash: d.treeHash, size: d.size, leaves };
}

export async function uploadArchive(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  const desc = description(c);
  const length = contentLength(c);
  if (length === 0) throw invalidParam('Invalid Content-Length: 0. An archive must be at least 1 byte.');
  if (length > 4 * 1024 * MiB) throw invalidParam(`Invalid Content-Length: ${length}. An archive uploaded in one request must be at most 4 GiB.`);
  const store = c.local.store;
  // "Being written to" from the vault's look-up on (same tick): a DeleteVault meanwhile is refused.
  await store.writing(v, async () => {
    const got = await receive(c, () => store.vfs.writer(`${v.dir}/staging`), length);
    const a = await store.addArchive(v, got.writer, { description: desc, size: got.size, treeHash: got.treeHash, leaves: got.leaves }, c.now);
    c.log.archiveId = a.id;
    empty(c, 201, { Location: location(c, v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
  });
}

export async function deleteArchive(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  if (!ID_RE.test(c.route.id!)) throw invalidParam(`Invalid vault name: ${v.arn}`);
  if (v.archives.isVirtual(c.route.id!)) await v.archives.deleteVirtual(c.local.store.vfs, v.dir, c.route.id!);
  else await c.local.store.deleteArchive(v, c.route.id!);
  empty(c, 204);
}
