// The young generation is kept small on the byte path and let grow for JSON parsing (src/core/heap.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MODULE = new URL('../src/core/heap.js', import.meta.url).href;

test('kept small, the young generation stays at 1 MiB semi-spaces under churn; let grow, it grows', () => {
  const script = `
    import { getHeapSpaceStatistics } from 'node:v8';
    import { keepYoungGenerationSmall, letYoungGenerationGrow } from ${JSON.stringify(MODULE)};
    const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const churn = () => { const keep = []; for (let i = 0; i < 3e6; i++) { const o = { i, s: 'x' + i }; if (i % 100 === 0) keep.push(o); } return keep.length; };
    const out = {};
    if (process.argv[1] === 'small') keepYoungGenerationSmall();
    churn(); out.first = young();
    letYoungGenerationGrow();
    churn(); out.then = young();
    console.log(JSON.stringify(out));`;
  const run = (mode: string) => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout) as { first: number; then: number };
  };
  const MiB = 2 ** 20;
  const small = run('small');
  const grown = run('default');
  assert.ok(small.first <= 2 * MiB, `kept small: ${small.first / MiB} MiB of young generation`);
  assert.ok(grown.first > 4 * MiB, `V8's default grows it under the same churn: ${grown.first / MiB} MiB`);
  assert.ok(small.then > 4 * MiB, `let grow again: ${small.then / MiB} MiB`);
});

test('the binaries that move archive bytes keep it small before they load anything else', () => {
  // The shim first asks src/cli/fast.ts whether --help/--version can be answered from text (it loads node's own
  // modules only); then the heap is set, then the binary's own module is loaded, dynamically.
  const fast = readFileSync(new URL('../src/cli/fast.js', import.meta.url), 'utf8');
  for (const m of fast.matchAll(/^import .* from '([^']+)';$/gm)) assert.match(m[1], /^node:/, `fast.js imports only node's modules: ${m[1]}`);
  for (const bin of ['glacier-put', 'glacier-job', 'glacier-restore']) {
    const lines = readFileSync(new URL(`../../bin/${bin}`, import.meta.url), 'utf8').split('\n').map((l) => l.trim()).filter((l) => /^(import|await import)/.test(l));
    assert.equal(lines[0], "import { answerFast } from '../dist/src/cli/fast.js';", bin);
    assert.equal(lines[1], "await import('../dist/src/cli/small-heap.js');", bin);
    assert.match(lines[2], /^await import\('\.\.\/dist\/src\/bundle\/\w+\.js'\);$/, `${bin}: the binary's own module is loaded after, dynamically`);
  }
});
