// glacier-restore --exec stopped while its command ignores SIGTERM: the command gets SIGKILL after the grace period
// (EXEC_GRACE_MS), and glacier-restore ends with 143 within that period plus 5 s.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { EXEC_GRACE_MS } from '../src/restore/sinks.js';
import { sh, show, start } from './helpers/bins.js';
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

  // As PID 1 of a container (docker run without --init, a Kubernetes pod): a command's process that ends is left a
  // zombie nobody reaps; before, it counted as alive and every SIGTERM waited the whole grace period.
  const unshare = process.getuid?.() === 0 && spawnSync('unshare', ['-pf', '--kill-child', 'true']).status === 0 && existsSync(`/proc/${process.pid}/task/${process.pid}/children`);
  it('as PID 1 of a PID namespace: a command that ends on SIGTERM ends the run at once, its zombies not waited for', { timeout: within(120_000), skip: unshare ? false : 'needs root, unshare -p and /proc/PID/task/PID/children' }, async () => {
    local ??= await startLocal(['--memory', '--job-delay', '0']);
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state-ns') };
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'pid1' }));
    const body = randomBytes(3 * 1024 * 1024);
    const a = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'pid1', body, archiveDescription: 'x.bin' }));
    const line = JSON.stringify({ ArchiveId: a.archiveId, ArchiveDescription: 'x.bin', Size: body.length, SHA256TreeHash: a.checksum, CreationDate: new Date().toISOString() });
    // sh runs cat as its child: SIGTERM ends both, and cat, orphaned, is left to PID 1 (glacier-restore) to reap.
    const cmd = `echo command-started >&2; cat > /dev/null; true`;
    const s = sh('exec unshare -pf --kill-child "$NODE" "$BIN/glacier-restore" "$@"', ['-v', 'pid1', '--exec', cmd, '--limit-rate', '8K', '--interval', '200ms'], { env, input: `${line}\n` });
    await until(() => s.stderr().includes('command-started'), 'the command to start', 60_000);
    // glacier-restore is unshare's child (PID 1 inside the namespace).
    const pid = Number(readFileSync(`/proc/${s.proc.pid}/task/${s.proc.pid}/children`, 'utf8').trim().split(' ')[0]);
    assert.ok(pid > 0);
    const t0 = Date.now();
    process.kill(pid, 'SIGTERM');
    const r = await s.done;
    const ms = Date.now() - t0;
    assert.equal(r.code, 143, show(r));
    assert.match(r.stderr, /glacier-restore: interrupted by SIGTERM/);
    // Not the grace period (10 s), which it took before, whatever the load.
    assert.ok(ms < EXEC_GRACE_MS - 2000, `ended ${ms} ms after SIGTERM (grace ${EXEC_GRACE_MS} ms)`);
  });
});
