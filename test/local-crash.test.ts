// Crash safety of glacier-local --data DIR: kill -9 with upload bodies in flight loses only the unfinished
// requests, and a restart on the same folder serves every completed archive byte for byte, keeps open uploads
// and their finished parts, and leaves no temporary files. A CompleteMultipartUpload cut off between writing
// its archive.json and renaming the upload into place is rolled forward on restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateVaultCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand,
  ListMultipartUploadsCommand, ListPartsCommand, UploadArchiveCommand, UploadMultipartPartCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { combineTreeHashesHex, MiB, treeHash } from '../src/core/tree-hash.js';
import { Store } from '../src/local/store.js';
import { DiskVfs } from '../src/local/vfs.js';
import { REGION, startLocal } from './helpers/local.js';
import { openSignedUpload } from './helpers/signed-request.js';
import { within } from './helpers/time.js';

const A = { accountId: '-' };
const ACCOUNT = '123456789012';

/** Every path under `root` (files and folders), relative to it. */
function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    out.push(p);
    if (e.isDirectory()) out.push(...walk(root, p));
  }
  return out;
}

const temps = (root: string) => walk(root).filter((p) => p.split('/').at(-1)!.startsWith('.tmp-'));

async function until<T>(what: string, probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A temporary file with some bytes in it, directly inside `dir`. */
function partialTemp(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const f = readdirSync(dir).find((n) => n.startsWith('.tmp-') && statSync(join(dir, n)).size > 0);
  return f && join(dir, f);
}

async function multipart(c: GlacierClient, vaultName: string, parts: Buffer[], partSize = MiB): Promise<string> {
  const { uploadId } = await c.send(new InitiateMultipartUploadCommand({ ...A, vaultName, partSize: String(partSize) }));
  let off = 0;
  for (const body of parts) {
    await c.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, body, range: `bytes ${off}-${off + body.length - 1}/*` }));
    off += body.length;
  }
  return uploadId!;
}

async function retrieve(c: GlacierClient, vaultName: string, archiveId: string): Promise<{ bytes: Buffer; checksum?: string }> {
  const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
  const out = await c.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return { bytes: Buffer.from(await out.body!.transformToByteArray()), checksum: out.checksum };
}

async function inventory(c: GlacierClient, vaultName: string): Promise<{ ArchiveId: string; Size: number; SHA256TreeHash: string }[]> {
  const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'inventory-retrieval' } }));
  const out = await c.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return JSON.parse(await out.body!.transformToString()).ArchiveList;
}

test('kill -9 while upload bodies are in flight: completed archives survive intact, the cut-off part does not appear', { timeout: within(30_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-crash-'));
  try {
    const vaultDir = join(dir, 'r', REGION, 'v', 'crash');
    let local = await startLocal(['--data', dir, '--job-delay', '0']);
    let c = local.client({ maxAttempts: 1 });
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'crash' }));

    const single = randomBytes(MiB + 123_457);
    const { archiveId: singleId } = await c.send(new UploadArchiveCommand({ ...A, vaultName: 'crash', body: single }));
    const mpParts = [randomBytes(MiB), randomBytes(MiB), randomBytes(700_001)];
    const mpWhole = Buffer.concat(mpParts);
    const mpUpload = await multipart(c, 'crash', mpParts);
    const { archiveId: mpId } = await c.send(new CompleteMultipartUploadCommand({ ...A, vaultName: 'crash', uploadId: mpUpload, archiveSize: String(mpWhole.length), checksum: treeHash(mpWhole) }));

    // An open upload of 64 MiB parts: its short last part is finished, its first part will be cut off.
    const PART = 64 * MiB;
    const tail = randomBytes(MiB);
    const { uploadId: bigUpload } = await c.send(new InitiateMultipartUploadCommand({ ...A, vaultName: 'crash', partSize: String(PART) }));
    await c.send(new UploadMultipartPartCommand({ ...A, vaultName: 'crash', uploadId: bigUpload, body: tail, range: `bytes ${PART}-${PART + MiB - 1}/*` }));

    const head = randomBytes(PART);
    const part = await openSignedUpload(local.endpoint, 'PUT', `/-/vaults/crash/multipart-uploads/${bigUpload}`, head, { 'content-range': `bytes 0-${PART - 1}/*` });
    part.req.write(head.subarray(0, 8 * MiB)); // the other 56 MiB never come
    const archiveBody = randomBytes(4 * MiB);
    const archive = await openSignedUpload(local.endpoint, 'POST', '/-/vaults/crash/archives', archiveBody);
    archive.req.write(archiveBody.subarray(0, MiB));

    // Kill only once the server is writing both bodies to disk.
    const partTemp = await until('the part body to reach the upload folder', () => partialTemp(join(vaultDir, 'u', bigUpload!)));
    const stagingTemp = await until('the archive body to reach the staging folder', () => partialTemp(join(vaultDir, 'staging')));
    await local.kill9();
    for (const r of [await part.done, await archive.done]) assert.ok('error' in r, `a request got an answer from a killed server: ${JSON.stringify(r)}`);
    assert.ok(existsSync(partTemp) && existsSync(stagingTemp), 'the crash left the half-written bodies behind');

    local = await startLocal(['--data', dir, '--job-delay', '0']);
    try {
      c = local.client({ maxAttempts: 1 });
      assert.deepEqual(temps(dir), [], 'start-up removes every temporary file');

      const listed = await inventory(c, 'crash');
      assert.deepEqual(
        listed.map((a) => [a.ArchiveId, a.Size, a.SHA256TreeHash]).sort(),
        [[singleId, single.length, treeHash(single)], [mpId, mpWhole.length, treeHash(mpWhole)]].sort(),
      );
      for (const [id, bytes] of [[singleId!, single], [mpId!, mpWhole]] as const) {
        const got = await retrieve(c, 'crash', id);
        assert.ok(got.bytes.equals(bytes), `archive ${id.slice(0, 12)}… comes back byte for byte`);
        assert.equal(got.checksum, treeHash(bytes));
      }

      const uploads = await c.send(new ListMultipartUploadsCommand({ ...A, vaultName: 'crash' }));
      assert.deepEqual(uploads.UploadsList!.map((u) => u.MultipartUploadId), [bigUpload]);
      const parts = await c.send(new ListPartsCommand({ ...A, vaultName: 'crash', uploadId: bigUpload }));
      assert.deepEqual(parts.Parts, [{ RangeInBytes: `${PART}-${PART + MiB - 1}`, SHA256TreeHash: treeHash(tail) }]);

      // The open upload is still usable: send the lost part again and complete it.
      await c.send(new UploadMultipartPartCommand({ ...A, vaultName: 'crash', uploadId: bigUpload, body: head, range: `bytes 0-${PART - 1}/*` }));
      const done = await c.send(new CompleteMultipartUploadCommand({
        ...A, vaultName: 'crash', uploadId: bigUpload, archiveSize: String(PART + MiB), checksum: combineTreeHashesHex([treeHash(head), treeHash(tail)]),
      }));
      assert.match(done.archiveId!, /^[A-Za-z0-9_-]{138}$/);
    } finally {
      await local.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A disk whose process "dies" on the rename that publishes a completed upload as an archive. */
class CrashBeforePublish extends DiskVfs {
  override async rename(from: string, to: string): Promise<void> {
    if (/\/u\/[^/]+$/.test(from) && /\/a\/[^/]+$/.test(to)) throw new Error('simulated crash before the rename');
    return super.rename(from, to);
  }
}

test('a CompleteMultipartUpload interrupted after writing archive.json is rolled forward on restart', { timeout: within(30_000) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-rollfwd-'));
  try {
    const vaultDir = join(dir, 'r', REGION, 'v', 'rf');
    const parts = [randomBytes(MiB), randomBytes(MiB), randomBytes(333_333)];
    const whole = Buffer.concat(parts);
    let local = await startLocal(['--data', dir, '--job-delay', '0']);
    let c = local.client({ maxAttempts: 1 });
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'rf' }));
    const uploadId = await multipart(c, 'rf', parts);
    await local.stop();

    // Produce the on-disk state with the store's own complete, stopped at the crash point.
    const store = new Store(new CrashBeforePublish(dir), ACCOUNT);
    await store.load(async () => {});
    const v = store.vault(REGION, 'rf');
    await assert.rejects(store.completeUpload(v, store.upload(v, uploadId), whole.length, treeHash(whole)), /simulated crash/);
    const pending = JSON.parse(readFileSync(join(vaultDir, 'u', uploadId, 'archive.json'), 'utf8')) as { id: string };
    assert.ok(!existsSync(join(vaultDir, 'a', pending.id)), 'the archive is not published yet');
    // Writers cut off by the same crash: a part body in the upload, a vault.json rewrite beside it.
    writeFileSync(join(vaultDir, 'u', uploadId, '.tmp-0123456789abcdef'), 'half a part');
    writeFileSync(join(vaultDir, '.tmp-fedcba9876543210'), '{"name":');

    local = await startLocal(['--data', dir, '--job-delay', '0']);
    try {
      c = local.client({ maxAttempts: 1 });
      assert.ok(!existsSync(join(vaultDir, 'u', uploadId)), 'the upload folder was moved');
      assert.ok(existsSync(join(vaultDir, 'a', pending.id, 'archive.json')), 'the archive was published');
      assert.deepEqual(temps(dir), [], 'no temporary file survives start-up, none moved into the archive');
      assert.deepEqual((await c.send(new ListMultipartUploadsCommand({ ...A, vaultName: 'rf' }))).UploadsList, []);
      await assert.rejects(c.send(new ListPartsCommand({ ...A, vaultName: 'rf', uploadId })), { name: 'ResourceNotFoundException' });
      const listed = await inventory(c, 'rf');
      assert.deepEqual(listed.map((a) => [a.ArchiveId, a.Size, a.SHA256TreeHash]), [[pending.id, whole.length, treeHash(whole)]]);
      const got = await retrieve(c, 'rf', pending.id);
      assert.ok(got.bytes.equals(whole), 'the rolled-forward archive comes back byte for byte');
      assert.equal(got.checksum, treeHash(whole));
    } finally {
      await local.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
