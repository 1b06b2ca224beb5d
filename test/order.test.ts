// The order `npm test` starts its files in (test/helpers/order.ts): every name it ranks is a test file that
// exists (a renamed or removed file would drop out of the ranking unnoticed), and every test file is run once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LONGEST, ordered } from './helpers/order.js';

const dir = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort();

describe('the order npm test starts its files in', () => {
  it('ranks only test files that exist, each once', () => {
    assert.deepEqual(LONGEST.filter((n) => !files.includes(`${n}.test.js`)), [], 'ranked names with no test file');
    assert.equal(new Set(LONGEST).size, LONGEST.length, 'a name ranked twice');
  });

  it('lists every test file once, the ranked ones first in their order', () => {
    const got = ordered(dir).map((f) => basename(f));
    assert.deepEqual([...got].sort(), files);
    assert.deepEqual(got.slice(0, LONGEST.length), LONGEST.map((n) => `${n}.test.js`));
  });
});
