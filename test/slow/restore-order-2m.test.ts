// Oldest first at 2,000,000 archives: the external sort's peak RSS, next to the same process reading the same
// records unsorted (the baseline), printed; every record comes out once, in order; the bound is 300 MB (what is
// resident is mostly records promoted to the old generation and not yet collected, not live data: measured 255 MB
// with runs of 20,000 and 243 MB with runs of 50,000, next to 97 MB for the unsorted read).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const order = fileURLToPath(new URL('../../src/restore/order.js', import.meta.url));

// A child process: N inventory-like records in a pseudo-random date order, sorted (or not), checked, its peak RSS.
const child = `
const { oldestFirst } = await import(process.argv[1]);
const N = Number(process.argv[2]), sort = process.argv[3] === 'sort';
async function* gen() {
  let x = 12345;
  for (let i = 0; i < N; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    yield { ArchiveId: 'A' + String(i).padStart(9, '0') + 'z'.repeat(128), ArchiveDescription: 'backup/files/' + i + '.tar.xz', CreationDate: new Date(1.3e12 + (x % 4e11)).toISOString(), Size: 1024 + (x % 1e6), SHA256TreeHash: 'c'.repeat(64) };
  }
}
let n = 0, last = -Infinity, lastId = '';
for await (const a of sort ? oldestFirst(gen(), { tmpRoot: process.argv[4] }) : gen()) {
  const t = Date.parse(a.CreationDate);
  if (sort && (t < last || (t === last && a.ArchiveId < lastId))) throw new Error('out of order at ' + n);
  last = t; lastId = a.ArchiveId; n++;
}
console.log(JSON.stringify({ n, rssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
`;

describe('oldest first at 2,000,000 archives', () => {
  it('sorted through spill files: all in order, peak RSS printed next to an unsorted read, under 300 MB', { timeout: 60 * 60_000 }, () => {
    const N = 2_000_000;
    const root = mkdtempSync(join(tmpdir(), 'order-2m-'));
    try {
      const go = (mode: string) => {
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', child, order, String(N), mode, root], { encoding: 'utf8', maxBuffer: 1 << 20 });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout.trim()) as { n: number; rssMB: number };
      };
      const t0 = Date.now();
      const base = go('plain');
      const t1 = Date.now();
      const sorted = go('sort');
      const t2 = Date.now();
      process.stdout.write(`# ${N} archives: unsorted read peak RSS ${base.rssMB} MB in ${((t1 - t0) / 1000).toFixed(1)} s; oldest first ${sorted.rssMB} MB in ${((t2 - t1) / 1000).toFixed(1)} s\n`);
      assert.equal(base.n, N);
      assert.equal(sorted.n, N);
      assert.ok(sorted.rssMB < 300, `${sorted.rssMB} MB sorted vs ${base.rssMB} MB unsorted`);
      assert.deepEqual(readdirSync(root), [], 'spill folder removed');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
