// A run whose every InitiateJob is refused for a reason no wait mends (the credentials) ends with exit 1 and one
// line, instead of retrying the same archive for ever while it holds the state's lock (a cron job never ending).
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { run, show } from './helpers/bins.js';
import { startLocal } from './helpers/local.js';
import { within } from './helpers/time.js';

test('refused credentials end a restore with exit 1 and one line naming them', { timeout: within(120_000) }, async () => {
  const local = await startLocal(['--memory', '--job-delay', '0']);
  const work = mkdtempSync(join(tmpdir(), 'glacier-restore-fatal-'));
  try {
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'v' }));
    const body = randomBytes(100);
    const { archiveId, checksum } = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'v', body, archiveDescription: 'a.bin' }));
    const line = JSON.stringify({ ArchiveId: archiveId, ArchiveDescription: 'a.bin', CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: checksum });
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state'), AWS_SECRET_ACCESS_KEY: 'wrong/secret/wrong/secret/wrong/secret/00', AWS_MAX_ATTEMPTS: '2' };
    const r = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--interval', '1s'], { env, input: `${line}\n` });
    assert.equal(r.code, 1, show(r));
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('glacier-restore: ') && !l.startsWith('glacier-restore: warning'));
    assert.equal(errors.length, 1, show(r));
    assert.match(errors[0], /refused the credentials/);
    assert.doesNotMatch(r.stderr, /trying again in/);
    assert.doesNotMatch(r.stderr + r.stdout, /wrong\/secret/);
  } finally {
    await local.stop();
    rmSync(work, { recursive: true, force: true });
  }
});
