// Happy-path conformance of glacier-local against the wire protocol (../shared/glacier-protocol.md §1-7),
// driven through every vault-API operation with the real @aws-sdk/client-glacier over real HTTP.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
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
  ListVaultsCommand,
  UploadArchiveCommand,
  UploadMultipartPartCommand,
  paginateListJobs,
  paginateListVaults,
  type GlacierClient,
  type GlacierJobDescription,
  type CreateVaultCommandInput,
} from '@aws-sdk/client-glacier';
import { startLocal, type Local } from './helpers/local.js';
import { hashBoth, isTreeHashAligned, isMegabyteAligned, treeHash, TreeHasher } from '../src/core/tree-hash.js';
import {
  ACCOUNT, ARCHIVE_ID, ISO_MS, MiB, UPLOAD_OR_JOB_ID, arn, bodyBytes, expectError, modPattern, payload, rawRequest, retrieve, sleep, startJob, upload,
} from './helpers/conformance.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Uploads `body` in parts of `partSize` in the given order of part indexes; returns the upload id. */
async function multipart(g: GlacierClient, vaultName: string, body: Buffer, partSize: number, order?: number[], archiveDescription?: string) {
  const init = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName, partSize: String(partSize), archiveDescription }));
  const uploadId = init.uploadId!;
  const n = Math.ceil(body.length / partSize);
  for (const i of order ?? [...Array(n).keys()]) {
    const part = body.subarray(i * partSize, Math.min(body.length, (i + 1) * partSize));
    const out = await g.send(
      new UploadMultipartPartCommand({ accountId: '-', vaultName, uploadId, range: `bytes ${i * partSize}-${i * partSize + part.length - 1}/*`, body: part }),
    );
    assert.equal(out.$metadata.httpStatusCode, 204);
    assert.equal(out.checksum, treeHash(part), `part ${i} tree hash`);
  }
  return { uploadId, location: init.location };
}

async function complete(g: GlacierClient, vaultName: string, uploadId: string, body: Buffer) {
  return g.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName, uploadId, archiveSize: String(body.length), checksum: treeHash(body) }));
}

async function describeJob(g: GlacierClient, vaultName: string, jobId: string): Promise<GlacierJobDescription> {
  const d = await g.send(new DescribeJobCommand({ accountId: '-', vaultName, jobId }));
  assert.equal(d.$metadata.httpStatusCode, 200);
  return d;
}

// -------------------------------------------------------------------------------------------------------------
describe('vaults', () => {
  let local: Local;
  let g: GlacierClient;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0', '--page-size', '2']);
    g = local.client();
  });
  after(() => local.stop());

  it('CreateVault answers 201 with the numeric account in Location, and is idempotent', async () => {
    // no accountId: the SDK fills in '-' (its account-id-default middleware), the server answers with the number
    const out = await g.send(new CreateVaultCommand({ vaultName: 'alpha' } as CreateVaultCommandInput));
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.location, `/${ACCOUNT}/vaults/alpha`);
    const first = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'alpha' }));
    await upload(g, 'alpha', payload(100));
    await sleep(5);
    const again = await g.send(new CreateVaultCommand({ vaultName: 'alpha', accountId: ACCOUNT }));
    assert.equal(again.$metadata.httpStatusCode, 201);
    assert.equal(again.location, `/${ACCOUNT}/vaults/alpha`);
    const second = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'alpha' }));
    assert.equal(second.CreationDate, first.CreationDate, 're-creating must not reset the vault');
    assert.equal(second.NumberOfArchives, 1, 're-creating must not empty the vault');
  });

  it('DescribeVault returns ARN, name, ISO dates and live counts', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'desc.vault_1-x' }));
    const d0 = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'desc.vault_1-x' }));
    assert.equal(d0.$metadata.httpStatusCode, 200);
    assert.equal(d0.VaultName, 'desc.vault_1-x');
    assert.equal(d0.VaultARN, arn('desc.vault_1-x'));
    assert.match(d0.CreationDate!, ISO_MS);
    assert.equal(d0.NumberOfArchives, 0);
    assert.equal(d0.SizeInBytes, 0);
    const body = payload(MiB + 7);
    await upload(g, 'desc.vault_1-x', body);
    const d1 = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'desc.vault_1-x' }));
    assert.equal(d1.NumberOfArchives, 1);
    assert.equal(d1.SizeInBytes, body.length);
  });

  it('the region comes from the credential scope: vaults of another region are separate', async () => {
    const eu = local.client({ region: 'eu-west-1' });
    await eu.send(new CreateVaultCommand({ accountId: '-', vaultName: 'regional' }));
    const d = await eu.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'regional' }));
    assert.equal(d.VaultARN, `arn:aws:glacier:eu-west-1:${ACCOUNT}:vaults/regional`);
    await expectError(g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'regional' })), {
      status: 404, name: 'ResourceNotFoundException', message: `Vault not found for ARN: ${arn('regional')}`,
    });
  });

  it('ListVaults pages with limit and marker (page size 2, 5 vaults)', async () => {
    const r = local.client({ region: 'ap-south-1' });
    const names = ['p-echo', 'p-alpha', 'p-delta', 'p-charlie', 'p-bravo'];
    for (const n of names) await r.send(new CreateVaultCommand({ accountId: '-', vaultName: n }));
    const sorted = [...names].sort();
    const pages: string[][] = [];
    let marker: string | undefined;
    do {
      const out = await r.send(new ListVaultsCommand({ accountId: '-', marker }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      pages.push(out.VaultList!.map((v) => v.VaultName!));
      for (const v of out.VaultList!) assert.equal(v.VaultARN, arn(v.VaultName!, 'ap-south-1'));
      marker = out.Marker ?? undefined;
      if (marker) assert.match(marker, /^arn:aws:glacier:ap-south-1:123456789012:vaults\//);
      assert.ok(pages.length < 10, 'pagination must end');
    } while (marker);
    assert.deepEqual(pages, [sorted.slice(0, 2), sorted.slice(2, 4), sorted.slice(4)]);
    // a smaller limit is honoured, a larger one capped at the page size
    const one = await r.send(new ListVaultsCommand({ accountId: '-', limit: 1 }));
    assert.deepEqual(one.VaultList!.map((v) => v.VaultName), [sorted[0]]);
    assert.equal(one.Marker, arn(sorted[1], 'ap-south-1'));
    const capped = await r.send(new ListVaultsCommand({ accountId: '-', limit: 10, marker: one.Marker! }));
    assert.deepEqual(capped.VaultList!.map((v) => v.VaultName), sorted.slice(1, 3));
  });

  it('paginateListVaults walks every page', async () => {
    const r = local.client({ region: 'ap-south-1' });
    const pages: string[][] = [];
    for await (const page of paginateListVaults({ client: r }, { accountId: '-' })) pages.push(page.VaultList!.map((v) => v.VaultName!));
    assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
    assert.deepEqual(pages.flat(), ['p-alpha', 'p-bravo', 'p-charlie', 'p-delta', 'p-echo']);
  });

  it('DeleteVault answers 204, then DescribeVault gives 404', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'doomed' }));
    const out = await g.send(new DeleteVaultCommand({ accountId: '-', vaultName: 'doomed' }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    await expectError(g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'doomed' })), {
      status: 404, name: 'ResourceNotFoundException', message: `Vault not found for ARN: ${arn('doomed')}`,
    });
    const list = await g.send(new ListVaultsCommand({ accountId: '-', limit: 2 }));
    assert.ok(!list.VaultList!.some((v) => v.VaultName === 'doomed'));
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('archives', () => {
  let local: Local;
  let g: GlacierClient;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'arch' }));
  });
  after(() => local.stop());

  it('UploadArchive returns the tree hash (not the SHA-256), a 138-char id and its Location', async () => {
    const body = payload(2 * MiB + 12345);
    const { treeHash: th, sha256: sh } = hashBoth(body);
    assert.notEqual(th, sh, 'payload over 1 MiB: tree hash differs from SHA-256');
    const out = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'arch', body, archiveDescription: 'first archive' }));
    assert.equal(out.$metadata.httpStatusCode, 201);
    assert.equal(out.checksum, th);
    assert.match(out.archiveId!, ARCHIVE_ID);
    assert.equal(out.location, `/${ACCOUNT}/vaults/arch/archives/${out.archiveId}`);
    const back = await retrieve(g, 'arch', out.archiveId!);
    assert.ok(back.bytes.equals(body), 'stored bytes are the uploaded bytes');
    assert.equal(back.checksum, th);
  });

  it('two uploads of identical bytes get different ids', async () => {
    const body = payload(MiB + 1);
    const before = (await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'arch' }))).NumberOfArchives!;
    const a = await upload(g, 'arch', body);
    const b = await upload(g, 'arch', body);
    assert.notEqual(a, b);
    assert.match(a, ARCHIVE_ID);
    assert.match(b, ARCHIVE_ID);
    assert.equal((await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'arch' }))).NumberOfArchives, before + 2);
  });

  it('DeleteArchive answers 204 and is idempotent', async () => {
    const id = await upload(g, 'arch', payload(1000));
    const before = (await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'arch' }))).NumberOfArchives!;
    const first = await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'arch', archiveId: id }));
    assert.equal(first.$metadata.httpStatusCode, 204);
    assert.equal((await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'arch' }))).NumberOfArchives, before - 1);
    const second = await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'arch', archiveId: id }));
    assert.equal(second.$metadata.httpStatusCode, 204);
    // the archive is really gone: a new retrieval of it is refused
    await assert.rejects(startJob(g, 'arch', { Type: 'archive-retrieval', ArchiveId: id }));
  });

  it('a vault whose archives were all deleted can be deleted', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'emptied' }));
    const id = await upload(g, 'emptied', payload(10));
    await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'emptied', archiveId: id }));
    assert.equal((await g.send(new DeleteVaultCommand({ accountId: '-', vaultName: 'emptied' }))).$metadata.httpStatusCode, 204);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('multipart uploads', () => {
  let local: Local;
  let g: GlacierClient;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0', '--page-size', '2']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'mpu' }));
  });
  after(() => local.stop());

  it('initiate, parts out of order, overwrite a range, list parts, complete (1 MiB parts)', async () => {
    const body = payload(2 * MiB + 1000);
    const init = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'mpu', partSize: String(MiB), archiveDescription: 'three parts' }));
    assert.equal(init.$metadata.httpStatusCode, 201);
    const uploadId = init.uploadId!;
    assert.match(uploadId, UPLOAD_OR_JOB_ID);
    assert.equal(init.location, `/${ACCOUNT}/vaults/mpu/multipart-uploads/${uploadId}`);

    const parts = [body.subarray(0, MiB), body.subarray(MiB, 2 * MiB), body.subarray(2 * MiB)];
    const ranges = ['0-1048575', '1048576-2097151', '2097152-2098151'];
    const put = (i: number, data: Buffer) =>
      g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'mpu', uploadId, range: `bytes ${ranges[i]}/*`, body: data }));
    // last part first, then a wrong version of the middle part, then the first, then the middle again
    assert.equal((await put(2, parts[2])).checksum, treeHash(parts[2]));
    const wrong = payload(MiB);
    assert.equal((await put(1, wrong)).checksum, treeHash(wrong));
    assert.equal((await put(0, parts[0])).checksum, treeHash(parts[0]));
    let lp = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId, limit: 10 }));
    assert.equal(lp.Parts!.find((p) => p.RangeInBytes === ranges[1])?.SHA256TreeHash, treeHash(wrong));
    const re = await put(1, parts[1]);
    assert.equal(re.$metadata.httpStatusCode, 204);
    assert.equal(re.checksum, treeHash(parts[1]));

    lp = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId }));
    assert.equal(lp.$metadata.httpStatusCode, 200);
    assert.equal(lp.MultipartUploadId, uploadId);
    assert.equal(lp.PartSizeInBytes, MiB);
    assert.equal(lp.ArchiveDescription, 'three parts');
    assert.equal(lp.VaultARN, arn('mpu'));
    assert.match(lp.CreationDate!, ISO_MS);
    // page size 2: first page holds parts 0 and 1 (sorted by range), the marker leads to part 2
    assert.deepEqual(lp.Parts, [
      { RangeInBytes: ranges[0], SHA256TreeHash: treeHash(parts[0]) },
      { RangeInBytes: ranges[1], SHA256TreeHash: treeHash(parts[1]) },
    ]);
    assert.ok(lp.Marker);
    const lp2 = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId, marker: lp.Marker }));
    assert.deepEqual(lp2.Parts, [{ RangeInBytes: ranges[2], SHA256TreeHash: treeHash(parts[2]) }]);
    assert.equal(lp2.Marker ?? null, null);

    const ups = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'mpu' }));
    const mine = ups.UploadsList!.find((u) => u.MultipartUploadId === uploadId);
    assert.deepEqual(
      { ...mine, CreationDate: undefined },
      { ArchiveDescription: 'three parts', CreationDate: undefined, MultipartUploadId: uploadId, PartSizeInBytes: MiB, VaultARN: arn('mpu') },
    );

    const { treeHash: th, sha256: sh } = hashBoth(body);
    assert.notEqual(th, sh);
    const done = await complete(g, 'mpu', uploadId, body);
    assert.equal(done.$metadata.httpStatusCode, 201);
    assert.match(done.archiveId!, ARCHIVE_ID);
    assert.equal(done.location, `/${ACCOUNT}/vaults/mpu/archives/${done.archiveId}`);
    assert.equal(done.checksum, th);
    // repeating Complete answers the same archive
    const again = await complete(g, 'mpu', uploadId, body);
    assert.equal(again.$metadata.httpStatusCode, 201);
    assert.equal(again.archiveId, done.archiveId);
    // the upload is gone from the listings
    const after = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'mpu', limit: 2 }));
    assert.ok(!after.UploadsList!.some((u) => u.MultipartUploadId === uploadId));
    await expectError(g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId })), { status: 404, name: 'ResourceNotFoundException' });
    // and the archive holds exactly the parts' bytes, with the description given at initiation
    const back = await retrieve(g, 'mpu', done.archiveId!);
    assert.ok(back.bytes.equals(body));
    assert.equal(back.checksum, th);
    const d = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'mpu' }));
    assert.equal(d.NumberOfArchives, 1);
    assert.equal(d.SizeInBytes, body.length);
  });

  it('2 MiB parts reproduce the protocol test vector (5 MiB of i % 256)', async () => {
    const body = modPattern(5 * MiB);
    assert.equal(sha256(body), '2e7cab6314e9614b6f2da12630661c3038e5592025f6534ba5823c3b340a1cb6');
    const { uploadId } = await multipart(g, 'mpu', body, 2 * MiB, [1, 2, 0]);
    const lp = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId, limit: 2 }));
    assert.deepEqual(lp.Parts!.map((p) => p.SHA256TreeHash!.slice(0, 16)), ['159967700b653cc4', '159967700b653cc4']);
    const done = await g.send(
      new CompleteMultipartUploadCommand({
        accountId: '-',
        vaultName: 'mpu', uploadId, archiveSize: String(body.length), checksum: 'b14281df2d69cf71773d792acaf16356facfe66935c67529976f5102a96315c9',
      }),
    );
    assert.equal(done.checksum, 'b14281df2d69cf71773d792acaf16356facfe66935c67529976f5102a96315c9');
    assert.ok((await retrieve(g, 'mpu', done.archiveId!)).bytes.equals(body));
  });

  it('ListParts pages through 5 parts (2 MiB parts, page size 2)', async () => {
    const body = payload(8 * MiB + 4321);
    const { uploadId } = await multipart(g, 'mpu', body, 2 * MiB, [4, 0, 3, 1, 2]);
    const got: { RangeInBytes?: string; SHA256TreeHash?: string }[] = [];
    const sizes: number[] = [];
    let marker: string | undefined;
    do {
      const out = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId, marker }));
      assert.equal(out.PartSizeInBytes, 2 * MiB);
      sizes.push(out.Parts!.length);
      got.push(...out.Parts!);
      marker = out.Marker ?? undefined;
      assert.ok(sizes.length < 10);
    } while (marker);
    assert.deepEqual(sizes, [2, 2, 1]);
    const want = [0, 1, 2, 3, 4].map((i) => {
      const start = i * 2 * MiB;
      const end = Math.min(body.length, start + 2 * MiB) - 1;
      return { RangeInBytes: `${start}-${end}`, SHA256TreeHash: treeHash(body.subarray(start, end + 1)) };
    });
    assert.deepEqual(got, want);
    const done = await complete(g, 'mpu', uploadId, body);
    assert.equal(done.checksum, treeHash(body));
    assert.ok((await retrieve(g, 'mpu', done.archiveId!)).bytes.equals(body));
  });

  it('ListMultipartUploads pages with marker (5 uploads, page size 2)', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'mpu-list' }));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const out = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'mpu-list', partSize: String(MiB << i) }));
      ids.push(out.uploadId!);
    }
    const seen: string[] = [];
    const sizes: number[] = [];
    let marker: string | undefined;
    do {
      const out = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'mpu-list', marker }));
      assert.equal(out.$metadata.httpStatusCode, 200);
      sizes.push(out.UploadsList!.length);
      for (const u of out.UploadsList!) {
        assert.equal(u.VaultARN, arn('mpu-list'));
        assert.equal(u.PartSizeInBytes, MiB << ids.indexOf(u.MultipartUploadId!));
        assert.equal(u.ArchiveDescription ?? null, null);
        assert.match(u.CreationDate!, ISO_MS);
        seen.push(u.MultipartUploadId!);
      }
      marker = out.Marker ?? undefined;
      assert.ok(sizes.length < 10);
    } while (marker);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual([...seen].sort(), [...ids].sort());
    const one = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'mpu-list', limit: 1 }));
    assert.equal(one.UploadsList!.length, 1);
    assert.ok(one.Marker);
  });

  it('AbortMultipartUpload answers 204; the upload is gone and a second abort still succeeds', async () => {
    const { uploadId } = await multipart(g, 'mpu', payload(MiB + 5), MiB);
    const out = await g.send(new AbortMultipartUploadCommand({ accountId: '-', vaultName: 'mpu', uploadId }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    await expectError(g.send(new ListPartsCommand({ accountId: '-', vaultName: 'mpu', uploadId })), {
      status: 404, name: 'ResourceNotFoundException', message: new RegExp(uploadId),
    });
    const all = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'mpu', limit: 2 }));
    assert.ok(!all.UploadsList!.some((u) => u.MultipartUploadId === uploadId));
    await expectError(
      g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'mpu', uploadId, range: 'bytes 0-9/*', body: payload(10) })),
      { status: 404, name: 'ResourceNotFoundException' },
    );
    assert.equal((await g.send(new AbortMultipartUploadCommand({ accountId: '-', vaultName: 'mpu', uploadId }))).$metadata.httpStatusCode, 204);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('jobs (--job-delay 0)', () => {
  let local: Local;
  let g: GlacierClient;
  const SIZE = 3 * MiB + MiB / 2; // 3.5 MiB
  let body: Buffer;
  let archiveId: string;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'jobs' }));
    body = payload(SIZE);
    archiveId = await upload(g, 'jobs', body, 'the 3.5 MiB archive');
  });
  after(() => local.stop());

  it('archive retrieval: DescribeJob echoes the parameters and the archive facts', async () => {
    const out = await g.send(
      new InitiateJobCommand({
        accountId: '-',
        vaultName: 'jobs',
        jobParameters: {
          Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk', Description: 'whole archive job',
          SNSTopic: 'arn:aws:sns:us-east-1:123456789012:glacier-topic',
        },
      }),
    );
    assert.equal(out.$metadata.httpStatusCode, 202);
    assert.match(out.jobId!, UPLOAD_OR_JOB_ID);
    assert.equal(out.location, `/${ACCOUNT}/vaults/jobs/jobs/${out.jobId}`);
    const d = await describeJob(g, 'jobs', out.jobId!);
    const th = treeHash(body);
    assert.equal(d.JobId, out.jobId);
    assert.equal(d.Action, 'ArchiveRetrieval');
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.Completed, true);
    assert.match(d.CompletionDate!, ISO_MS);
    assert.match(d.CreationDate!, ISO_MS);
    assert.equal(d.ArchiveId, archiveId);
    assert.equal(d.ArchiveSizeInBytes, SIZE);
    assert.equal(d.ArchiveSHA256TreeHash, th);
    assert.equal(d.SHA256TreeHash, th);
    assert.equal(d.RetrievalByteRange, `0-${SIZE - 1}`);
    assert.equal(d.Tier, 'Bulk');
    assert.equal(d.JobDescription, 'whole archive job');
    assert.equal(d.SNSTopic, 'arn:aws:sns:us-east-1:123456789012:glacier-topic');
    assert.equal(d.VaultARN, arn('jobs'));
    assert.equal(d.InventorySizeInBytes ?? null, null);
  });

  it('the tier defaults to Standard', async () => {
    const jobId = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: archiveId });
    assert.equal((await describeJob(g, 'jobs', jobId)).Tier, 'Standard');
  });

  it('GetJobOutput: whole output (200) and ranges (206) with the checksum only on tree-hash-aligned ranges', async () => {
    const jobId = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' });
    const whole = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId }));
    assert.equal(whole.status, 200);
    assert.equal(whole.$metadata.httpStatusCode, 200);
    assert.equal(whole.checksum, treeHash(body));
    assert.equal(whole.contentType, 'application/octet-stream');
    assert.equal(whole.acceptRanges, 'bytes');
    assert.equal(whole.archiveDescription, 'the 3.5 MiB archive');
    assert.equal(whole.contentRange, undefined);
    assert.ok((await bodyBytes(whole)).equals(body));

    const cases: [number, number][] = [
      [0, MiB - 1], // one leaf: aligned
      [MiB, 3 * MiB - 1], // two leaves straddling a level-1 node: not aligned
      [2 * MiB, SIZE - 1], // the truncated last level-1 node: aligned
      [0, 2 * MiB - 1], // a full level-1 node: aligned
      [123, 456], // not even megabyte aligned
    ];
    for (const [s, e] of cases) {
      const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId, range: `bytes=${s}-${e}` }));
      assert.equal(out.status, 206, `bytes=${s}-${e}`);
      assert.equal(out.contentRange, `bytes ${s}-${e}/${SIZE}`);
      const slice = body.subarray(s, e + 1);
      assert.ok((await bodyBytes(out)).equals(slice), `bytes=${s}-${e}`);
      assert.equal(out.checksum, isTreeHashAligned(s, e, SIZE) ? treeHash(slice) : undefined, `checksum for bytes=${s}-${e}`);
    }
    assert.equal(isTreeHashAligned(MiB, 3 * MiB - 1, SIZE), false, 'the non-aligned case really is one');
  });

  it('ranged retrieval: output is the archive slice; SHA256TreeHash only for a tree-hash-aligned range', async () => {
    // [1 MiB, 3 MiB): megabyte aligned but not a node of the tree
    const a = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: `${MiB}-${3 * MiB - 1}` });
    assert.ok(isMegabyteAligned(MiB, 3 * MiB - 1, SIZE) && !isTreeHashAligned(MiB, 3 * MiB - 1, SIZE));
    const da = await describeJob(g, 'jobs', a);
    assert.equal(da.RetrievalByteRange, `${MiB}-${3 * MiB - 1}`);
    assert.equal(da.ArchiveSizeInBytes, SIZE);
    assert.equal(da.ArchiveSHA256TreeHash, treeHash(body));
    assert.equal(da.SHA256TreeHash ?? null, null);
    const oa = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId: a }));
    assert.equal(oa.status, 200);
    assert.ok((await bodyBytes(oa)).equals(body.subarray(MiB, 3 * MiB)));
    assert.equal(oa.checksum, undefined);

    // [2 MiB, end): the truncated last level-1 node, tree-hash aligned
    const b = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: archiveId, RetrievalByteRange: `${2 * MiB}-${SIZE - 1}` });
    const slice = body.subarray(2 * MiB);
    const db = await describeJob(g, 'jobs', b);
    assert.equal(db.SHA256TreeHash, treeHash(slice));
    const ob = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId: b }));
    assert.ok((await bodyBytes(ob)).equals(slice));
    assert.equal(ob.checksum, treeHash(slice));
    // a Range on the job output is relative to the output: bytes 0-1048575 are archive bytes [2 MiB, 3 MiB)
    const r = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId: b, range: `bytes=0-${MiB - 1}` }));
    assert.equal(r.status, 206);
    assert.equal(r.contentRange, `bytes 0-${MiB - 1}/${slice.length}`);
    const got = await bodyBytes(r);
    assert.ok(got.equals(body.subarray(2 * MiB, 3 * MiB)));
    assert.equal(r.checksum, treeHash(got));
  });

  it('with checksum rule "megabyte" a megabyte-aligned range gets its tree hash too', async () => {
    const jobId = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: archiveId });
    const get = async (range: string) => (await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId, range }))).checksum;
    assert.equal(await get(`bytes=${MiB}-${3 * MiB - 1}`), undefined, 'not under the default (developer guide) rule');
    await local.admin('PUT', 'config', { checksumRule: 'megabyte' });
    try {
      assert.equal(await get(`bytes=${MiB}-${3 * MiB - 1}`), treeHash(body.subarray(MiB, 3 * MiB)));
      assert.equal(await get(`bytes=${MiB}-${SIZE - 1}`), treeHash(body.subarray(MiB)));
      assert.equal(await get(`bytes=${MiB}-${3 * MiB}`), undefined, 'still none for a range that is not megabyte aligned');
    } finally {
      await local.admin('PUT', 'config', { checksumRule: 'tree' });
    }
  });

  it('a prepared retrieval stays downloadable after its archive is deleted', async () => {
    const data = payload(MiB + 77);
    const id = await upload(g, 'jobs', data);
    const jobId = await startJob(g, 'jobs', { Type: 'archive-retrieval', ArchiveId: id });
    assert.equal((await describeJob(g, 'jobs', jobId)).StatusCode, 'Succeeded');
    await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'jobs', archiveId: id }));
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'jobs', jobId }));
    assert.ok((await bodyBytes(out)).equals(data));
    assert.equal(out.checksum, treeHash(data));
  });

  it('inventory retrieval in JSON lists every archive with its tree hash', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'inv' }));
    const bodies = [payload(MiB + 3), payload(17), payload(2 * MiB)];
    const ids: string[] = [];
    for (const [i, b] of bodies.entries()) ids.push(await upload(g, 'inv', b, `archive number ${i}`));
    const jobId = await startJob(g, 'inv', { Type: 'inventory-retrieval' });
    const d = await describeJob(g, 'inv', jobId);
    assert.equal(d.Action, 'InventoryRetrieval');
    assert.equal(d.StatusCode, 'Succeeded');
    assert.equal(d.Completed, true);
    assert.equal(d.InventoryRetrievalParameters?.Format, 'JSON');
    assert.equal(d.ArchiveId ?? null, null);
    assert.equal(d.SHA256TreeHash ?? null, null);
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'inv', jobId }));
    assert.equal(out.status, 200);
    assert.equal(out.contentType, 'application/json');
    assert.equal(out.checksum, undefined, 'no tree hash on inventory output');
    const raw = await bodyBytes(out);
    assert.equal(d.InventorySizeInBytes, raw.length);
    const inv = JSON.parse(raw.toString('utf8'));
    assert.equal(inv.VaultARN, arn('inv'));
    assert.match(inv.InventoryDate, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
    assert.equal(inv.ArchiveList.length, 3);
    for (const [i, b] of bodies.entries()) {
      const entry = inv.ArchiveList.find((a: { ArchiveId: string }) => a.ArchiveId === ids[i]);
      assert.ok(entry, `archive ${i} listed`);
      assert.deepEqual(Object.keys(entry).sort(), ['ArchiveDescription', 'ArchiveId', 'CreationDate', 'SHA256TreeHash', 'Size']);
      assert.equal(entry.ArchiveDescription, `archive number ${i}`);
      assert.equal(entry.Size, b.length);
      assert.equal(entry.SHA256TreeHash, treeHash(b));
      assert.match(entry.CreationDate, ISO_MS);
    }
    // the vault's LastInventoryDate is set by a finished inventory
    assert.match((await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'inv' }))).LastInventoryDate!, ISO_MS);
  });

  it('inventory retrieval in CSV: header row, text/csv, backslash-escaped quotes', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'inv-csv' }));
    const tricky = 'my archive description,1"2';
    const aBody = payload(MiB + 9);
    const a = await upload(g, 'inv-csv', aBody, tricky);
    const b = await upload(g, 'inv-csv', payload(5), 'plain');
    const jobId = await startJob(g, 'inv-csv', { Type: 'inventory-retrieval', Format: 'CSV' });
    assert.equal((await describeJob(g, 'inv-csv', jobId)).InventoryRetrievalParameters?.Format, 'CSV');
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'inv-csv', jobId }));
    assert.equal(out.contentType, 'text/csv');
    assert.equal(out.checksum, undefined);
    const lines = (await bodyBytes(out)).toString('utf8').split('\n').filter((l) => l !== '');
    assert.equal(lines[0], 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
    assert.equal(lines.length, 3);
    const row = lines.find((l) => l.startsWith(`${a},`))!;
    assert.ok(row, 'row for the archive with the tricky description');
    assert.ok(row.startsWith(`${a},"my archive description,1\\"2",`), row);
    const tail = row.slice(row.lastIndexOf('",') + 2).split(',');
    assert.match(tail[0], ISO_MS);
    assert.equal(tail[1], String(MiB + 9));
    assert.equal(tail[2], treeHash(aBody));
    assert.equal(tail.length, 3);
    const rowB = lines.find((l) => l.startsWith(`${b},`))!;
    assert.match(rowB, /^[A-Za-z0-9_-]{138},"?plain"?,\d{4}-\d{2}-\d{2}T[\d:.]+Z,5,[0-9a-f]{64}$/);
  });

  it('inventory filters: StartDate/EndDate and Limit with Marker continuation', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'inv-filter' }));
    const early = await upload(g, 'inv-filter', payload(11), 'early');
    // the next archives go into a later second, as the filter dates have one-second resolution
    await sleep(1000 - (Date.now() % 1000) + 20);
    const boundary = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const late = [await upload(g, 'inv-filter', payload(12), 'late 1'), await upload(g, 'inv-filter', payload(13), 'late 2'), await upload(g, 'inv-filter', payload(14), 'late 3')];
    const inventory = async (params: Record<string, string>) => {
      const jobId = await startJob(g, 'inv-filter', { Type: 'inventory-retrieval', InventoryRetrievalParameters: params });
      const d = await describeJob(g, 'inv-filter', jobId);
      const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'inv-filter', jobId }));
      const list = JSON.parse((await bodyBytes(out)).toString('utf8')).ArchiveList as { ArchiveId: string }[];
      return { d, ids: list.map((a) => a.ArchiveId) };
    };
    const since = await inventory({ StartDate: boundary });
    assert.deepEqual(since.ids.sort(), [...late].sort());
    assert.equal(since.d.InventoryRetrievalParameters?.StartDate, boundary);
    const until = await inventory({ EndDate: boundary });
    assert.deepEqual(until.ids, [early]);
    assert.equal(until.d.InventoryRetrievalParameters?.EndDate, boundary);

    const p1 = await inventory({ Limit: '2' });
    assert.equal(p1.ids.length, 2);
    assert.equal(p1.d.InventoryRetrievalParameters?.Limit, '2');
    const marker = p1.d.InventoryRetrievalParameters?.Marker;
    assert.ok(marker, 'a limited inventory names the marker for the next job');
    const p2 = await inventory({ Limit: '2', Marker: marker });
    assert.equal(p2.ids.length, 2);
    assert.equal(p2.d.InventoryRetrievalParameters?.Marker ?? null, null, 'the last page has no marker');
    assert.deepEqual([...p1.ids, ...p2.ids].sort(), [early, ...late].sort());
    // the bounds are StartDate <= CreationDate < EndDate, to the millisecond
    const all = JSON.parse(
      (await bodyBytes(await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'inv-filter', jobId: await startJob(g, 'inv-filter', { Type: 'inventory-retrieval' }) })))).toString('utf8'),
    ).ArchiveList as { ArchiveId: string; CreationDate: string }[];
    const created = all.find((a) => a.ArchiveId === late[0])!.CreationDate;
    assert.ok((await inventory({ StartDate: created })).ids.includes(late[0]), 'StartDate is inclusive');
    assert.ok(!(await inventory({ EndDate: created })).ids.includes(late[0]), 'EndDate is exclusive');
    // limit and date filter combined
    const both = await inventory({ StartDate: boundary, Limit: '2' });
    assert.equal(both.ids.length, 2);
    assert.ok(both.ids.every((id) => late.includes(id)));
    assert.ok(both.d.InventoryRetrievalParameters?.Marker);
  });

  it('ListJobs filters by status and completion and pages with a marker', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'listjobs' }));
    const id = await upload(g, 'listjobs', payload(100));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await startJob(g, 'listjobs', { Type: 'archive-retrieval', ArchiveId: id, Description: `job ${i}` }));
    const all = await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs' }));
    assert.equal(all.$metadata.httpStatusCode, 200);
    assert.deepEqual(all.JobList!.map((j) => j.JobId).sort(), [...ids].sort());
    assert.equal(all.Marker ?? null, null);
    assert.ok(all.JobList!.every((j) => j.Action === 'ArchiveRetrieval' && j.VaultARN === arn('listjobs')));
    assert.equal((await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs', statuscode: 'Succeeded' }))).JobList!.length, 5);
    assert.equal((await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs', statuscode: 'InProgress' }))).JobList!.length, 0);
    assert.equal((await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs', completed: 'true' }))).JobList!.length, 5);
    assert.equal((await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs', completed: 'false' }))).JobList!.length, 0);
    // pages of 2 by marker
    const seen: string[] = [];
    const sizes: number[] = [];
    let marker: string | undefined;
    do {
      const out = await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'listjobs', limit: 2, marker }));
      sizes.push(out.JobList!.length);
      seen.push(...out.JobList!.map((j) => j.JobId!));
      marker = out.Marker ?? undefined;
      assert.ok(sizes.length < 10);
    } while (marker);
    assert.deepEqual(sizes, [2, 2, 1]);
    assert.deepEqual(seen, all.JobList!.map((j) => j.JobId), 'pages concatenate to the full, ordered list');
    // the SDK paginator
    const pages: number[] = [];
    for await (const page of paginateListJobs({ client: g, pageSize: 2 }, { accountId: '-', vaultName: 'listjobs' })) pages.push(page.JobList!.length);
    assert.deepEqual(pages, [2, 2, 1]);
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('job delays (--job-delay Standard=2s)', () => {
  let local: Local;
  let g: GlacierClient;
  let archiveId: string;
  const body = payload(4096);
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', 'Standard=2s,Bulk=1h']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'slow' }));
    archiveId = await upload(g, 'slow', body, 'slow one');
  });
  after(() => local.stop());

  it('a job is InProgress at first, its output unavailable, until admin completes it', async () => {
    const jobId = await startJob(g, 'slow', { Type: 'archive-retrieval', ArchiveId: archiveId });
    const d = await describeJob(g, 'slow', jobId);
    assert.equal(d.StatusCode, 'InProgress');
    assert.equal(d.Completed, false);
    assert.equal(d.CompletionDate ?? null, null);
    assert.equal(d.StatusMessage, 'Operation in progress.');
    await expectError(g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'slow', jobId })), {
      status: 400, name: 'InvalidParameterValueException', message: `The job is not currently available for download: ${jobId}`,
    });
    const forced = await local.admin<GlacierJobDescription>('POST', `jobs/${jobId}/complete`);
    assert.equal(forced.StatusCode, 'Succeeded');
    const d2 = await describeJob(g, 'slow', jobId);
    assert.equal(d2.StatusCode, 'Succeeded');
    assert.equal(d2.Completed, true);
    assert.match(d2.CompletionDate!, ISO_MS);
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'slow', jobId }));
    assert.ok((await bodyBytes(out)).equals(body));
  });

  it('admin fail makes a job Failed, and its output stays unavailable', async () => {
    const jobId = await startJob(g, 'slow', { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Bulk' });
    await local.admin('POST', `jobs/${jobId}/fail`);
    const d = await describeJob(g, 'slow', jobId);
    assert.equal(d.StatusCode, 'Failed');
    assert.equal(d.Completed, true);
    assert.match(d.CompletionDate!, ISO_MS);
    await expectError(g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'slow', jobId })), {
      status: 400, name: 'InvalidParameterValueException', message: `The job is not currently available for download: ${jobId}`,
    });
  });

  it('a job still in preparation when its archive is deleted ends Failed', async () => {
    const id = await upload(g, 'slow', payload(100));
    const jobId = await startJob(g, 'slow', { Type: 'archive-retrieval', ArchiveId: id });
    await g.send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'slow', archiveId: id }));
    await local.admin('POST', `jobs/${jobId}/complete`);
    const d = await describeJob(g, 'slow', jobId);
    assert.equal(d.StatusCode, 'Failed');
    assert.equal(d.Completed, true);
  });

  it('ListJobs statuscode and completed filters over InProgress, Succeeded and Failed jobs', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'mixed' }));
    const id = await upload(g, 'mixed', payload(10));
    const ok = await startJob(g, 'mixed', { Type: 'archive-retrieval', ArchiveId: id, Tier: 'Bulk' });
    const failed = await startJob(g, 'mixed', { Type: 'archive-retrieval', ArchiveId: id, Tier: 'Bulk' });
    const running = await startJob(g, 'mixed', { Type: 'inventory-retrieval', Tier: 'Bulk' });
    await local.admin('POST', `jobs/${ok}/complete`);
    await local.admin('POST', `jobs/${failed}/fail`);
    const list = async (statuscode?: string, completed?: string) =>
      (await g.send(new ListJobsCommand({ accountId: '-', vaultName: 'mixed', statuscode, completed }))).JobList!.map((j) => j.JobId).sort();
    assert.deepEqual(await list(), [ok, failed, running].sort());
    assert.deepEqual(await list('InProgress'), [running]);
    assert.deepEqual(await list('Succeeded'), [ok]);
    assert.deepEqual(await list('Failed'), [failed]);
    assert.deepEqual(await list(undefined, 'true'), [ok, failed].sort());
    assert.deepEqual(await list(undefined, 'false'), [running]);
    assert.deepEqual(await list('Failed', 'true'), [failed]);
    assert.deepEqual(await list('Succeeded', 'false'), []);
  });

  it('a Standard job completes by itself after its delay', async () => {
    const t0 = Date.now();
    const jobId = await startJob(g, 'slow', { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Standard' });
    assert.equal((await describeJob(g, 'slow', jobId)).StatusCode, 'InProgress');
    let d: GlacierJobDescription;
    do {
      await sleep(200);
      d = await describeJob(g, 'slow', jobId);
    } while (d.StatusCode === 'InProgress' && Date.now() - t0 < 6000);
    assert.equal(d.StatusCode, 'Succeeded');
    assert.ok(Date.now() - t0 >= 1900, `completed after ${Date.now() - t0} ms, expected about 2 s`);
    assert.ok((await bodyBytes(await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'slow', jobId })))).equals(body));
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('wire details (raw signed requests)', () => {
  let local: Local;
  let g: GlacierClient;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0']);
    g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'wire' }));
  });
  after(() => local.stop());

  it('UploadArchive with Expect: 100-continue and no Content-Type (botocore style)', async () => {
    const body = payload(3 * MiB + 3);
    const { treeHash: th } = hashBoth(body);
    const r = await rawRequest(local.endpoint, {
      method: 'POST', path: '/-/vaults/wire/archives', body, expectContinue: true,
      headers: { 'x-amz-sha256-tree-hash': th, 'x-amz-archive-description': 'raw upload' },
    });
    assert.equal(r.status, 201, r.body.toString());
    assert.equal(r.headers['x-amz-sha256-tree-hash'], th);
    const id = String(r.headers['x-amz-archive-id']);
    assert.match(id, ARCHIVE_ID);
    assert.equal(r.headers.location, `/${ACCOUNT}/vaults/wire/archives/${id}`);
    assert.equal(r.body.length, 0, '201 has an empty body');
    assert.ok((await retrieve(g, 'wire', id)).bytes.equals(body));
  });

  it('InitiateJob bodies are JSON whatever the Content-Type says (never parsed as a form)', async () => {
    const r = await rawRequest(local.endpoint, {
      method: 'POST', path: '/-/vaults/wire/jobs', body: Buffer.from('{"Type":"inventory-retrieval","Format":"CSV"}'),
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    });
    assert.equal(r.status, 202, r.body.toString());
    const jobId = String(r.headers['x-amz-job-id']);
    assert.match(jobId, UPLOAD_OR_JOB_ID);
    assert.equal(r.headers.location, `/${ACCOUNT}/vaults/wire/jobs/${jobId}`);
    assert.equal((await describeJob(g, 'wire', jobId)).InventoryRetrievalParameters?.Format, 'CSV');
  });

  it('JSON answers carry Content-Type application/json and explicit nulls', async () => {
    const r = await rawRequest(local.endpoint, { method: 'GET', path: '/-/vaults', query: { limit: '10' } });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    assert.ok(r.headers['x-amzn-requestid']);
    const j = JSON.parse(r.body.toString('utf8'));
    assert.equal(j.Marker, null);
    assert.deepEqual(Object.keys(j.VaultList[0]).sort(), ['CreationDate', 'LastInventoryDate', 'NumberOfArchives', 'SizeInBytes', 'VaultARN', 'VaultName']);
    assert.equal(typeof j.VaultList[0].SizeInBytes, 'number');
  });
});

// -------------------------------------------------------------------------------------------------------------
describe('persistence (--data DIR)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'glacier-conf-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('archives, an open multipart upload and finished jobs survive a restart', async () => {
    const single = payload(2 * MiB + 5);
    const multi = payload(2 * MiB + 1000);
    const open = payload(3 * MiB);
    let local = await startLocal(['--data', dir, '--job-delay', '0']);
    let g = local.client();
    let singleId: string, multiId: string, openId: string, jobId: string, created: string;
    try {
      await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'keep' }));
      created = (await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'keep' }))).CreationDate!;
      singleId = await upload(g, 'keep', single, 'single');
      const m = await multipart(g, 'keep', multi, MiB, [2, 0, 1], 'multi');
      multiId = (await complete(g, 'keep', m.uploadId, multi)).archiveId!;
      // an open upload with parts 0 and 2 of 3
      openId = (await multipart(g, 'keep', open.subarray(0, MiB), MiB, undefined, 'still open')).uploadId;
      await g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'keep', uploadId: openId, range: `bytes ${2 * MiB}-${3 * MiB - 1}/*`, body: open.subarray(2 * MiB) }));
      jobId = await startJob(g, 'keep', { Type: 'archive-retrieval', ArchiveId: singleId });
      assert.equal((await describeJob(g, 'keep', jobId)).StatusCode, 'Succeeded');
    } finally {
      assert.equal(await local.stop(), 143, 'SIGTERM ends glacier-local with 143');
    }

    local = await startLocal(['--data', dir, '--job-delay', '0']);
    g = local.client();
    try {
      const d = await g.send(new DescribeVaultCommand({ accountId: '-', vaultName: 'keep' }));
      assert.equal(d.CreationDate, created);
      assert.equal(d.NumberOfArchives, 2);
      assert.equal(d.SizeInBytes, single.length + multi.length);
      const s = await retrieve(g, 'keep', singleId);
      assert.ok(s.bytes.equals(single));
      assert.equal(s.checksum, treeHash(single));
      const mm = await retrieve(g, 'keep', multiId);
      assert.ok(mm.bytes.equals(multi));
      assert.equal(mm.checksum, treeHash(multi));
      // the job finished before the restart is still there and downloadable
      assert.equal((await describeJob(g, 'keep', jobId)).StatusCode, 'Succeeded');
      assert.ok((await bodyBytes(await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'keep', jobId })))).equals(single));
      // the open upload is listed with its two parts
      const ups = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName: 'keep' }));
      assert.deepEqual(ups.UploadsList!.map((u) => [u.MultipartUploadId, u.ArchiveDescription, u.PartSizeInBytes]), [[openId, 'still open', MiB]]);
      const lp = await g.send(new ListPartsCommand({ accountId: '-', vaultName: 'keep', uploadId: openId }));
      assert.deepEqual(lp.Parts, [
        { RangeInBytes: `0-${MiB - 1}`, SHA256TreeHash: treeHash(open.subarray(0, MiB)) },
        { RangeInBytes: `${2 * MiB}-${3 * MiB - 1}`, SHA256TreeHash: treeHash(open.subarray(2 * MiB)) },
      ]);
      // and can be finished after the restart
      await g.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'keep', uploadId: openId, range: `bytes ${MiB}-${2 * MiB - 1}/*`, body: open.subarray(MiB, 2 * MiB) }));
      const done = await complete(g, 'keep', openId, open);
      assert.equal(done.checksum, new TreeHasher().update(open).digest().treeHash);
      assert.ok((await retrieve(g, 'keep', done.archiveId!)).bytes.equals(open));
    } finally {
      await local.stop();
    }
  });
});
