// glacier-local with a vault of 2,000,000 archives (POST /_local/fill): inventory jobs in JSON and CSV streamed
// through the SDK and counted at 200,000 and at 2,000,000 archives, with glacier-local's peak RSS printed at
// each step (goal: under 150 MB and flat).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { CreateVaultCommand, DescribeVaultCommand, GetJobOutputCommand, InitiateJobCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { countCsv, countJsonKeys, peakRssMB } from '../helpers/inventory.js';
import { startLocal } from '../helpers/local.js';

const A = { accountId: '-' };

async function inventoryBody(c: GlacierClient, format: 'JSON' | 'CSV'): Promise<Readable> {
  const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'big', jobParameters: { Type: 'inventory-retrieval', Format: format } }));
  return (await c.send(new GetJobOutputCommand({ ...A, vaultName: 'big', jobId }))).body as Readable;
}

test('2,000,000 archives: JSON and CSV inventories counted, glacier-local peak RSS printed at 200,000 and 2,000,000', { timeout: 30 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gl-big-inv-'));
  const local = await startLocal(['--data', dir, '--job-delay', '0']);
  try {
    const c = local.client();
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'big' }));
    const rss: number[] = [];
    for (const [add, total] of [[200_000, 200_000], [1_800_000, 2_000_000]]) {
      await local.admin('POST', 'fill', { vault: 'big', count: add, size: 1024 });
      assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'big' }))).NumberOfArchives, total);
      const t0 = performance.now();
      assert.equal(await countJsonKeys(await inventoryBody(c, 'JSON')), total);
      const t1 = performance.now();
      assert.equal(await countCsv(await inventoryBody(c, 'CSV'), (f) => assert.equal(f.length, 5)), total);
      const t2 = performance.now();
      rss.push(peakRssMB(local.proc.pid!));
      console.log(`# ${total} archives: JSON inventory ${((t1 - t0) / 1000).toFixed(1)} s, CSV ${((t2 - t1) / 1000).toFixed(1)} s; glacier-local peak RSS ${rss.at(-1)!.toFixed(1)} MB`);
    }
    assert.ok(rss[1] < 150, `peak RSS ${rss[1].toFixed(1)} MB at 2,000,000 archives`);
  } finally {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
