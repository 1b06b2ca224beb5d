// download() into a sink that takes bytes in order (stdout, a command, S3): each piece verified before the sink sees it, a cut or corrupted piece fetched again,
// and the piece buffers taken from the caller's pool when it gives one (a restore of millions of archives reuses
// them rather than leaving shared memory per archive to the garbage collector).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { CreateVaultCommand, InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { BufferPool } from '../src/core/buffer-pool.js';
import { openGlacier } from '../src/core/glacier.js';
import { IntegrityError } from '../src/core/errors.js';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { download } from '../src/retrieve/download.js';
import { planPieces } from '../src/retrieve/pieces.js';
import { startLocal, type Local } from './helpers/local.js';

/** A BufferPool that counts the buffers it hands out. */
class CountingPool extends BufferPool {
  acquired = 0;
  override async acquire(): Promise<Buffer> {
    this.acquired++;
    return super.acquire();
  }
}

describe('download() into an in-order sink', () => {
  let local: Local;
  const data = randomBytes(5 * MiB + 12345);
  let jobId: string;
  before(async () => {
    local = await startLocal();
    const c = local.client();
    await c.send(new CreateVaultCommand({ accountId: '-', vaultName: 'dl' }));
    const { archiveId } = await c.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'dl', body: data, checksum: treeHash(data) }));
    jobId = (await c.send(new InitiateJobCommand({ accountId: '-', vaultName: 'dl', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }))).jobId!;
  });
  after(async () => {
    await local?.stop();
  });

  const get = async (buffers?: BufferPool, retry = { attempts: 3, baseMs: 1, capMs: 5 }) => {
    const glacier = openGlacier({ endpoint: local.endpoint }, local.env);
    const pieces = planPieces({ rangeStart: 0, rangeEnd: data.length - 1, archiveSize: data.length }, 0, data.length - 1, 2 * MiB);
    const got: Buffer[] = [];
    let next = 0;
    const r = await download({
      target: { glacier, vault: 'dl' }, jobId, outputSize: data.length, pieces, pieceSize: 2 * MiB, concurrency: 2, buffers, retry,
      sink: {
        write: async (b, at) => {
          assert.equal(at, next, 'pieces in order');
          got.push(Buffer.from(b));
          next += b.length;
        },
      },
    });
    return { r, out: Buffer.concat(got) };
  };

  it('takes its piece buffers from the pool it is given, and the bytes are the archive, verified', async () => {
    const buffers = new CountingPool(2 * MiB, 2);
    const { r, out } = await get(buffers);
    assert.ok(out.equals(data));
    assert.equal(r.treeHash, treeHash(data));
    assert.equal(buffers.acquired >= 3, true, `3 pieces took ${buffers.acquired} buffers from the given pool`);
  });

  it('a piece whose bytes are corrupted is fetched again; corrupted every time: IntegrityError, nothing written', async () => {
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt:count=1' });
    try {
      const { out } = await get();
      assert.ok(out.equals(data), 'the piece fetched again');
    } finally {
      await local.admin('DELETE', 'faults');
    }
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:corrupt' });
    try {
      await assert.rejects(get(undefined, { attempts: 2, baseMs: 1, capMs: 5 }), (e: Error) => e instanceof IntegrityError && /do not match their tree hash/.test(e.message));
    } finally {
      await local.admin('DELETE', 'faults');
    }
  });

  it('a body cut short is fetched again', async () => {
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:drop:count=1' });
    try {
      const { out } = await get();
      assert.ok(out.equals(data));
    } finally {
      await local.admin('DELETE', 'faults');
    }
  });
});
