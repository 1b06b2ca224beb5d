// A vault of 2,000,000 archives (about 700 MB of JSON inventory): both inventories through `glacier-job output
// -o` and `--archives | wc -l`, the right count, and the peak RSS of both processes printed and kept under 150 MB.
import { describe, it } from 'node:test';
import { inventoryAtScale } from '../helpers/inventory-scale.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('inventory of 2,000,000 archives', () => {
  it('JSON and CSV through -o and --archives | wc -l, the right count, peak RSS of glacier-job and glacier-local under 150 MB (printed)', { timeout: 60 * 60_000 }, async () => {
    await inventoryAtScale(2_000_000, (m) => process.stdout.write(`# ${m}\n`));
  });
});
