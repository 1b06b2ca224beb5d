import { test } from 'node:test';
import assert from 'node:assert/strict';

// Node 20.19+ aborts the whole process (SIGABRT, an assertion in its require(esm) path) when the process exits
// while a piscina worker is still loading an ES module through require(). A binary that ends early (a refused
// request, a usage error found late) exits while its hash workers load: it must end with its own exit code.
// The window is a few milliseconds wide, so the exit is swept across the workers' start-up many times.
test('a process that exits while the hash workers are still loading ends with its own code, never SIGABRT', { timeout: 900_000 }, async () => {
  const { spawn } = await import('node:child_process');
  const pool = new URL('../../src/core/hash-pool.js', import.meta.url).href;
  const script = `
    import { HashPool } from ${JSON.stringify(pool)};
    const p = new HashPool(8);
    p.hash(new Uint8Array(new SharedArrayBuffer(1 << 20))).catch(() => {});
    setTimeout(() => process.exit(7), Number(process.argv[1]));`;
  const run = (delayMs: number) => new Promise<{ code: number | null; signal: string | null; err: string }>((resolve) => {
    const c = spawn(process.execPath, ['--input-type=module', '-e', script, String(delayMs)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    c.on('close', (code, signal) => resolve({ code, signal, err }));
  });
  const delays = Array.from({ length: Number(process.env.GP_EXIT_SWEEP ?? 800) }, (_, i) => i % 80);
  let next = 0;
  const bad: string[] = [];
  await Promise.all(Array.from({ length: 4 }, async () => {
    for (let i = next++; i < delays.length; i = next++) {
      const r = await run(delays[i]);
      if (r.code !== 7) bad.push(`exit after ${delays[i]} ms: code ${r.code} signal ${r.signal} ${r.err.split('\n').find((l) => /Assertion|Error/.test(l)) ?? ''}`);
    }
  }));
  assert.deepEqual(bad, []);
});
