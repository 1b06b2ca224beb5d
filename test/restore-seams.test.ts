// glacier-restore's seams, each alone: the pacer (--max-jobs, the byte budget, holds, and the limit an expiry
// lowers), the tracker's check of a job's own description against the input, and the head of an inventory file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkInventory, inventoryHead } from '../src/restore/input.js';
import { makePacer } from '../src/restore/pacer.js';
import { disagreement } from '../src/restore/tracker.js';

describe('pacer', () => {
  it('allows up to --max-jobs outstanding, and no start while held', () => {
    let t = 1000;
    const p = makePacer({ maxJobs: 3, journal: { startedInWindow: () => ({ bytes: 0, frees: 0 }) }, now: () => t });
    assert.equal(p.canTry(2), true);
    assert.equal(p.canTry(3), false);
    assert.equal(p.nextTry(3), Infinity);
    p.holdUntil(5000);
    assert.equal(p.canTry(0), false);
    assert.equal(p.nextTry(0), 5000);
    t = 5000;
    assert.equal(p.canTry(0), true);
  });

  it('keeps to the byte budget, and lets an archive bigger than the budget start alone', () => {
    let window = { bytes: 0, frees: 0 };
    const p = makePacer({ maxJobs: 10, maxBytesPerDay: 100, journal: { startedInWindow: () => window }, now: () => 0 });
    assert.equal(p.allows(500), true, 'alone in the window');
    window = { bytes: 60, frees: 7000 };
    assert.equal(p.allows(40), true);
    assert.equal(p.allows(41), false);
    assert.equal(p.nextTry(0), 7000, 'held until the window frees room');
  });

  it('halves the jobs allowed out at each expiry, never below the floor', () => {
    const p = makePacer({ maxJobs: 20, floor: 3, journal: { startedInWindow: () => ({ bytes: 0, frees: 0 }) }, now: () => 0 });
    assert.deepEqual([p.expired(), p.expired(), p.expired(), p.expired()], [10, 5, 3, undefined]);
    assert.equal(p.limit, 3);
    assert.equal(p.canTry(3), false);
    assert.equal(p.canTry(2), true);
  });
});

describe("tracker: a job's own description against the input", () => {
  const item = { archiveId: 'A', name: 'a', size: 10, treeHash: 'ab'.repeat(32), description: '', creationDate: '' };
  it('agrees, or names the size or tree hash that differs', () => {
    assert.equal(disagreement(item, { JobId: 'J', ArchiveSizeInBytes: 10, ArchiveSHA256TreeHash: 'AB'.repeat(32) }), undefined);
    assert.match(disagreement({ ...item, size: 0 }, { JobId: 'J', ArchiveSizeInBytes: 10 })!, /input says 0 bytes, the vault's job J says 10/);
    assert.match(disagreement(item, { JobId: 'J', ArchiveSizeInBytes: 10, ArchiveSHA256TreeHash: 'cd'.repeat(32) })!, /SHA256TreeHash .* is not the vault's/);
  });
});

describe('inventory head', () => {
  it('reads VaultARN and InventoryDate before ArchiveList, and refuses another vault', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glacier-inv-head-'));
    try {
      const f = join(dir, 'inv.json');
      writeFileSync(f, JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:012345678901:vaults/photos', InventoryDate: '2026-01-02T03:04:05Z', ArchiveList: [{ ArchiveDescription: '"VaultARN":"x"' }] }));
      assert.deepEqual(await inventoryHead(f), { vaultArn: 'arn:aws:glacier:us-east-1:012345678901:vaults/photos', vault: 'photos', date: '2026-01-02T03:04:05Z' });
      assert.equal((await checkInventory(f, 'photos')).date, '2026-01-02T03:04:05Z');
      await assert.rejects(checkInventory(f, 'music'), /is of vault photos .*not music/);
      const csv = join(dir, 'inv.csv');
      writeFileSync(csv, 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n');
      assert.deepEqual(await inventoryHead(csv), {});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
