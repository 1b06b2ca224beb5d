// glacier-restore --exec stopped while its command ignores SIGTERM: the command gets SIGKILL after the grace period
// (EXEC_GRACE_MS), and glacier-restore ends with 143 within that period plus 5 s.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EXEC_GRACE_MS } from '../src/restore/sinks.js';
import { show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

describe('glacier-restore --exec: a command that ignores SIGTERM', () => {
  let local: Local | undefined;
  const work = mkdtempSync(join(tmpdir(), 'glacier-restore-exec-'));
  after(async () => {
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('is killed after the grace period: glacier-restore ends with 143 within it plus 5 s', { timeout: within(120_000) }, async () => {
    local = await startLocal(['--memory', '--job-delay', '0']);
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'stubborn' }));
    const body = randomBytes(3 * 1024 * 1024); // more than a pipe holds: the download waits on the command
    const a = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'stubborn', body, archiveDescription: 'x.bin' }));
    const line = JSON.stringify({ ArchiveId: a.archiveId, ArchiveDescription: 'x.bin', Size: body.length, SHA256TreeHash: a.checksum, CreationDate: new Date().toISOString() });
    // The command ignores SIGTERM and never reads its stdin.
    const cmd = `trap "" TERM; echo started-reading-nothing >&2; exec sleep 600`;
    const s = start('glacier-restore', ['-v', 'stubborn', '--exec', cmd, '--interval', '200ms'], { env, input: `${line}\n` });
    await until(() => s.stderr().includes('started-reading-nothing'), 'the command to start', 60_000);
    const t0 = Date.now();
    s.proc.kill('SIGTERM');
    const r = await s.done;
    const ms = Date.now() - t0;
    assert.equal(r.code, 143, show(r));
    assert.ok(ms <= EXEC_GRACE_MS + within(5000), `ended ${ms} ms after SIGTERM (grace ${EXEC_GRACE_MS} ms)`);
  });
});
