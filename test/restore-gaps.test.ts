// glacier-restore: a link another user plants at an archive's NAME.partial (or NAME.partial.json) takes the name
// as a file at NAME would: the archive is restored under its ~HASH name, the link and its target untouched.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shortHash } from '../src/core/archive-name.js';
import { run, show, start } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

type Rec = Record<string, any>;
type LogEntry = { op: string; jobId?: string };
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const archivesOf = (recs: Rec[]) => recs.filter((r) => !r.summary);

describe('glacier-restore: a link planted at NAME.partial', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;

  useLocal('glacier-restore-gaps-', (l, w) => {
    [local, work] = [l, w];
    env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  });

  async function upload(v: string, description: string): Promise<{ id: string; body: Buffer; line: string }> {
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
    const body = randomBytes(3000);
    const r = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: v, body, archiveDescription: description }));
    const rec = { ArchiveId: r.archiveId, ArchiveDescription: description, CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: r.checksum };
    return { id: r.archiveId!, body, line: JSON.stringify(rec) };
  }
  const log = () => local.admin<LogEntry[]>('GET', 'requests');

  function plant(dir: string, at: string): string {
    const target = join(work, `elsewhere-${at}`);
    writeFileSync(target, 'not yours\n');
    symlinkSync(target, join(dir, at));
    return target;
  }
  function untouched(dir: string, at: string, target: string): void {
    assert.ok(lstatSync(join(dir, at)).isSymbolicLink());
    assert.equal(readFileSync(target, 'utf8'), 'not yours\n');
  }

  for (const at of ['tt.txt.partial', 'tt.txt.partial.json']) {
    it(`planted at ${at} before the run: exit 0, the bytes at tt~HASH.txt, the link and its target untouched`, { timeout: within(60_000) }, async () => {
      const v = `gaps-before-${at.length}`;
      const a = await upload(v, 'tt.txt');
      const dir = join(work, `out-${v}`);
      mkdirSync(dir);
      const target = plant(dir, at);
      const r = await run('glacier-restore', ['-v', v, '--to', dir, '--state', join(work, `${v}.state`), '--interval', '200ms'], { env, input: `${a.line}\n` });
      assert.equal(r.code, 0, show(r));
      const alt = `tt~${shortHash(a.id)}.txt`;
      assert.equal(archivesOf(records(r.stdout))[0].name, alt, show(r));
      assert.deepEqual(readFileSync(join(dir, alt)), a.body);
      assert.ok(!existsSync(join(dir, 'tt.txt')));
      untouched(dir, at, target);
    });
  }

  it('planted at tt.txt.partial after the name was recorded, before the download: exit 0, the bytes at tt~HASH.txt, a rerun done', { timeout: within(90_000) }, async () => {
    const v = 'gaps-mid';
    const a = await upload(v, 'tt.txt');
    const dir = join(work, `out-${v}`);
    const state = join(work, `${v}.state`);
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    await local.admin('DELETE', 'counters');
    try {
      const s = start('glacier-restore', ['-v', v, '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${a.line}\n` });
      const entry = await until(async () => (await log()).find((e) => e.op === 'InitiateJob' && e.jobId), 'the job to start', within(30_000));
      assert.match(readFileSync(state, 'utf8'), /"t":"name"/);
      mkdirSync(dir, { recursive: true });
      const target = plant(dir, 'tt.txt.partial');
      await local.admin('POST', `jobs/${entry.jobId}/complete`);
      const r = await s.done;
      assert.equal(r.code, 0, show(r));
      const alt = `tt~${shortHash(a.id)}.txt`;
      const rec = archivesOf(records(r.stdout))[0];
      assert.equal(rec.status, 'done', show(r));
      assert.equal(rec.name, alt);
      assert.deepEqual(readFileSync(join(dir, alt)), a.body);
      untouched(dir, 'tt.txt.partial', target);
      const again = await run('glacier-restore', ['-v', v, '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${a.line}\n` });
      assert.equal(again.code, 0, show(again));
      assert.equal(archivesOf(records(again.stdout))[0].name, alt, show(again));
    } finally {
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  });
});
