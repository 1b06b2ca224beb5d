// Negative cases of glacier-local: every error asserts the HTTP status, the error code the SDK reads and the
// message (verbatim where ../shared/glacier-protocol.md §2.3 gives the real service's text). Driven with the real
// @aws-sdk/client-glacier (with middleware for header-level faults) and, where the SDK cannot express a request,
// with raw requests signed by @smithy/signature-v4.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateVaultCommand,
  DeleteArchiveCommand,
  DeleteVaultCommand,
  DescribeJobCommand,
  DescribeVaultCommand,
  GetJobOutputCommand,
  InitiateJobCommand,
  InitiateMultipartUploadCommand,
  ListJobsCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  ListTagsForVaultCommand,
  ListVaultsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  type GlacierClient,
  type InitiateMultipartUploadCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-glacier';
import type { BuildMiddleware, HttpRequest } from '@smithy/types';
import { startLocal, type Local } from './helpers/local.js';
import { treeHash } from '../src/core/tree-hash.js';
import { ACCOUNT, MiB, arn, bodyBytes, expectError, payload, rawRequest, startJob, upload } from './helpers/conformance.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const PART_SIZE_MSG = (n: string) =>
  `Invalid part size: ${n}. Part size must not be null, must be a power of two and be between 1048576 and 4294967296 bytes.`;
const SIGNATURE_MISMATCH = /^The request signature we calculated does not match the signature you provided\./;
const fakeId = () => randomBytes(69).toString('base64url'); // 92 chars, shaped like an upload or job id

/** A client whose requests lose a header, or get one overridden, after the SDK set it and before signing. */
function tampered(local: Local, edit: (headers: Record<string, string>) => void, after = 'addChecksumHeadersMiddleware'): GlacierClient {
  const c = local.client();
  const mw: BuildMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next) => async (args) => {
    edit((args.request as HttpRequest).headers);
    return next(args);
  };
  // relative to the SDK's own glacier middleware (build step), so it runs after that one set the header and
  // before the signer (finalizeRequest step) signs what is left
  c.middlewareStack.addRelativeTo(mw, { relation: 'after', toMiddleware: after, name: 'testTamperHeaders' });
  return c;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    out.push(relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)));
  }
  return out.sort();
}

describe('glacier-local errors', () => {
  let tmp: string;
  let data: string;
  let local: Local;
  let g: GlacierClient;
  const V = 'errs';
  const archive = payload(3 * MiB + MiB / 2);
  let archiveId: string;

  before(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'glacier-errors-'));
    data = join(tmp, 'data');
    // every tier instant except Bulk, which never finishes during the test
    local = await startLocal(['--data', data, '--job-delay', '0,Bulk=1h']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: V }));
    archiveId = await upload(g, V, archive, 'errors archive');
  });
  after(async () => {
    await local.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const count = async (vaultName = V) => (await g.send(new DescribeVaultCommand({ accountId: '-', vaultName }))).NumberOfArchives;

  // ---- transport, authentication, account ------------------------------------------------------------------
  describe('request envelope', () => {
    it('a request without x-amz-glacier-version is 400 MissingParameterValueException', async () => {
      const c = tampered(local, (h) => delete h['x-amz-glacier-version'], 'addGlacierApiVersionMiddleware');
      await expectError(c.send(new ListVaultsCommand({ accountId: '-' })), {
        status: 400, name: 'MissingParameterValueException', message: 'Required parameter missing: API version',
      });
      await expectError(c.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body: payload(100) })), {
        status: 400, name: 'MissingParameterValueException', message: 'Required parameter missing: API version',
      });
      // the same client without the tampering works, so it was the missing header that failed
      assert.equal((await local.client().send(new ListVaultsCommand({ accountId: '-' }))).$metadata.httpStatusCode, 200);
    });

    it('a wrong secret is 403 InvalidSignatureException, and nothing is stored', async () => {
      const before = await count();
      const c = local.client({ secret: 'not-the-secret' });
      await expectError(c.send(new DescribeVaultCommand({ accountId: '-', vaultName: V })), {
        status: 403, name: 'InvalidSignatureException', message: SIGNATURE_MISMATCH,
      });
      await expectError(c.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body: payload(MiB + 1) })), {
        status: 403, name: 'InvalidSignatureException', message: SIGNATURE_MISMATCH,
      });
      assert.equal(await count(), before);
    });

    it('a header changed after signing is 403 InvalidSignatureException (raw request)', async () => {
      const ok = await rawRequest(local.endpoint, { method: 'GET', path: `/-/vaults/${V}` });
      assert.equal(ok.status, 200, 'the raw signer itself is right');
      const r = await rawRequest(local.endpoint, {
        method: 'GET', path: `/-/vaults/${V}`, headers: { 'x-amz-archive-description': 'signed' }, mutate: (h) => (h['x-amz-archive-description'] = 'changed'),
      });
      assert.equal(r.status, 403);
      assert.equal(r.json?.code, 'InvalidSignatureException');
      assert.match(r.json!.message!, SIGNATURE_MISMATCH);
    });

    it('an unknown access key is 403 UnrecognizedClientException', async () => {
      const c = local.client({ accessKeyId: 'AKIAUNKNOWNKEY000000' });
      await expectError(c.send(new ListVaultsCommand({ accountId: '-' })), {
        status: 403, name: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.',
      });
    });

    it('a request without Authorization is 400 MissingAuthenticationTokenException (raw)', async () => {
      const r = await rawRequest(local.endpoint, { method: 'GET', path: '/-/vaults', mutate: (h) => delete h.authorization });
      assert.equal(r.status, 400);
      assert.deepEqual(r.json, { code: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token', type: 'Client' });
    });

    it('errors are JSON {code, message, type} with a request id (raw)', async () => {
      const r = await rawRequest(local.endpoint, { method: 'GET', path: '/-/vaults/no-such-vault' });
      assert.equal(r.status, 404);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.ok(r.headers['x-amzn-requestid']);
      assert.deepEqual(r.json, { code: 'ResourceNotFoundException', message: `Vault not found for ARN: ${arn('no-such-vault')}`, type: 'Client' });
    });

    it('a wrong x-amz-content-sha256 is 403 on uploads and on other bodies, and nothing is stored', async () => {
      const declared = sha256('something else');
      const c = tampered(local, (h) => {
        if (h['x-amz-content-sha256']) h['x-amz-content-sha256'] = declared;
      });
      const before = await count();
      const body = payload(MiB + 100);
      const msg = (b: Buffer | string) =>
        `The value passed in as x-amz-content-sha256 does not match the computed payload hash. Computed digest: ${sha256(b)} expected hash: ${declared}`;
      await expectError(c.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body })), { status: 403, name: 'InvalidSignatureException', message: msg(body) });
      assert.equal(await count(), before);
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V, partSize: String(MiB) }));
      const part = payload(1000);
      await expectError(c.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: V, uploadId, range: 'bytes 0-999/*', body: part })), {
        status: 403, name: 'InvalidSignatureException', message: msg(part),
      });
      assert.deepEqual((await g.send(new ListPartsCommand({ accountId: '-', vaultName: V, uploadId }))).Parts, []);
      // JS v3 adds the checksum headers to every request with a body, InitiateJob's JSON included
      const jobParameters = { Type: 'inventory-retrieval' };
      const e = await expectError(c.send(new InitiateJobCommand({ accountId: '-', vaultName: V, jobParameters })), { status: 403, name: 'InvalidSignatureException' });
      assert.match(e.message, new RegExp(`expected hash: ${declared}$`));
    });

    it('uploads without x-amz-content-sha256 or x-amz-sha256-tree-hash are 400 MissingParameterValueException', async () => {
      const before = await count();
      const body = payload(MiB + 3);
      // signed over the body's real hash, but without the header (a generic SigV4 signer)
      const r = await rawRequest(local.endpoint, {
        method: 'POST', path: `/-/vaults/${V}/archives`, body, applyChecksum: false, headers: { 'x-amz-sha256-tree-hash': treeHash(body) },
      });
      assert.equal(r.status, 400, r.body.toString());
      assert.deepEqual(r.json, { code: 'MissingParameterValueException', message: 'Required parameter missing: x-amz-content-sha256', type: 'Client' });
      const noTree = tampered(local, (h) => delete h['x-amz-sha256-tree-hash']);
      await expectError(noTree.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body })), {
        status: 400, name: 'MissingParameterValueException', message: 'Required parameter missing: x-amz-sha256-tree-hash',
      });
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V, partSize: String(MiB) }));
      await expectError(noTree.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: V, uploadId, range: 'bytes 0-99/*', body: payload(100) })), {
        status: 400, name: 'MissingParameterValueException', message: 'Required parameter missing: x-amz-sha256-tree-hash',
      });
      const p = await rawRequest(local.endpoint, {
        method: 'PUT', path: `/-/vaults/${V}/multipart-uploads/${uploadId}`, body: payload(100), applyChecksum: false,
        headers: { 'content-range': 'bytes 0-99/*', 'x-amz-sha256-tree-hash': sha256('x') },
      });
      assert.equal(p.status, 400);
      assert.equal(p.json?.message, 'Required parameter missing: x-amz-content-sha256');
      assert.equal(await count(), before);
    });

    it('operations glacier-local does not implement answer JSON errors, not HTML', async () => {
      await expectError(g.send(new ListTagsForVaultCommand({ accountId: '-', vaultName: V })), { status: 400, name: 'UnsupportedOperationException' });
      const r = await rawRequest(local.endpoint, { method: 'GET', path: '/-/no-such-thing' });
      assert.equal(r.status, 400);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(r.json?.type, 'Client');
      assert.match(String(r.json?.code), /Exception$/);
    });

    it('an account id other than - or the own one is 403 AccessDeniedException', async () => {
      for (const accountId of ['111111111111', '000000000000']) {
        await expectError(g.send(new ListVaultsCommand({ accountId })), { status: 403, name: 'AccessDeniedException' });
        await expectError(g.send(new DescribeVaultCommand({ accountId, vaultName: V })), { status: 403, name: 'AccessDeniedException' });
        await expectError(g.send(new CreateVaultCommand({ accountId, vaultName: 'other-account' })), { status: 403, name: 'AccessDeniedException' });
      }
      await expectError(g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'other-account' })), { status: 404, name: 'ResourceNotFoundException' });
      assert.equal((await g.send(new DescribeVaultCommand({ accountId: ACCOUNT, vaultName: V }))).VaultName, V);
    });
  });

  // ---- vaults ----------------------------------------------------------------------------------------------
  describe('vaults', () => {
    it('unknown vault: 404 ResourceNotFoundException "Vault not found for ARN" from every vault operation', async () => {
      const vaultName = 'missing-vault';
      const message = `Vault not found for ARN: arn:aws:glacier:us-east-1:123456789012:vaults/${vaultName}`;
      const base = { accountId: '-', vaultName };
      const calls: [string, () => Promise<unknown>][] = [
        ['DescribeVault', () => g.send(new DescribeVaultCommand(base))],
        ['DeleteVault', () => g.send(new DeleteVaultCommand(base))],
        ['UploadArchive', () => g.send(new UploadArchiveCommand({ ...base, body: payload(10) }))],
        ['DeleteArchive', () => g.send(new DeleteArchiveCommand({ ...base, archiveId }))],
        ['InitiateMultipartUpload', () => g.send(new InitiateMultipartUploadCommand({ ...base, partSize: String(MiB) }))],
        ['ListMultipartUploads', () => g.send(new ListMultipartUploadsCommand(base))],
        ['UploadMultipartPart', () => g.send(new UploadMultipartPartCommand({ ...base, uploadId: fakeId(), range: 'bytes 0-9/*', body: payload(10) }))],
        ['ListParts', () => g.send(new ListPartsCommand({ ...base, uploadId: fakeId() }))],
        ['InitiateJob', () => g.send(new InitiateJobCommand({ ...base, jobParameters: { Type: 'inventory-retrieval' } }))],
        ['ListJobs', () => g.send(new ListJobsCommand(base))],
        ['DescribeJob', () => g.send(new DescribeJobCommand({ ...base, jobId: fakeId() }))],
        ['GetJobOutput', () => g.send(new GetJobOutputCommand({ ...base, jobId: fakeId() }))],
      ];
      for (const [op, call] of calls) {
        await expectError(call(), { status: 404, name: 'ResourceNotFoundException', message }).catch((e: Error) => {
          throw new Error(`${op}: ${e.message}`);
        });
      }
    });

    it('deleting a non-empty vault is 400 "Vault not empty or recently written to"', async () => {
      await expectError(g.send(new DeleteVaultCommand({ accountId: '-', vaultName: V })), {
        status: 400, name: 'InvalidParameterValueException', message: `Vault not empty or recently written to: ${arn(V)}`,
      });
      assert.equal((await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: V }))).VaultName, V);
    });

    it('invalid vault names on create are 400 InvalidParameterValueException', async () => {
      for (const vaultName of ['bad name', 'x'.repeat(256), 'a:b', 'semi;colon']) {
        await expectError(g.send(new CreateVaultCommand({ accountId: '-', vaultName })), {
          status: 400, name: 'InvalidParameterValueException', message: new RegExp(`^Invalid vault name: `),
        });
      }
      assert.equal((await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'x'.repeat(255) }))).$metadata.httpStatusCode, 201);
    });

    it('path traversal in vault names is refused and writes nothing outside the data dir', async () => {
      const beforeTmp = await readdir(tmp);
      const beforeData = await listFiles(data);
      const beforeVaults = (await g.send(new ListVaultsCommand({ accountId: '-' }))).VaultList!.map((v) => v.VaultName);
      // through the SDK: '..' reaches the server as a dot segment, 'a/../b' as a%2F..%2Fb
      const esc = `escape-${randomBytes(4).toString('hex')}`;
      for (const vaultName of ['..', '.', 'a/../b', `../../${esc}`, `../../../../../../${esc}`, `..\\..\\${esc}`, 'a/..', '%2E%2E']) {
        const e = await g.send(new CreateVaultCommand({ accountId: '-', vaultName })).then(
          () => null,
          (err: Error & { $metadata?: { httpStatusCode?: number } }) => err,
        );
        assert.ok(e, `creating vault ${JSON.stringify(vaultName)} must fail`);
        assert.equal(e.$metadata?.httpStatusCode, 400, `${vaultName}: ${e.name} ${e.message}`);
      }
      await expectError(g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'a/../b' })), {
        status: 400, name: 'InvalidParameterValueException', message: /^Invalid vault name: a\/\.\.\/b\./,
      });
      // raw requests, path bytes exactly as given
      for (const path of ['/-/vaults/..', '/-/vaults/a%2F..%2Fb', '/-/vaults/%2E%2E', `/-/vaults/..%2F..%2F${esc}`, `/-/vaults/%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2f${esc}`, '/-/vaults/.', `/-/vaults/../../../../${esc}`]) {
        const r = await rawRequest(local.endpoint, { method: 'PUT', path });
        assert.equal(r.status, 400, `PUT ${path}: ${r.body}`);
        assert.match(String(r.json?.code), /Exception$/, `PUT ${path}`);
      }
      assert.deepEqual(await readdir(tmp), beforeTmp, 'nothing new beside the data dir');
      for (const d of [tmp, tmpdir(), join(data, 'r'), join(data, 'r', 'us-east-1')]) assert.ok(!existsSync(join(d, esc)), `nothing written to ${d}`);
      assert.deepEqual(await listFiles(data), beforeData, 'nothing new inside the data dir either');
      assert.deepEqual((await g.send(new ListVaultsCommand({ accountId: '-' }))).VaultList!.map((v) => v.VaultName), beforeVaults);
    });
  });

  // ---- archives --------------------------------------------------------------------------------------------
  describe('archives', () => {
    it('UploadArchive with a wrong tree hash is 400 "Checksum mismatch", and nothing is stored', async () => {
      const before = await count();
      const body = payload(2 * MiB + 1);
      const wrong = sha256(body); // the linear SHA-256: what a client that confuses the two would send
      await expectError(g.send(new UploadArchiveCommand({ accountId: '-', vaultName: V, body, checksum: wrong })), {
        status: 400, name: 'InvalidParameterValueException', message: `Checksum mismatch: expected ${wrong}, computed ${treeHash(body)}`,
      });
      assert.equal(await count(), before);
    });

    it('deleting an archive through another vault is 400 "Invalid vault name"; the archive stays', async () => {
      await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'other' }));
      await expectError(g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'other', archiveId })), {
        status: 400, name: 'InvalidParameterValueException', message: `Invalid vault name: ${arn('other')}`,
      });
      await expectError(g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'other', archiveId: 'not-an-archive-id' })), {
        status: 400, name: 'InvalidParameterValueException', message: `Invalid vault name: ${arn('other')}`,
      });
      const jobId = await startJob(g, V, { Type: 'archive-retrieval', ArchiveId: archiveId });
      assert.equal((await g.send(new DescribeJobCommand({ accountId: '-', vaultName: V, jobId }))).StatusCode, 'Succeeded');
    });
  });

  // ---- multipart -------------------------------------------------------------------------------------------
  describe('multipart uploads', () => {
    const init = async (partSize = MiB) =>
      (await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V, partSize: String(partSize) }))).uploadId!;
    const put = (uploadId: string, range: string, body: Buffer, checksum?: string) =>
      g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: V, uploadId, range, body, checksum }));
    const parts = async (uploadId: string) =>
      (await g.send(new ListPartsCommand({ accountId: '-', vaultName: V, uploadId }))).Parts!.map((p) => p.RangeInBytes);

    it('part sizes that are not 1 MiB × 2^n are 400 "Invalid part size"', async () => {
      for (const n of ['3145728', '10485760', '524288', '1048577', '8589934592', '0']) {
        await expectError(g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V, partSize: n })), {
          status: 400, name: 'InvalidParameterValueException', message: PART_SIZE_MSG(n),
        });
      }
      // no x-amz-part-size header at all reads as 0
      await expectError(g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: V } as InitiateMultipartUploadCommandInput)), {
        status: 400, name: 'InvalidParameterValueException', message: PART_SIZE_MSG('0'),
      });
      for (const n of [MiB, 4 * 1024 * MiB]) assert.ok(await init(n), `part size ${n} is valid`);
    });

    it('UploadMultipartPart with a wrong tree hash is 400 "Checksum mismatch"; the part is not stored', async () => {
      const uploadId = await init();
      const body = payload(MiB);
      const wrong = treeHash(payload(MiB));
      await expectError(put(uploadId, `bytes 0-${MiB - 1}/*`, body, wrong), {
        status: 400, name: 'InvalidParameterValueException', message: `Checksum mismatch: expected ${wrong}, computed ${treeHash(body)}`,
      });
      assert.deepEqual(await parts(uploadId), []);
    });

    it('Content-Range that does not fit the body or the part size is 400', async () => {
      const uploadId = await init();
      await expectError(put(uploadId, 'bytes 0-1048575/*', payload(1000)), {
        status: 400, name: 'InvalidParameterValueException', message: 'Content-Range: bytes 0-1048575/* is incompatible with Content-Length: 1000',
      });
      await expectError(put(uploadId, 'bytes 100-99/*', payload(1)), {
        status: 400, name: 'InvalidParameterValueException', message: 'Invalid Content-Range: bytes 100-99/*',
      });
      await expectError(put(uploadId, 'bytes=0-999', payload(1000)), {
        status: 400, name: 'InvalidParameterValueException', message: 'Invalid Content-Range: bytes=0-999',
      });
      // not aligned to the part size
      await expectError(put(uploadId, 'bytes 1000-1999/*', payload(1000)), { status: 400, name: 'InvalidParameterValueException', message: /part size/ });
      await expectError(put(uploadId, `bytes ${MiB + 1}-${2 * MiB}/*`, payload(MiB)), { status: 400, name: 'InvalidParameterValueException', message: /part size/ });
      // larger than the part size
      await expectError(put(uploadId, `bytes 0-${2 * MiB - 1}/*`, payload(2 * MiB)), { status: 400, name: 'InvalidParameterValueException', message: /part size/ });
      // part 10,001
      await expectError(put(uploadId, `bytes ${10000 * MiB}-${10000 * MiB + 9}/*`, payload(10)), {
        status: 400, name: 'InvalidParameterValueException',
        message: 'This is part number 10001 for the current multipart upload. It exceeds the limit of 10000 parts.',
      });
      assert.deepEqual(await parts(uploadId), [], 'no rejected part was stored');
      // the upload still takes a proper part
      await put(uploadId, 'bytes 0-999/*', payload(1000));
      assert.deepEqual(await parts(uploadId), ['0-999']);
    });

    it('CompleteMultipartUpload: wrong size or tree hash is 400 and the upload stays open', async () => {
      const body = payload(2 * MiB + 1000);
      const uploadId = await init();
      for (const i of [0, 1, 2]) await put(uploadId, `bytes ${i * MiB}-${Math.min(body.length, (i + 1) * MiB) - 1}/*`, body.subarray(i * MiB, (i + 1) * MiB));
      const completeWith = (archiveSize: number, checksum: string) =>
        g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId, archiveSize: String(archiveSize), checksum }));
      for (const size of [body.length + 1, body.length - 1, 2 * MiB]) {
        await expectError(completeWith(size, treeHash(body)), { status: 400, name: 'InvalidParameterValueException' });
        assert.equal((await parts(uploadId)).length, 3, `upload still open after size ${size}`);
      }
      const wrong = 'ab'.repeat(32);
      await expectError(completeWith(body.length, wrong), { status: 400, name: 'InvalidParameterValueException', message: `Invalid x-amz-sha256-tree-hash: ${wrong}` });
      await expectError(completeWith(body.length, sha256(body)), {
        status: 400, name: 'InvalidParameterValueException', message: `Invalid x-amz-sha256-tree-hash: ${sha256(body)}`,
      });
      assert.equal((await parts(uploadId)).length, 3);
      const ups = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: V }));
      assert.ok(ups.UploadsList!.some((u) => u.MultipartUploadId === uploadId));
      // corrected values complete it
      const done = await completeWith(body.length, treeHash(body));
      assert.equal(done.checksum, treeHash(body));
    });

    it('CompleteMultipartUpload with a missing middle part is 400; uploading it then completes', async () => {
      const body = payload(2 * MiB + 10);
      const uploadId = await init();
      await put(uploadId, `bytes 0-${MiB - 1}/*`, body.subarray(0, MiB));
      await put(uploadId, `bytes ${2 * MiB}-${body.length - 1}/*`, body.subarray(2 * MiB));
      const completeIt = () =>
        g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId, archiveSize: String(body.length), checksum: treeHash(body) }));
      await expectError(completeIt(), { status: 400, name: 'InvalidParameterValueException' });
      assert.deepEqual(await parts(uploadId), [`0-${MiB - 1}`, `${2 * MiB}-${body.length - 1}`]);
      await put(uploadId, `bytes ${MiB}-${2 * MiB - 1}/*`, body.subarray(MiB, 2 * MiB));
      assert.match((await completeIt()).archiveId!, /^[A-Za-z0-9_-]{138}$/);
    });

    it('CompleteMultipartUpload with a short part that is not the last is 400', async () => {
      const uploadId = await init();
      const body = payload(2 * MiB + 10);
      // a first part shorter than the part size is accepted on upload ...
      await put(uploadId, 'bytes 0-999/*', body.subarray(0, 1000));
      await put(uploadId, `bytes ${MiB}-${2 * MiB - 1}/*`, body.subarray(MiB, 2 * MiB));
      await put(uploadId, `bytes ${2 * MiB}-${body.length - 1}/*`, body.subarray(2 * MiB));
      // ... but Complete refuses it, whatever size is claimed
      const th = treeHash(Buffer.concat([body.subarray(0, 1000), body.subarray(MiB)]));
      for (const size of [body.length, 1000 + MiB + 10]) {
        await expectError(
          g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId, archiveSize: String(size), checksum: size === body.length ? treeHash(body) : th })),
          { status: 400, name: 'InvalidParameterValueException' },
        );
      }
      assert.equal((await parts(uploadId)).length, 3);
      await put(uploadId, `bytes 0-${MiB - 1}/*`, body.subarray(0, MiB)); // overwrite with the full part
      const done = await g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId, archiveSize: String(body.length), checksum: treeHash(body) }));
      assert.equal(done.checksum, treeHash(body));
    });

    it('unknown upload ids are 404 ResourceNotFoundException for every upload operation', async () => {
      const uploadId = fakeId();
      const base = { accountId: '-', vaultName: V, uploadId };
      const message = new RegExp(`^The upload ID was not found: ${uploadId}$`);
      await expectError(g.send(new ListPartsCommand(base)), { status: 404, name: 'ResourceNotFoundException', message });
      await expectError(g.send(new UploadMultipartPartCommand({ ...base, range: 'bytes 0-9/*', body: payload(10) })), { status: 404, name: 'ResourceNotFoundException', message });
      await expectError(g.send(new CompleteMultipartUploadCommand({ ...base, archiveSize: '10', checksum: sha256('x') })), { status: 404, name: 'ResourceNotFoundException', message });
      await expectError(g.send(new AbortMultipartUploadCommand(base)), { status: 404, name: 'ResourceNotFoundException', message });
    });

    it('aborting a completed upload is 404', async () => {
      const uploadId = await init();
      const body = payload(100);
      await put(uploadId, 'bytes 0-99/*', body);
      await g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId, archiveSize: '100', checksum: treeHash(body) }));
      await expectError(g.send(new AbortMultipartUploadCommand({ accountId: '-', vaultName: V, uploadId })), { status: 404, name: 'ResourceNotFoundException' });
    });
  });

  // ---- jobs ------------------------------------------------------------------------------------------------
  describe('jobs', () => {
    it('unknown job ids are 404 "The job ID was not found"', async () => {
      const jobId = fakeId();
      const message = `The job ID was not found: ${jobId}`;
      await expectError(g.send(new DescribeJobCommand({ accountId: '-', vaultName: V, jobId })), { status: 404, name: 'ResourceNotFoundException', message });
      await expectError(g.send(new GetJobOutputCommand({ accountId: '-', vaultName: V, jobId })), { status: 404, name: 'ResourceNotFoundException', message });
      // a real job id asked for through another vault is unknown there too
      const real = await startJob(g, V, { Type: 'inventory-retrieval' });
      await expectError(g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'other', jobId: real })), {
        status: 404, name: 'ResourceNotFoundException', message: `The job ID was not found: ${real}`,
      });
    });

    it('job output before the job completes is 400 "not currently available for download"', async () => {
      const jobId = await startJob(g, V, { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk' });
      assert.equal((await g.send(new DescribeJobCommand({ accountId: '-', vaultName: V, jobId }))).StatusCode, 'InProgress');
      for (const range of [undefined, 'bytes=0-1023']) {
        await expectError(g.send(new GetJobOutputCommand({ accountId: '-', vaultName: V, jobId, range })), {
          status: 400, name: 'InvalidParameterValueException', message: `The job is not currently available for download: ${jobId}`,
        });
      }
    });

    it('a RetrievalByteRange that is not megabyte aligned is 400', async () => {
      const size = archive.length;
      for (const range of ['1-1048575', `0-${MiB - 2}`, `${MiB}-${2 * MiB}`, `0-${size}`, `${2 * MiB}-${MiB - 1}`, 'abc', '0-']) {
        await expectError(startJob(g, V, { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: range }), {
          status: 400, name: 'InvalidParameterValueException',
        }).catch((e: Error) => {
          throw new Error(`RetrievalByteRange ${range}: ${e.message}`);
        });
      }
      // aligned ones, including an end at the archive's last byte, are accepted
      for (const range of [`0-${MiB - 1}`, `${MiB}-${size - 1}`]) {
        const jobId = await startJob(g, V, { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: range });
        const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: V, jobId }));
        const [s, e] = range.split('-').map(Number);
        assert.ok((await bodyBytes(out)).equals(archive.subarray(s, e + 1)));
      }
    });

    it('inventory jobs refuse an ArchiveId or a RetrievalByteRange', async () => {
      const before = (await g.send(new ListJobsCommand({ accountId: '-', vaultName: V }))).JobList!.length;
      await expectError(startJob(g, V, { Type: 'inventory-retrieval', ArchiveId: archiveId }), { status: 400, name: 'InvalidParameterValueException' });
      await expectError(startJob(g, V, { Type: 'inventory-retrieval', RetrievalByteRange: `0-${MiB - 1}` }), { status: 400, name: 'InvalidParameterValueException' });
      const after = (await g.send(new ListJobsCommand({ accountId: '-', vaultName: V }))).JobList!.length;
      assert.equal(after, before, 'no job was created');
    });

    it('InitiateJob with no parameters is 400 MissingParameterValueException', async () => {
      await expectError(startJob(g, V, {} as never), { status: 400, name: 'MissingParameterValueException', message: 'Required parameter missing: Job Parameters' });
      await expectError(startJob(g, V, { Type: 'archive-retrieval' }), { status: 400, name: 'MissingParameterValueException' });
      await expectError(startJob(g, V, { Type: 'select-all-the-things' }), { status: 400, name: 'InvalidParameterValueException' });
    });

    it('ListJobs with an invalid statuscode is 400 "The job status code is not valid"', async () => {
      await expectError(g.send(new ListJobsCommand({ accountId: '-', vaultName: V, statuscode: 'finished' })), {
        status: 400, name: 'InvalidParameterValueException', message: 'The job status code is not valid: finished',
      });
      await expectError(g.send(new ListJobsCommand({ accountId: '-', vaultName: V, statuscode: 'succeeded' })), {
        status: 400, name: 'InvalidParameterValueException', message: 'The job status code is not valid: succeeded',
      });
      await expectError(g.send(new ListJobsCommand({ accountId: '-', vaultName: V, completed: 'yes' })), { status: 400, name: 'InvalidParameterValueException' });
    });
  });
});
