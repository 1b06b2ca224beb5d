// glacier-job output -o FILE replaces FILE by a rename once the download is verified: a FILE that is a device or a
// pipe (-o /dev/null) must be refused before any request, never replaced by a regular file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, show } from './helpers/bins.js';
import { startLocal } from './helpers/local.js';
import { within } from './helpers/time.js';

test('-o /dev/null or -o FIFO is exit 2 before any request, and the device or pipe stays what it was', { timeout: within(60_000) }, async () => {
  const local = await startLocal();
  const dir = mkdtempSync(join(tmpdir(), 'glacier-out-device-'));
  try {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const out of ['/dev/null', fifo]) {
      await local.admin('DELETE', 'counters');
      const r = await run('glacier-job', ['output', '-v', 'v', '-o', out, '--', 'A'.repeat(92)], { env: local.env });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /not a regular file/);
      const counters = await local.counters();
      assert.equal(Object.values(counters).reduce((a, b) => a + b, 0), 0, `no request: ${JSON.stringify(counters)}`);
    }
    assert.ok(statSync('/dev/null').isCharacterDevice(), '/dev/null is still a device');
    assert.ok(statSync(fifo).isFIFO(), 'the FIFO is still a FIFO');
  } finally {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
