// glacier-restore and an input line whose Size is wrong (0, or another positive byte count) for an archive whose
// retrieval job already succeeded in the vault: the job already paid for is taken up, never a second one started,
// and the line is refused (status integrity, exit 3) by that job's own description; a corrected line then takes up
// the same job and restores the archive.
import { CreateVaultCommand, InitiateJobCommand, ListJobsCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

type Rec = Record<string, any>;
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('glacier-restore: a line of the wrong Size for an archive whose job is paid for', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;
  useLocal('glacier-restore-wrong-size-', (l, w) => {
    [local, work] = [l, w];
    env = { ...local.env, XDG_STATE_HOME: join(work, 'xdg') };
  });

  /** The vault's retrieval jobs by archive id (ListJobs, every page): how many were paid for each archive. */
  async function jobsPerArchive(vault: string): Promise<Map<string, number>> {
    const n = new Map<string, number>();
    let marker: string | undefined;
    do {
      const r = await local.client().send(new ListJobsCommand({ accountId: '-', vaultName: vault, marker }));
      for (const j of r.JobList ?? []) if (j.Action === 'ArchiveRetrieval') n.set(j.ArchiveId!, (n.get(j.ArchiveId!) ?? 0) + 1);
      marker = r.Marker ?? undefined;
    } while (marker);
    return n;
  }

  for (const c of [
    { what: 'Size 0', size: 1000, wrong: 0 },
    { what: 'a wrong positive Size', size: 2_500_000, wrong: 2_400_000 },
  ]) {
    it(`${c.what}: the succeeded job is taken up (no second job), the line refused with exit 3; the corrected line takes up that job`, { timeout: within(120_000) }, async () => {
      const vault = `wrong-${c.wrong}`;
      await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
      const body = randomBytes(c.size);
      const up = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body, archiveDescription: 'paid.bin' }));
      const rec = { ArchiveId: up.archiveId, ArchiveDescription: 'paid.bin', CreationDate: new Date().toISOString(), Size: c.size, SHA256TreeHash: up.checksum };
      const id = up.archiveId!;

      // A first run restores the archive: its job succeeded and stays in the vault's listing.
      const first = await run('glacier-restore', ['-v', vault, '--to', join(work, `${vault}-a`), '--state', join(work, `${vault}-a.jsonl`), '--interval', '200ms'], { env, input: `${JSON.stringify(rec)}\n` });
      assert.equal(first.code, 0, show(first));
      assert.deepEqual([...(await jobsPerArchive(vault))], [[id, 1]]);

      // The same archive with the wrong Size, to another folder with another state (the reviewer's reproduction).
      const dir = join(work, `${vault}-b`);
      const state = join(work, `${vault}-b.jsonl`);
      const wrong = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${JSON.stringify({ ...rec, Size: c.wrong })}\n` });
      assert.equal(wrong.code, 3, show(wrong));
      const recs = records(wrong.stdout);
      const line = recs.find((r) => !r.summary)!;
      assert.equal(line.status, 'integrity', show(wrong));
      assert.match(line.error, new RegExp(`the input says ${c.wrong} bytes, the vault's job .* says ${c.size}`));
      const summary = recs.find((r) => r.summary)!;
      assert.equal(summary.jobsStarted, 0, show(wrong));
      assert.equal(summary.jobsAdopted, 1, show(wrong));
      assert.deepEqual([...(await jobsPerArchive(vault))], [[id, 1]], 'still one retrieval job for the archive');
      assert.ok(!existsSync(join(dir, 'paid.bin')), 'nothing written for the refused line');
      assert.match(wrong.stderr, /failed verification \(status "integrity" on stdout\)/);

      // The same wrong line again: refused from the state, no job.
      const again = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${JSON.stringify({ ...rec, Size: c.wrong })}\n` });
      assert.equal(again.code, 3, show(again));
      assert.deepEqual([...(await jobsPerArchive(vault))], [[id, 1]]);

      // The corrected line takes up the job already paid for and restores the archive.
      const right = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${JSON.stringify(rec)}\n` });
      assert.equal(right.code, 0, show(right));
      const s2 = records(right.stdout).find((r) => r.summary)!;
      assert.equal(s2.jobsStarted, 0, show(right));
      assert.equal(s2.jobsAdopted, 1, show(right));
      assert.ok(readFileSync(join(dir, 'paid.bin')).equals(body), 'the archive restored whole');
      assert.deepEqual([...(await jobsPerArchive(vault))], [[id, 1]], 'one retrieval job for the archive, in all');
    });
  }

  it('Size 0 for an archive whose job is still in progress: that job taken up and the line refused at once, no second job', { timeout: within(60_000) }, async () => {
    const vault = 'wrong-in-progress';
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
    const body = randomBytes(1000);
    const up = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body, archiveDescription: 'slow.bin' }));
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    try {
      await local.client().send(new InitiateJobCommand({ accountId: '-', vaultName: vault, jobParameters: { Type: 'archive-retrieval', ArchiveId: up.archiveId, Tier: 'Bulk' } }));
      const rec = { ArchiveId: up.archiveId, ArchiveDescription: 'slow.bin', CreationDate: new Date().toISOString(), Size: 0, SHA256TreeHash: up.checksum };
      const r = await run('glacier-restore', ['-v', vault, '--to', join(work, 'in-progress'), '--state', join(work, 'in-progress.jsonl'), '--interval', '200ms'], { env, input: `${JSON.stringify(rec)}\n` });
      assert.equal(r.code, 3, show(r));
      const summary = records(r.stdout).find((x) => x.summary)!;
      assert.equal(summary.jobsStarted, 0, show(r));
      assert.equal(summary.jobsAdopted, 1, show(r));
      assert.equal(summary.integrity, 1, show(r));
      assert.deepEqual([...(await jobsPerArchive(vault))], [[up.archiveId, 1]], 'one retrieval job for the archive');
    } finally {
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  });
});
