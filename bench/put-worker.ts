// Piscina worker for bench/placement.ts, variant (b): hashes one part held in shared memory and sends it to
// Glacier itself, with a client of its own (one per worker thread, made on the first task). Returns the
// part's tree hash once the service has confirmed it.
import { UploadMultipartPartCommand } from '@aws-sdk/client-glacier';
import { openGlacier, sameHash, send, type Glacier } from '../src/core/glacier.js';
import { TreeHasher } from '../src/core/tree-hash.js';

export interface PutTask {
  sab: SharedArrayBuffer;
  offset: number;
  length: number;
  uploadId: string;
  vault: string;
  range: string;
  endpoint: string;
  region: string;
  creds: { accessKeyId: string; secretAccessKey: string };
}

let glacier: Glacier | null = null;

export default async function putPart(t: PutTask): Promise<string> {
  glacier ??= openGlacier({ endpoint: t.endpoint, region: t.region }, { AWS_ACCESS_KEY_ID: t.creds.accessKeyId, AWS_SECRET_ACCESS_KEY: t.creds.secretAccessKey });
  const body = Buffer.from(t.sab, t.offset, t.length);
  const h = new TreeHasher({ linear: true }).update(body).digest();
  const treeHash = h.treeHash;
  const r = await send(glacier, new UploadMultipartPartCommand({ accountId: '-', vaultName: t.vault, uploadId: t.uploadId, body, range: t.range, checksum: treeHash }), { hashes: { sha256: h.sha256!, treeHash } });
  if (!sameHash(r.checksum, treeHash)) throw new Error(`service computed tree hash ${r.checksum} for ${t.range}, ours is ${treeHash}`);
  return treeHash;
}

/** A no-op that holds its thread `ms` milliseconds (placement.ts times the pool's start-up with it). */
export async function ready(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}
