// glacier-local's route table: every (method, path) of the vault API matches exactly one row, so which
// operation a request reaches cannot depend on the rows' order; the 16 served operations have handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ROUTES, SERVED_OPS, route } from '../src/local/routes.js';

test('each operation of the route table is matched by exactly one row, whatever the order', () => {
  assert.equal(ROUTES.length, 32);
  assert.equal(new Set(ROUTES.map((r) => r.op)).size, ROUTES.length);
  for (const r of ROUTES) {
    const path = r.path.source.replace(/^\^/, '').replace(/\$$/, '').replaceAll('\\/', '/').replaceAll('([^/]+)', 'seg');
    const matching = ROUTES.filter((o) => o.method === r.method && o.path.test(path)).map((o) => o.op);
    assert.deepEqual(matching, [r.op], `${r.method} ${path}`);
    assert.equal(route(r.method, path)?.op, r.op);
  }
  assert.deepEqual([...SERVED_OPS].sort(), [
    'AbortMultipartUpload', 'CompleteMultipartUpload', 'CreateVault', 'DeleteArchive', 'DeleteVault', 'DescribeJob', 'DescribeVault', 'GetJobOutput',
    'InitiateJob', 'InitiateMultipartUpload', 'ListJobs', 'ListMultipartUploads', 'ListParts', 'ListVaults', 'UploadArchive', 'UploadMultipartPart',
  ]);
  assert.equal(route('GET', '/-/vaults/v/jobs/j/output/extra'), undefined);
});
