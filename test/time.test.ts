// The suite's one timeout factor (test/helpers/time.ts): taken from GLACIER_TEST_TIMEOUT_FACTOR, else from the
// machine's load per core; until() resolves on the event and fails naming what it waited for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadFactor, TIMEOUT_FACTOR, until, within } from './helpers/time.js';

test('the load factor: load per core rounded up to a half, from 1 (idle) to 4', () => {
  assert.equal(loadFactor(0.1, 2), 1);
  assert.equal(loadFactor(2, 2), 1);
  assert.equal(loadFactor(3, 2), 1.5);
  assert.equal(loadFactor(5.2, 2), 3);
  assert.equal(loadFactor(20, 2), 4);
  assert.equal(loadFactor(8, 8), 1);
});

test('within() scales by the one factor; GLACIER_TEST_TIMEOUT_FACTOR wins when set', () => {
  assert.equal(within(1000), Math.round(1000 * TIMEOUT_FACTOR));
  const set = Number(process.env.GLACIER_TEST_TIMEOUT_FACTOR);
  if (set > 0) assert.equal(TIMEOUT_FACTOR, set);
  else assert.ok(TIMEOUT_FACTOR >= 1 && TIMEOUT_FACTOR <= 4);
});

test('until() resolves with the first truthy answer, and fails naming what it waited for', async () => {
  let n = 0;
  assert.equal(await until(() => (++n >= 3 ? 'ready' : null), 'the third ask'), 'ready');
  await assert.rejects(until(() => false, 'something that never comes', 50 / TIMEOUT_FACTOR), /waiting for something that never comes/);
});
