// Inventories at scale: a vault of 100,000 archives, its JSON and CSV inventories through `glacier-job output -o`
// and `--archives | wc -l` with the right count and the client's peak RSS under 150 MB (printed).
// test/slow/inventory-2m.test.ts does the same with 2,000,000 archives.
import { describe, it } from 'node:test';
import { inventoryAtScale } from './helpers/inventory-scale.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('inventory of 100,000 archives', () => {
  it('JSON and CSV through -o and --archives | wc -l, the right count, peak RSS of glacier-job and glacier-local under 150 MB', async () => {
    await inventoryAtScale(100_000, (m) => process.stderr.write(`${m}\n`));
  });
});
