// npm run demo, as a newcomer runs it: it must end by saying the round trip verified.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from './helpers/local.js';
import { within } from './helpers/time.js';

test('the demo packs, uploads, retrieves, unpacks and verifies a folder', { timeout: within(180_000) }, () => {
  const r = spawnSync(process.execPath, [`${ROOT}dist/examples/demo.js`], { encoding: 'utf8', env: { ...process.env, AWS_PROFILE: '' } });
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /glacier-pack folder \| glacier-put -v demo: [\d.]+ MiB of tar\.xz/);
  assert.match(r.stdout, /compared \d+ entries \(contents, modes, mtimes, link\): identical/);
  assert.match(r.stdout, /^round trip verified$/m);
  assert.equal(r.stderr, '');
});
