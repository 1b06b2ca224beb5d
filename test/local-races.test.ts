// Races inside one glacier-local --data DIR, over real HTTP, each case run RUNS times with random delays between
// the racing requests: Complete vs a re-sent part (same and different bytes), Complete vs Complete, Complete vs
// Abort, DeleteVault vs UploadArchive (two `glacier-put --resume FILE` at once: local-races-resume.test.ts).
// After each case, and again after a restart on the same folder: every archive a client was told of reads back
// byte for byte, no archive id that no client was given exists (inventory and disk), no request was answered
// 5xx, and the data folder holds nothing beyond what the store lists (no temporary file, no folder of a deleted
// vault or closed upload).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateVaultCommand, DeleteVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { MiB } from '../src/core/tree-hash.js';
import { REGION } from './helpers/local.js';
import { A, checkStore, complete, data, g, initiate, inventoryIds, putPart, race, restart, RUNS, runs, tell, told, useRaceServer } from './helpers/races.js';
import { within } from './helpers/time.js';

useRaceServer();

test('Complete racing a re-sent part with the same bytes: the archive is always whole', { timeout: within(180_000) }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'same' }));
  let completedFirst = 0;
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('same', parts);
    const index = Math.random() < 0.5 ? 0 : 1;
    const [done, part] = await Promise.all([race('complete', () => complete('same', uploadId, whole)), race('part', () => putPart('same', uploadId, index, parts[index]))]);
    assert.ok(done.ok, `Complete succeeds whatever the order (${done.status} ${done.name})`);
    assert.ok(part.ok || part.name === 'ResourceNotFoundException', `the re-sent part lands or finds the upload closed (${part.status} ${part.name})`);
    if (!part.ok) completedFirst++;
    tell('same', done.value!.archiveId, whole);
  });
  void completedFirst;
  await checkStore('same bytes');
  await restart();
  await checkStore('same bytes, after a restart');
});

test('Complete racing a re-sent part with other bytes: the archive holds one version whole, or Complete fails and the upload stays', { timeout: within(180_000) }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'other' }));
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('other', parts);
    const index = Math.random() < 0.5 ? 0 : 1;
    const changed = parts.map((p, i) => (i === index ? randomBytes(p.length) : p));
    const [done, part] = await Promise.all([race('complete', () => complete('other', uploadId, whole)), race('part', () => putPart('other', uploadId, index, changed[index]))]);
    if (done.ok) {
      // Completed first: the re-sent part found the upload closed, the archive is the original.
      assert.equal(part.name, 'ResourceNotFoundException', `a part after Complete is refused (${part.status} ${part.name})`);
      tell('other', done.value!.archiveId, whole);
    } else {
      // The part landed first: Complete's tree hash no longer matches; the upload is open with the new part.
      assert.equal(done.name, 'InvalidParameterValueException', `Complete fails as a whole (${done.status} ${done.name})`);
      assert.ok(part.ok, 'and the part landed');
      const again = Buffer.concat(changed);
      const r = await complete('other', uploadId, again);
      tell('other', r.archiveId, again);
    }
  });
  await checkStore('other bytes');
  await restart();
  await checkStore('other bytes, after a restart');
});

test('Complete racing Complete (a client retry): both answer the same archive, one archive exists', { timeout: within(180_000) }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'twice' }));
  const completed: { uploadId: string; archiveId: string }[] = [];
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('twice', parts);
    const [a, b] = await Promise.all([race('complete 1', () => complete('twice', uploadId, whole)), race('complete 2', () => complete('twice', uploadId, whole))]);
    assert.ok(a.ok && b.ok, `both Completes succeed (${a.status} ${a.name}, ${b.status} ${b.name})`);
    assert.equal(a.value!.archiveId, b.value!.archiveId, 'with the same archive id');
    tell('twice', a.value!.archiveId, whole);
    completed.push({ uploadId, archiveId: a.value!.archiveId! });
  });
  assert.equal((await inventoryIds('twice')).length, RUNS, 'one archive per upload');
  await checkStore('Complete twice');
  await restart();
  await checkStore('Complete twice, after a restart');
  // A Complete repeated after the restart still answers the same archive, and makes no other.
  const { uploadId, archiveId } = completed[0];
  const again = await g.send(new CompleteMultipartUploadCommand({ ...A, vaultName: 'twice', uploadId, archiveSize: '1', checksum: '0'.repeat(64) }));
  assert.equal(again.archiveId, archiveId);
  assert.equal((await inventoryIds('twice')).length, RUNS);
});

test('Complete racing Abort: never both succeed; the winner decides, whole', { timeout: within(180_000) }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'abort' }));
  const wins = { complete: 0, abort: 0 };
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('abort', parts);
    const [done, aborted] = await Promise.all([
      race('complete', () => complete('abort', uploadId, whole)),
      race('abort', () => g.send(new AbortMultipartUploadCommand({ ...A, vaultName: 'abort', uploadId }))),
    ]);
    assert.ok(done.ok !== aborted.ok, `exactly one wins (complete ${done.status} ${done.name}, abort ${aborted.status} ${aborted.name})`);
    assert.equal((done.ok ? aborted : done).name, 'ResourceNotFoundException');
    if (done.ok) {
      wins.complete++;
      tell('abort', done.value!.archiveId, whole);
    } else wins.abort++;
  });
  assert.equal((await inventoryIds('abort')).length, wins.complete);
  await checkStore('Complete vs Abort');
  await restart();
  await checkStore('Complete vs Abort, after a restart');
});

test('DeleteVault racing UploadArchive: the vault is deleted and nothing was stored, or the archive is stored whole', { timeout: within(180_000) }, async () => {
  const outcome = { deleted: 0, stored: 0 };
  await runs(async (i) => {
    const vaultName = `dv-${i}`;
    await g.send(new CreateVaultCommand({ ...A, vaultName }));
    const body = randomBytes(1 + Math.floor(Math.random() * 300_000));
    const [del, up] = await Promise.all([
      race('delete vault', () => g.send(new DeleteVaultCommand({ ...A, vaultName }))),
      race('upload', () => g.send(new UploadArchiveCommand({ ...A, vaultName, body }))),
    ]);
    assert.ok(del.ok !== up.ok, `exactly one succeeds (delete ${del.status} ${del.name}, upload ${up.status} ${up.name})`);
    if (up.ok) {
      assert.equal(del.name, 'InvalidParameterValueException', 'the vault is not empty or recently written to');
      tell(vaultName, up.value!.archiveId, body);
      outcome.stored++;
    } else {
      assert.equal(up.name, 'ResourceNotFoundException');
      assert.ok(!existsSync(join(data, 'r', REGION, 'v', vaultName)), `${vaultName}: no folder is left behind`);
      outcome.deleted++;
    }
  });
  await checkStore('DeleteVault vs UploadArchive');
  await restart();
  await checkStore('DeleteVault vs UploadArchive, after a restart');
});

test('every case announced archives', () => {
  // Guards against a run that asserted nothing.
  assert.ok(told.size >= 3 * RUNS, `${told.size} archives announced`);
});
