// Slow: a 2 GiB archive through glacier-local in 64 MiB parts, with the server's peak RSS printed and bounded.
// Run by hand: npm run test:slow
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateVaultCommand, DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand,
  InitiateMultipartUploadCommand, UploadMultipartPartCommand,
} from '@aws-sdk/client-glacier';
import { combineTreeHashesHex, hashBoth, MiB, TreeHasher } from '../../src/core/tree-hash.js';
import { startLocal } from '../helpers/local.js';

const PART = 64 * MiB;
const PARTS = 32; // 2 GiB

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

test('2 GiB in 64 MiB parts: glacier-local stays under 200 MB RSS and returns the same bytes', { timeout: 30 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-big-'));
  const local = await startLocal(['--data', dir, '--job-delay', '0']);
  try {
    const c = local.client({ maxAttempts: 3 });
    await c.send(new CreateVaultCommand({ accountId: '-', vaultName: 'big' }));
    const { uploadId } = await c.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'big', partSize: String(PART) }));
    const base = Buffer.alloc(PART);
    for (let i = 0; i < PART; i += 4) base.writeUInt32LE((i * 2654435761) >>> 0, i);
    const partHashes: string[] = [];
    const t0 = Date.now();
    for (let i = 0; i < PARTS; i += 2) {
      await Promise.all([i, i + 1].map(async (n) => {
        const body = Buffer.from(base);
        body.writeUInt32LE(n, 0);
        const h = hashBoth(body);
        partHashes[n] = h.treeHash;
        await c.send(new UploadMultipartPartCommand({
          accountId: '-', vaultName: 'big', uploadId, body, checksum: h.treeHash,
          range: `bytes ${n * PART}-${(n + 1) * PART - 1}/*`,
        }));
      }));
    }
    const treeHash = combineTreeHashesHex(partHashes);
    const done = await c.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: 'big', uploadId, archiveSize: String(PART * PARTS), checksum: treeHash }));
    const upSec = (Date.now() - t0) / 1000;
    const { jobId } = await c.send(new InitiateJobCommand({ accountId: '-', vaultName: 'big', jobParameters: { Type: 'archive-retrieval', ArchiveId: done.archiveId } }));
    await c.send(new DescribeJobCommand({ accountId: '-', vaultName: 'big', jobId }));
    const out = await c.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'big', jobId }));
    const h = new TreeHasher();
    const t1 = Date.now();
    for await (const chunk of out.body as AsyncIterable<Buffer>) h.update(chunk);
    const downSec = (Date.now() - t1) / 1000;
    const got = h.digest();
    assert.equal(got.size, PART * PARTS);
    assert.equal(got.treeHash, treeHash);
    assert.equal(out.checksum, treeHash);
    const rss = peakRssMiB(local.proc.pid!);
    console.log(`# glacier-local 2 GiB: upload ${(2048 / upSec).toFixed(0)} MiB/s, download ${(2048 / downSec).toFixed(0)} MiB/s, server peak RSS ${rss.toFixed(0)} MiB`);
    assert.ok(rss < 200, `peak RSS ${rss} MiB`);
  } finally {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
