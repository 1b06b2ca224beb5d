// Oldest first: archives of an inventory are requested in CreationDate order, then by archive id, whatever order
// the inventory lists them in (sorted through 0600 spill files in a private folder removed at the end); archives
// on stdin keep their order.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oldestFirst } from '../src/restore/order.js';
import type { InventoryArchive } from '../src/restore/seam.js';
import { run, show } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';

let local: Local;
let work: string;

async function* from<T>(xs: T[]): AsyncGenerator<T> {
  for (const x of xs) yield x;
}

const rec = (id: string, date: string): InventoryArchive => ({ ArchiveId: id, ArchiveDescription: `d-${id}`, CreationDate: date, Size: 1, SHA256TreeHash: 'b'.repeat(64) });

describe('oldest first', () => {
  useLocal('restore-order-', (l, w) => ([local, work] = [l, w]));

  it('an external sort: 2,000 archives through runs of 64 come out by CreationDate then id; spill files 0600 in a 0700 folder, removed at the end', async () => {
    const root = join(work, 'tmp-a');
    mkdirSync(root);
    const list: InventoryArchive[] = [];
    // Newest first, with ties on the date (broken by id) and date forms with and without milliseconds.
    for (let i = 1999; i >= 0; i--) {
      const ms = Date.UTC(2014, 0, 1) + Math.floor(i / 3) * 1000;
      const date = i % 2 ? new Date(ms).toISOString() : new Date(ms).toISOString().replace('.000Z', 'Z');
      list.push(rec(`id-${String((i * 7919) % 10007).padStart(5, '0')}`, date));
    }
    const want = [...list].sort((x, y) => Date.parse(x.CreationDate) - Date.parse(y.CreationDate) || (x.ArchiveId < y.ArchiveId ? -1 : 1)).map((a) => a.ArchiveId);
    const got: string[] = [];
    let seenFiles = 0;
    for await (const a of oldestFirst(from(list), { tmpRoot: root, runSize: 64 })) {
      if (!got.length) {
        const dirs = readdirSync(root);
        assert.equal(dirs.length, 1);
        assert.equal(statSync(join(root, dirs[0])).mode & 0o777, 0o700);
        for (const f of readdirSync(join(root, dirs[0]))) {
          assert.equal(statSync(join(root, dirs[0], f)).mode & 0o777, 0o600, f);
          seenFiles++;
        }
      }
      got.push(a.ArchiveId);
    }
    assert.equal(seenFiles, Math.floor(2000 / 64), 'each full run spilled');
    assert.deepEqual(got, want);
    assert.deepEqual(readdirSync(root), [], 'the spill folder is removed');
  });

  it('a consumer that stops early (break) still removes the spill folder', async () => {
    const root = join(work, 'tmp-b');
    mkdirSync(root);
    const list = Array.from({ length: 300 }, (_, i) => rec(`x${String(300 - i).padStart(4, '0')}`, new Date(Date.UTC(2020, 0, 1) - i * 86_400_000).toISOString()));
    for await (const a of oldestFirst(from(list), { tmpRoot: root, runSize: 50 })) {
      assert.equal(a.ArchiveId, 'x0001');
      break;
    }
    assert.deepEqual(readdirSync(root), []);
  });

  it('glacier-restore --inventory listed newest first requests the oldest first (one job at a time: stdout is request order); stdin keeps its order', async () => {
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'ord' }));
    const list: InventoryArchive[] = [];
    for (let i = 0; i < 6; i++) {
      const data = randomBytes(100 + i);
      const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'ord', body: data, archiveDescription: `f${i}.bin` }));
      // Newest first: f0 is the newest. f4 and f5 share a date: their ids order them.
      const date = i >= 4 ? '2012-05-05T00:00:00.000Z' : new Date(Date.UTC(2020 - i, 0, 1)).toISOString();
      list.push({ ArchiveId: r.archiveId!, ArchiveDescription: `f${i}.bin`, CreationDate: date, Size: data.length, SHA256TreeHash: createHash('sha256').update(data).digest('hex') });
    }
    const inv = join(work, 'inv.json');
    writeFileSync(inv, JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:-:vaults/ord', InventoryDate: '2026-01-01T00:00:00Z', ArchiveList: list }));
    const want = [...list].sort((x, y) => Date.parse(x.CreationDate) - Date.parse(y.CreationDate) || (x.ArchiveId < y.ArchiveId ? -1 : 1)).map((a) => a.ArchiveId);
    assert.notDeepEqual(want, list.map((a) => a.ArchiveId));
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state'), TMPDIR: join(work, 'tmp-c') };
    mkdirSync(env.TMPDIR);
    const r = await run('glacier-restore', ['-v', 'ord', '--inventory', inv, '--to', join(work, 'out'), '--max-jobs', '1', '-c', '1', '--interval', '1s'], { env });
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.status === 'done');
    assert.deepEqual(lines.map((l) => l.archiveId), want);
    assert.equal(readFileSync(join(work, 'out', 'f5.bin')).length, 105);
    // --dry-run plans in the same order.
    const d = await run('glacier-restore', ['-v', 'ord', '--inventory', inv, '--to', join(work, 'out2'), '--dry-run'], { env });
    assert.deepEqual(d.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.archiveId).map((l) => l.archiveId), want);
    // The same archives as JSON lines on stdin: their order is the user's.
    const s = await run('glacier-restore', ['-v', 'ord', '--to', join(work, 'out3'), '--dry-run'], { env, input: list.map((a) => JSON.stringify(a)).join('\n') });
    assert.deepEqual(s.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((l) => l.archiveId).map((l) => l.archiveId), list.map((a) => a.ArchiveId));
    assert.ok(existsSync(env.TMPDIR));
    assert.deepEqual(readdirSync(env.TMPDIR), []);
  });
});
