// Slow: a sparse file over 8 GiB (the most an octal ustar size field holds) packed by glacier-pack and read back by
// GNU tar at its full size, with its last bytes intact. Run by hand: npm run test:slow
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN } from '../helpers/local.js';

const SIZE = 9 * 2 ** 30 + 12345; // 9 GiB and change: not a multiple of 512 either

test('a 9 GiB sparse file: GNU tar lists it at its size and its last bytes come back', { timeout: 30 * 60_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'glacier-pack-big-'));
  try {
    mkdirSync(join(work, 'big'));
    const file = join(work, 'big/sparse.img');
    writeFileSync(file, 'head');
    truncateSync(file, SIZE); // sparse: no 9 GiB written to disk
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from('the end'), 0, 7, SIZE - 7);
    closeSync(fd);
    writeFileSync(join(work, 'big/z-after.txt'), 'after\n');
    // --no-compress: xz over 9 GiB of zeros would only time xz. With -O, GNU tar writes the members' data to stdout
    // and its -vv listing to stderr, so one pass checks both.
    const script = `"${process.execPath}" "${BIN('glacier-pack')}" --no-compress big | tar -xvvOf - | tail -c 13`;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], { cwd: work, encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'the endafter\n', 'the last bytes of the big member, then the member after it');
    assert.match(r.stderr, new RegExp(`^-rw-r--r-- 0/0 +${SIZE} .* big/sparse\\.img$`, 'm'), r.stderr);
    assert.match(r.stderr, /^-rw-r--r-- 0\/0 +6 .* big\/z-after\.txt$/m, r.stderr);
    assert.equal(r.stderr.split('\n').filter((l) => l && !/^[-d]rw/.test(l)).length, 0, `only the listing on stderr: ${r.stderr}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
