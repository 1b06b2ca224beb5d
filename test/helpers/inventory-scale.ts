// Inventories at scale, for test/inventory-scale.test.ts (100,000 archives) and test/slow/inventory-2m.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, sh, show } from './bins.js';
import { peakRssMB } from './inventory.js';
import { startLocal, type Local } from './local.js';

const LIMIT_KB = 150 * 1024;

/**
 * glacier-local fills a vault with `count` synthetic archives (its admin call); the JSON and the CSV inventory go
 * through `glacier-job output -o FILE` and `glacier-job output --archives | wc -l`, asserting the count and the
 * client's peak RSS (GNU time's maximum resident set size) and glacier-local's under 150 MB, and telling `log` the figures.
 */
export async function inventoryAtScale(count: number, log: (m: string) => void = () => {}): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'glacier-inventory-scale-'));
  let local: Local | undefined;
  try {
    local = await startLocal(['--data', join(dir, 'data'), '--job-delay', '0']);
    const env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
    const vault = 'big';
    assert.equal((await run('glacier-vault', ['create', vault], { env })).code, 0);
    await local.admin('POST', 'fill', { vault, count, size: 1024, description: 'synthetic, "archive" {i}\\' });
    for (const format of ['JSON', 'CSV']) {
      const r = await run('glacier-job', ['inventory', '-v', vault, '--format', format], { env });
      assert.equal(r.code, 0, show(r));
      const id = JSON.parse(r.stdout.toString('utf8')).JobId as string;
      const w = await run('glacier-job', ['wait', '-v', vault, '--interval', '500ms', '--', id], { env });
      assert.equal(w.code, 0, show(w));

      // -o FILE: the inventory copied to disk.
      const file = join(dir, `inventory.${format.toLowerCase()}`);
      const o = await sh('/usr/bin/time -f "RSS %M" "$NODE" "$BIN/glacier-job" output -v "$1" -o "$2" -- "$3"', [vault, file, id], { env }).done;
      assert.equal(o.code, 0, show(o));
      const rssFile = Number(/RSS (\d+)/.exec(o.stderr)![1]);
      const size = statSync(file).size;
      if (format === 'CSV') assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, count + 1);

      // --archives | wc -l: one line per archive.
      const a = await sh('set -e; /usr/bin/time -f "RSS %M" "$NODE" "$BIN/glacier-job" output -v "$1" --archives -- "$2" | wc -l', [vault, id], { env }).done;
      assert.equal(a.code, 0, show(a));
      assert.equal(Number(a.stdout.toString('utf8').trim()), count, show(a));
      const rssArchives = Number(/RSS (\d+)/.exec(a.stderr)![1]);
      log(`${count} archives, ${format} inventory of ${(size / 1e6).toFixed(1)} MB: glacier-job peak RSS ${(rssFile / 1024).toFixed(0)} MiB with -o, ${(rssArchives / 1024).toFixed(0)} MiB with --archives`);
      assert.ok(rssFile < LIMIT_KB, `-o peak RSS ${rssFile} KiB`);
      assert.ok(rssArchives < LIMIT_KB, `--archives peak RSS ${rssArchives} KiB`);
    }
    // The server's side of the same runs: it wrote and served both inventories.
    const server = peakRssMB(local.proc.pid!);
    log(`${count} archives: glacier-local peak RSS ${server.toFixed(0)} MiB`);
    assert.ok(server * 1024 < LIMIT_KB, `glacier-local peak RSS ${server.toFixed(1)} MiB`);
  } finally {
    await local?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

