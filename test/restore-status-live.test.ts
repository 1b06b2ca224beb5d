// glacier-restore --status while one long download goes on: the run records where it stands every few seconds
// during the download too (before: only when something moved between the run's waits, so lastUpdate and the rate
// stood still for the whole of a long download).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { treeHash } from '../src/core/tree-hash.js';
import { run, show, start } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

describe('glacier-restore --status during one long download', () => {
  let local: Local;
  let work: string;
  useLocal('glacier-restore-status-live-', (l, w) => {
    [local, work] = [l, w];
  }, ['--memory', '--job-delay', '0']);

  it('lastUpdate advances and the rate counts the bytes of the archive still downloading', { timeout: within(120_000) }, async () => {
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'xdg') };
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'live' }));
    // 3 MiB at 256 KiB/s: three 1 MiB pieces, about 12 s of download.
    const body = randomBytes(3 << 20);
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'live', body, archiveDescription: 'big.bin', checksum: treeHash(body) }));
    const line = `${JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: 'big.bin', CreationDate: '2024-01-01T00:00:00Z', Size: body.length, SHA256TreeHash: r.checksum })}\n`;
    const state = join(work, 'state.jsonl');
    const p = start('glacier-restore', ['-v', 'live', '--to', join(work, 'out'), '--state', state, '--limit-rate', '256K', '--interval', '200ms'], { env, input: line });
    try {
      const status = async () => {
        const s = await run('glacier-restore', ['--status', '--state', state, '--json'], { env });
        assert.equal(s.code, 0, show(s));
        return JSON.parse(s.stdout.toString('utf8')) as { lastUpdate: string | null; done: number; downloading: number; rateBytesPerSecond: number; eta: string | null };
      };
      const first = await until(async () => {
        const s = await status().catch(() => null);
        return s && s.downloading === 1 && s.lastUpdate ? s : null;
      }, 'a record of the download going on');
      // A later record while the archive is still downloading: newer, with bytes moved this run.
      const later = await until(async () => {
        const s = await status();
        return s.done === 0 && s.lastUpdate! > first.lastUpdate! && s.rateBytesPerSecond > 0 ? s : null;
      }, 'a newer record during the same download', 20_000);
      assert.equal(later.done, 0, 'still downloading');
      assert.ok(later.rateBytesPerSecond <= 2 * 256 * 1024, `rate ${later.rateBytesPerSecond} B/s near the limit, not above it`);
      // The ETA counts the bytes already moved of the archive downloading (before: the whole archive left).
      const whole = Date.parse(later.lastUpdate!) + ((3 << 20) / later.rateBytesPerSecond) * 1000;
      assert.ok(later.eta && Date.parse(later.eta) < whole - 100, `ETA ${later.eta} sooner than the whole archive's time from ${later.lastUpdate} (${new Date(whole).toISOString()})`);
      const end = await p.done;
      assert.equal(end.code, 0, show(end));
      assert.equal((await status()).done, 1);
    } finally {
      p.proc.kill('SIGKILL');
    }
  });
});
