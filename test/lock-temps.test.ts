// acquireLock writes its PID HOST line to LOCK.PID-HEX.tmp and links it into place; a process killed (kill -9)
// before it removed that temp file leaves it behind. The next acquireLock of the same lock removes those of gone
// processes on this host, and leaves a live process's and another host's alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireLock } from '../src/core/files.js';

test('acquireLock removes the temp files of killed processes beside the lock, and only those', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glacier-lock-temps-'));
  try {
    const lock = join(dir, 'f.bin.partial.lock');
    const gone = 2 ** 22 + 12345; // above pid_max's default: no such process
    const dead = `${lock}.${gone}-aaaaaaaaaaaa.tmp`;
    const empty = `${lock}.${gone + 1}-bbbbbbbbbbbb.tmp`;
    const otherHost = `${lock}.${gone + 2}-cccccccccccc.tmp`;
    const live = `${lock}.${process.ppid}-dddddddddddd.tmp`;
    const otherLock = `${lock}x.${gone}-eeeeeeeeeeee.tmp`;
    writeFileSync(dead, `${gone} ${hostname()}\n`);
    writeFileSync(empty, '');
    writeFileSync(otherHost, `${gone + 2} not-${hostname()}\n`);
    writeFileSync(live, `${process.ppid} ${hostname()}\n`);
    writeFileSync(otherLock, `${gone} ${hostname()}\n`);
    const release = await acquireLock(lock);
    assert.ok(!existsSync(dead), 'a gone process on this host: removed');
    assert.ok(!existsSync(empty), 'killed before it wrote its line: removed');
    assert.ok(existsSync(otherHost), 'another host: left');
    assert.ok(existsSync(live), 'a live process: left');
    assert.ok(existsSync(otherLock), 'the temp file of another lock: left');
    assert.ok(existsSync(lock));
    await release();
    assert.ok(!existsSync(lock));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
