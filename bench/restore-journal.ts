// The cost of glacier-restore's state per archive: appending its records (a job started, then done; each batch
// fdatasync'd), replaying and compacting the journal at start, and the memory it holds, against a baseline of
// one fdatasync'd append per archive written with no journal logic. Run: node --expose-gc dist/bench/restore-journal.js [N]
import { mkdtempSync, rmSync, statSync, openSync, writeSync, fdatasyncSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Journal } from '../src/restore/journal.js';

const DAY = 86_400_000;

function archive(i: number) {
  const id = `${'A'.repeat(100)}${String(i).padStart(38, '0')}`; // 138 characters, as Glacier's ids
  return { archiveId: id, size: 1000 + i, treeHash: 'f'.repeat(64), description: `mt2 ${'x'.repeat(60)}`, creationDate: '2020-01-01T00:00:00.000Z' };
}

export async function benchRestoreJournal(n = Number(process.argv[2] ?? 20_000)): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'restore-journal-bench-'));
  try {
    // Baseline: one line per archive, written and fdatasync'd one at a time.
    const base = join(dir, 'baseline');
    const fd = openSync(base, 'a');
    let t = performance.now();
    for (let i = 0; i < Math.min(n, 2000); i++) {
      writeSync(fd, `{"t":"done","k":"${i}"}\n`);
      fdatasyncSync(fd);
    }
    closeSync(fd);
    const baseUs = ((performance.now() - t) * 1000) / Math.min(n, 2000);

    const path = join(dir, 'state.jsonl');
    const j = await Journal.open(path, { vault: 'v', target: '/x' }, { windowMs: DAY });
    // As a run does: up to 64 archives in flight, each recording its job, then its end.
    t = performance.now();
    for (let i = 0; i < n; i += 64) {
      const batch = Array.from({ length: Math.min(64, n - i) }, (_, k) => archive(i + k));
      await Promise.all(batch.map((a) => j.recordJob({ archive: a, name: `n${a.size}`, jobId: `J${a.size}`, at: Date.now() })));
      await Promise.all(batch.map((a) => j.recordDone(a.archiveId)));
    }
    const appendUs = ((performance.now() - t) * 1000) / n;
    const grown = statSync(path).size;
    await j.close();

    const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
    gc();
    const heap0 = process.memoryUsage().heapUsed;
    t = performance.now();
    const again = await Journal.open(path, { vault: 'v', target: '/x' }, { windowMs: 1 }); // the day's starts drop out
    const openMs = performance.now() - t;
    gc();
    const heap = process.memoryUsage().heapUsed - heap0;
    const compacted = statSync(path).size;
    t = performance.now();
    let found = 0;
    for (let i = 0; i < n; i++) if (again.isDone(archive(i).archiveId)) found++;
    const lookupUs = ((performance.now() - t) * 1000) / n;
    await again.close();
    if (found !== n) throw new Error(`replay lost archives: ${found} of ${n}`);

    const per = (x: number) => (x / n).toFixed(1);
    console.log(`restore journal, ${n} archives (job + done each, 64 in flight):`);
    console.log(`  append: ${appendUs.toFixed(1)} us per archive (baseline: one fdatasync'd line per record ${baseUs.toFixed(1)} us)`);
    console.log(`  file: ${per(grown)} bytes per archive before compaction, ${per(compacted)} after`);
    console.log(`  open (replay + compaction): ${((openMs * 1000) / n).toFixed(2)} us per archive; lookup ${lookupUs.toFixed(2)} us`);
    console.log(`  memory after replay: ~${per(heap)} bytes of heap per archive done`);
    console.log(`  at 2,000,000 archives: ~${((2e6 * compacted) / n / 2 ** 20).toFixed(0)} MiB file, ~${((2e6 * heap) / n / 2 ** 20).toFixed(0)} MiB heap, open in ~${((openMs * 2e6) / n / 1000).toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await benchRestoreJournal();
