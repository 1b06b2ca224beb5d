// glacier-local stops at once on SIGTERM even while a `slow` fault holds requests: the held request is cut and
// not run, where the server used to wait out the fault's whole delay (a minute in several tests).
import { ListVaultsCommand } from '@aws-sdk/client-glacier';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { start } from './helpers/bins.js';
import { startLocal } from './helpers/local.js';
import { until, within } from './helpers/time.js';

test('SIGTERM while a slow fault holds a request: exit 143 at once, the held request not run', { timeout: within(60_000) }, async () => {
  const data = mkdtempSync(join(tmpdir(), 'gp-local-stop-'));
  const local = await startLocal(['--data', data, '--job-delay', '0', '--faults', 'CreateVault:slow:ms=600000']);
  let client: ReturnType<typeof start> | undefined;
  let again: Awaited<ReturnType<typeof startLocal>> | undefined;
  try {
    client = start('glacier-vault', ['create', 'held'], { env: { ...local.env, AWS_MAX_ATTEMPTS: '1' } });
    // The fault fires when the request is taken; from then on it is held for ten minutes.
    await until(async () => ((await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters')).faults.CreateVault?.slow ?? 0) > 0, 'the slow fault to hold CreateVault', within(30_000));
    const t0 = Date.now();
    const code = await local.stop();
    const ms = Date.now() - t0;
    assert.equal(code, 143);
    assert.ok(ms < within(10_000), `glacier-local took ${ms} ms to stop`);
    const r = await client.done;
    assert.equal(r.code, 1, r.stderr);
    // The held CreateVault was cut, not run: the same data, served again, has no such vault.
    again = await startLocal(['--data', data, '--job-delay', '0']);
    const vaults = await again.client().send(new ListVaultsCommand({ accountId: '-' }));
    assert.deepEqual(vaults.VaultList ?? [], []);
  } finally {
    client?.proc.kill('SIGKILL');
    await local.kill9().catch(() => {});
    await again?.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
