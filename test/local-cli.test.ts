// The AWS CLI (v1 from pip/pyenv, v2 from Debian's `awscli`) driven against glacier-local: upload-archive and a
// three-part multipart upload go in, an archive-retrieval job brings the bytes back whole and by range, and the
// checksums the CLI prints are Glacier tree hashes (the payloads are over 1 MiB, where tree hash ≠ SHA-256).
// If a CLI disagrees with glacier-local, glacier-local is the one to fix.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { findClis, isolatedEnv } from './helpers/aws-cli.js';
import { startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

const run = promisify(execFile);
const ACCOUNT = '123456789012'; // glacier-local's default --account-id

let local: Local;
let dir: string;
let cliEnv: NodeJS.ProcessEnv;

let clis: ReturnType<typeof findClis> = {};

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  dir = mkdtempSync(join(tmpdir(), 'gl-cli-'));
  cliEnv = isolatedEnv(local.env, dir);
  clis = findClis(cliEnv);
});

after(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Random bytes: a part or range served from the wrong offset cannot go unnoticed.
const data = (n: number): Buffer => randomBytes(n);

// The two CLIs run side by side (vaults of their own): each spends most of its time starting Python.
describe('AWS CLI against glacier-local', { concurrency: 2 }, () => {
  for (const major of [1, 2] as const) {
    it(`AWS CLI v${major}: vault, upload-archive, 3-part multipart upload, archive retrieval and ranged output`, { timeout: within(240_000) }, async (t) => {
      const cli = clis[major];
      if (!cli) {
        t.skip(`AWS CLI v${major} is not installed (v2: apt-get install -y awscli; v1: pip install awscli)`);
        return;
      }
      t.diagnostic(`${cli.bin}: ${cli.version}`);
      const vault = `cli-v${major}`;
      const work = mkdtempSync(join(dir, `v${major}-`));
      const aws = async (...args: string[]): Promise<Record<string, unknown>> => {
        try {
          const { stdout } = await run(cli.bin, ['glacier', ...args, '--account-id', '-', '--endpoint-url', local.endpoint, '--output', 'json'], {
            env: cliEnv, maxBuffer: 16 * MiB,
          });
          return stdout.trim() ? (JSON.parse(stdout) as Record<string, unknown>) : {};
        } catch (e) {
          const err = e as { stderr?: string; message: string };
          throw new Error(`aws glacier ${args[0]} failed: ${err.stderr || err.message}`);
        }
      };
      const file = (name: string, bytes: Buffer) => {
        const p = join(work, name);
        writeFileSync(p, bytes);
        return p;
      };

      assert.deepEqual(await aws('create-vault', '--vault-name', vault), { location: `/${ACCOUNT}/vaults/${vault}` });

      // upload-archive: the CLI computes the tree hash itself; glacier-local answers with its own computation.
      const single = data(MiB + 300_000);
      const up = await aws('upload-archive', '--vault-name', vault, '--archive-description', 'cli single', '--body', file('single.bin', single));
      assert.equal(up.checksum, treeHash(single));
      assert.notEqual(up.checksum, createHash('sha256').update(single).digest('hex'), 'over 1 MiB the tree hash is not the plain SHA-256');
      assert.match(String(up.archiveId), /^[A-Za-z0-9_-]{138}$/);
      assert.equal(up.location, `/${ACCOUNT}/vaults/${vault}/archives/${up.archiveId}`);

      // Three-part multipart upload, 1 MiB parts, the last one short. IDs may start with '-', hence --opt=value.
      const parts = [data(MiB), data(MiB), data(512 * 1024 + 17)];
      const whole = Buffer.concat(parts);
      const init = await aws('initiate-multipart-upload', '--vault-name', vault, '--part-size', String(MiB), '--archive-description', 'cli multipart');
      const uploadId = String(init.uploadId);
      assert.match(uploadId, /^[A-Za-z0-9_-]+$/);
      let offset = 0;
      for (const [i, part] of parts.entries()) {
        const range = `bytes ${offset}-${offset + part.length - 1}/*`;
        const r = await aws('upload-multipart-part', '--vault-name', vault, `--upload-id=${uploadId}`, '--range', range, '--body', file(`part${i}.bin`, part));
        assert.equal(r.checksum, treeHash(part), `part ${i} tree hash`);
        offset += part.length;
      }
      const done = await aws('complete-multipart-upload', '--vault-name', vault, `--upload-id=${uploadId}`, '--archive-size', String(whole.length), '--checksum', treeHash(whole));
      assert.equal(done.checksum, treeHash(whole));
      const archiveId = String(done.archiveId);
      assert.match(archiveId, /^[A-Za-z0-9_-]{138}$/);

      // Retrieval job for the multipart archive, with the job parameters as the CLI's JSON.
      const job = await aws('initiate-job', '--vault-name', vault, '--job-parameters', JSON.stringify({ Type: 'archive-retrieval', ArchiveId: archiveId, Description: 'cli job' }));
      const jobId = String(job.jobId);
      assert.equal(job.location, `/${ACCOUNT}/vaults/${vault}/jobs/${jobId}`);
      const desc = await aws('describe-job', '--vault-name', vault, `--job-id=${jobId}`);
      assert.equal(desc.StatusCode, 'Succeeded');
      assert.equal(desc.Completed, true);
      assert.equal(desc.Action, 'ArchiveRetrieval');
      assert.equal(desc.ArchiveId, archiveId);
      assert.equal(desc.ArchiveSizeInBytes, whole.length);
      assert.equal(desc.ArchiveSHA256TreeHash, treeHash(whole));
      assert.equal(desc.SHA256TreeHash, treeHash(whole));
      assert.equal(desc.RetrievalByteRange, `0-${whole.length - 1}`);
      assert.equal(desc.JobDescription, 'cli job');

      // First MiB only: 206, its own tree hash, a Content-Range over the whole output.
      const firstOut = join(work, 'first.out');
      const first = await aws('get-job-output', '--vault-name', vault, `--job-id=${jobId}`, '--range', 'bytes=0-1048575', firstOut);
      assert.equal(first.status, 206);
      assert.equal(first.contentRange, `bytes 0-1048575/${whole.length}`);
      assert.equal(first.checksum, treeHash(parts[0]));
      assert.ok(readFileSync(firstOut).equals(parts[0]), 'ranged output is the first part');

      const allOut = join(work, 'all.out');
      const all = await aws('get-job-output', '--vault-name', vault, `--job-id=${jobId}`, allOut);
      assert.equal(all.status, 200);
      assert.equal(all.checksum, treeHash(whole));
      assert.equal(all.archiveDescription, 'cli multipart');
      assert.ok(readFileSync(allOut).equals(whole), 'whole output is the uploaded archive');
    });
  }
});
