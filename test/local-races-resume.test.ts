// Two `glacier-put --resume FILE` at once against one glacier-local --data DIR, RUNS times with random delays:
// each run that exits 0 names an archive that reads back exactly; after the runs, and after a restart, no archive
// id no client was given exists, no 5xx was answered, nothing stray is left on disk (helpers/races.ts). Apart
// from local-races.test.ts because it starts two processes per run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { CreateVaultCommand, InitiateMultipartUploadCommand } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { Journal, journalDir } from '../src/upload/journal.js';
import { REGION } from './helpers/local.js';
import { start, show } from './helpers/bins.js';
import { A, checkStore, g, jitter, local, putPart, restart, RUNS, runs, tell, told, useRaceServer } from './helpers/races.js';
import { within } from './helpers/time.js';

useRaceServer();

test('two `glacier-put --resume FILE` at once: each one that exits 0 names an archive that reads back exactly', { timeout: within(480_000) }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'resume' }));
  const work = mkdtempSync(join(tmpdir(), 'gl-resume-'));
  const exits: Record<string, number> = {};
  try {
    await runs(async (i) => {
      // An interrupted upload of FILE: its journal names it, one part of three landed.
      const file = join(work, `f${i}.bin`);
      const bytes = randomBytes(2 * MiB + 1 + Math.floor(Math.random() * 5000));
      writeFileSync(file, bytes);
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName: 'resume', partSize: String(MiB), archiveDescription: basename(file) }));
      await putPart('resume', uploadId!, 0, bytes.subarray(0, MiB));
      const state = join(work, `state${i}`);
      Journal.create(journalDir({ XDG_STATE_HOME: state }), {
        type: 'glacier-put', version: 1, vault: 'resume', accountId: '-', region: REGION, endpoint: local.endpoint, uploadId: uploadId!, partSize: MiB,
        description: basename(file), source: { kind: 'file', path: file }, created: new Date().toISOString(),
      });
      const env = { ...local.env, XDG_STATE_HOME: state };
      const go = async () => {
        await jitter();
        return start('glacier-put', ['-v', 'resume', '-p', '1M', '--resume', file], { env }).done;
      };
      const ran = await Promise.all([go(), go()]);
      for (const r of ran) {
        exits[String(r.code)] = (exits[String(r.code)] ?? 0) + 1;
        // 1: the upload was closed under it by the other; 2: the other finished first and its journal is gone.
        assert.ok(r.code === 0 || r.code === 1 || (r.code === 2 && /no journal/.test(r.stderr)), `exit 0, 1, or 2 for no journal:\n${show(r)}`);
        if (r.code === 0) {
          const out = JSON.parse(r.stdout.toString('utf8').split('\n')[0]) as { archiveId: string; checksum: string };
          assert.equal(out.checksum, treeHash(bytes));
          tell('resume', out.archiveId, bytes);
        }
      }
      assert.ok(ran.some((r) => r.code === 0), `at least one of the two completes:\n${ran.map(show).join('\n')}`);
    }, 5);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  await checkStore('two resumes');
  await restart();
  await checkStore('two resumes, after a restart');
});

test('the runs announced archives', () => {
  assert.ok(told.size >= RUNS, `${told.size} archives announced`);
});
