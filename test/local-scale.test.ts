// glacier-local at scale: POST /_local/fill makes 100,000 archives at once; an inventory job of them in JSON and
// CSV is streamed through the SDK and counted, while glacier-local's peak RSS stays under 150 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateVaultCommand, DeleteArchiveCommand, DescribeVaultCommand, GetJobOutputCommand, InitiateJobCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { treeHash } from '../src/core/tree-hash.js';
import { bodyBytes } from './helpers/conformance.js';
import { countCsv, countJson, peakRssMB } from './helpers/inventory.js';
import { startLocal } from './helpers/local.js';
import { within } from './helpers/time.js';

const A = { accountId: '-' };
const COUNT = 100_000;

async function inventoryBody(c: GlacierClient, vaultName: string, format: 'JSON' | 'CSV'): Promise<Readable> {
  const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'inventory-retrieval', Format: format } }));
  const out = await c.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return out.body as Readable;
}

test(`a vault filled with ${COUNT} archives: JSON and CSV inventories streamed and counted, glacier-local under 150 MB`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-scale-'));
  const local = await startLocal(['--data', dir, '--job-delay', '0']);
  try {
    const c = local.client();
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'big' }));
    const t0 = performance.now();
    const fill = await local.admin<{ count: number; size: number; treeHash: string; firstArchiveId: string }>('POST', 'fill', { vault: 'big', count: COUNT, size: 3000 });
    const fillMs = performance.now() - t0;
    assert.equal(fill.count, COUNT);
    assert.ok(fillMs < within(2000), `fill took ${fillMs.toFixed(0)} ms`);
    const d = await c.send(new DescribeVaultCommand({ ...A, vaultName: 'big' }));
    assert.deepEqual([d.NumberOfArchives, d.SizeInBytes], [COUNT, COUNT * 3000]);

    // A synthetic archive is a real one to clients: retrievable (its bytes match its tree hash) and deletable.
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'big', jobParameters: { Type: 'archive-retrieval', ArchiveId: fill.firstArchiveId } }));
    const bytes = await bodyBytes(await c.send(new GetJobOutputCommand({ ...A, vaultName: 'big', jobId })));
    assert.equal(bytes.length, 3000);
    assert.equal(treeHash(bytes), fill.treeHash);
    await c.send(new DeleteArchiveCommand({ ...A, vaultName: 'big', archiveId: fill.firstArchiveId }));
    const left = COUNT - 1;

    const ids = new Set<string>();
    const jsonCount = await countJson(await inventoryBody(c, 'big', 'JSON'), (a) => {
      assert.match(a.ArchiveId, /^[A-Za-z0-9_-]{138}$/);
      assert.equal(a.Size, 3000);
      assert.equal(a.SHA256TreeHash, fill.treeHash);
      if (ids.size < 1000) ids.add(a.ArchiveId);
    });
    assert.equal(jsonCount, left);
    assert.equal(ids.size, 1000, 'ids are distinct');
    assert.ok(!ids.has(fill.firstArchiveId), 'the deleted archive is gone');
    const csvCount = await countCsv(await inventoryBody(c, 'big', 'CSV'), (f) => {
      assert.equal(f.length, 5);
      assert.match(f[0], /^[A-Za-z0-9_-]{138}$/);
      assert.match(f[1], /^"synthetic archive \d+"$/);
      assert.deepEqual(f.slice(3), ['3000', fill.treeHash]);
    });
    assert.equal(csvCount, left);

    const rss = peakRssMB(local.proc.pid!);
    console.log(`# glacier-local: ${COUNT} archives filled in ${fillMs.toFixed(0)} ms; peak RSS ${rss.toFixed(1)} MB`);
    assert.ok(rss < 150, `glacier-local peak RSS ${rss.toFixed(1)} MB`);
  } finally {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
