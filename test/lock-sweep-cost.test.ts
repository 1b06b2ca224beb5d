// acquireLock sweeps the stale temp files of killed processes beside a lock: a restore takes one lock per file it
// writes into one folder, so the folder is read once per process, not once per lock (which cost in proportion to
// the files already there: quadratic over a run of millions of archives).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, promises as fsp, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../src/core/files.js';

test('200 locks taken in a folder of 300 files read the folder once; a killed process\'s temp is still swept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glacier-lock-sweep-'));
  const readdir = fsp.readdir;
  let reads = 0;
  try {
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, `f${i}.bin`), 'x');
    const gone = 2 ** 22 + 4321; // above pid_max's default: no such process
    const dead = join(dir, `f150.bin.partial.lock.${gone}-aaaaaaaaaaaa.tmp`);
    writeFileSync(dead, `${gone} ${hostname()}\n`);
    (fsp as { readdir: unknown }).readdir = (...a: Parameters<typeof readdir>) => {
      reads++;
      return readdir(...a);
    };
    for (let i = 0; i < 200; i++) {
      const release = await acquireLock(join(dir, `f${i}.bin.partial.lock`));
      await release();
    }
    assert.equal(reads, 1, 'the folder read once');
    assert.ok(!existsSync(dead), 'the temp of a gone process beside f150.bin.partial.lock was removed when that lock was taken');
  } finally {
    (fsp as { readdir: unknown }).readdir = readdir;
    rmSync(dir, { recursive: true, force: true });
  }
});
