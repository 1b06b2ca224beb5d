// acquireLock writes its PID HOST line to LOCK.PID-HEX.tmp and links it into place; a process killed (kill -9)
// before it removed that temp file leaves it behind. The next acquireLock of the same lock removes those of gone
// processes on this host, and leaves a live process's and another host's alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

test('a stale-lock marker left by a killed process is removed, and no longer stops the stale lock being broken', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glacier-lock-marker-'));
  try {
    const gone = 2 ** 22 + 23456; // above pid_max's default: no such process
    // (1) Killed after it removed the stale lock, before it removed its marker: the marker is swept.
    const a = join(dir, 'a.partial.lock');
    const deadMarker = `${a}.stale-1234-1796644295221`;
    const liveMarker = `${a}.stale-1235-1796644295221`;
    const otherHostMarker = `${a}.stale-1236-1796644295221`;
    writeFileSync(deadMarker, `${gone} ${hostname()}\n`);
    writeFileSync(liveMarker, `${process.ppid} ${hostname()}\n`);
    writeFileSync(otherHostMarker, `${gone} not-${hostname()}\n`);
    const releaseA = await acquireLock(a);
    assert.ok(!existsSync(deadMarker), "a gone process's marker: removed");
    assert.ok(existsSync(liveMarker), "a live process's marker: left");
    assert.ok(existsSync(otherHostMarker), "another host's marker: left");
    await releaseA();

    // (2) Killed before it removed the stale lock: the lock (held by a gone process) and the marker named after
    // that lock's identity are both there. The lock is taken (before, 100 attempts then "could not be taken").
    const b = join(dir, 'b.partial.lock');
    writeFileSync(b, `${gone + 1} ${hostname()}\n`);
    const st = statSync(b);
    const marker = `${b}.stale-${st.ino}-${Math.trunc(st.mtimeMs)}`;
    writeFileSync(marker, `${gone} ${hostname()}\n`);
    const releaseB = await acquireLock(b);
    assert.equal(readFileSync(b, 'utf8'), `${process.pid} ${hostname()}\n`, 'the lock is ours');
    assert.ok(!existsSync(marker), 'the marker is gone');
    await releaseB();
    assert.deepEqual(readdirSync(dir).sort(), [liveMarker, otherHostMarker].map((p) => p.slice(dir.length + 1)).sort(), 'nothing else left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
