// Every shell block of README.md, run as written (as one bash script each) against a real glacier-local, in a
// scratch HOME, with the ids the text names ($ARCHIVE_ID, $JOB_ID, ...) made for it first. A block added to
// the README without a runner here fails the first test, so no documented pipe goes untried.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, InitiateJobCommand, InitiateMultipartUploadCommand, UploadArchiveCommand, UploadMultipartPartCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { BIN, ROOT, startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

const A = { accountId: '-' };
/** The first line of the README's walkthrough: run in a shell that has none of the test's AWS settings. */
const WALKTHROUGH = '# A Glacier on this machine.';

function blocks(): string[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  return [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

let local: Local;
let g: GlacierClient;
let home: string;
let fakes: string;
/** The bytes of the archive the detached (setsid -f) restore block restores. */
let detached: Buffer | undefined;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...local.env, HOME: home, XDG_STATE_HOME: join(home, '.state'), PATH: `${fakes}:${BIN('').replace(/\/$/, '')}:${process.env.PATH}`, ...extra };
}

function bash(script: string, e: NodeJS.ProcessEnv, timeoutMs = 60_000, keepGroup = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: home, env: e, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => process.kill(-p.pid!, 'SIGKILL'), timeoutMs);
    let code: number | null = null;
    // bash's exit, then whatever the block left running in the background (it holds the pipes open): stopped,
    // so that 'close' comes now rather than at the timeout.
    p.on('exit', (c) => {
      code = c;
      // (Not for a block that detaches a run with setsid -f: its child may not have left the group yet.)
      if (keepGroup) return;
      try {
        process.kill(-p.pid!, 'SIGTERM');
      } catch {
        // none left
      }
    });
    p.on('close', () => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function archive(data: Buffer): Promise<string> {
  const r = await g.send(new UploadArchiveCommand({ ...A, vaultName: 'backups', body: data, checksum: treeHash(data) }));
  return r.archiveId!;
}

/** A glacier-put of big.img killed after two parts landed: a journal and an open upload are left. */
async function interruptedUpload(): Promise<string> {
  await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=400' });
  await local.admin('DELETE', 'counters');
  const p = spawn(process.execPath, [BIN('glacier-put'), '-v', 'backups', '-p', '1M', '-c', '1', '-q', 'big.img'], { cwd: home, env: env(), stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    const log = await local.admin<{ op: string; status: number; uploadId?: string }[]>('GET', 'requests');
    const done = log.filter((r) => r.op === 'UploadMultipartPart' && r.status === 204);
    if (done.length >= 2) {
      p.kill('SIGKILL');
      await new Promise((r) => p.once('exit', r));
      await local.admin('DELETE', 'faults');
      return done[0].uploadId!;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('interrupted upload: parts never landed');
}

/** What each README block needs before it runs, keyed by its first line; null: shown by another test. */
const runners: Record<string, null | { why: string } | (() => Promise<Record<string, string>>)> = {
  'pg_dump mydb | glacier-put -v backups -d "mydb nightly"': async () => ({}),
  'glacier-pack ~/photos ~/docs': async () => {
    for (const d of ['photos', 'docs', 'sites/www']) mkdirSync(join(home, d), { recursive: true });
    writeFileSync(join(home, 'photos/cat.jpg'), Buffer.alloc(50_000, 3));
    writeFileSync(join(home, 'docs/letter.txt'), 'Dear vault,\n');
    writeFileSync(join(home, 'sites/www/index.html'), '<h1>hi</h1>\n');
    writeFileSync(join(home, 'sites/www/access.log'), 'GET /\n');
    return {};
  },
  'glacier-job output -v backups -- "$JOB_ID" | tar -xJf -': async () => {
    mkdirSync(join(home, 'restore'), { recursive: true });
    const put = spawnSync('bash', ['-c', 'glacier-pack ~/docs | glacier-put -v backups -q'], { cwd: home, env: env(), encoding: 'utf8' });
    const { archiveId } = JSON.parse(put.stdout) as { archiveId: string };
    const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName: 'backups', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
    return { JOB_ID: jobId! };
  },
  'glacier-put -v backups --limit-rate 5M': async () => {
    const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName: 'backups', jobParameters: { Type: 'archive-retrieval', ArchiveId: await archive(Buffer.alloc(3 * MiB, 5)) } }));
    return { JOB_ID: jobId! };
  },
  'glacier-job output -v backups "$INVENTORY_JOB_ID"': { why: 'the glacier-restore section: run by test/restore-readme.test.ts' },
  'glacier-restore -v backups': { why: 'the glacier-restore section: run by test/restore-readme.test.ts' },
  'glacier-restore --status -v backups': { why: 'the glacier-restore section: run by test/restore-readme.test.ts' },
  'HTTPS_PROXY=http://proxy.internal:3128 NO_PROXY=169.254.169.254 glacier-put -v backups big.img': { why: 'a proxy and a CA bundle of the reader\'s network: test/proxy.test.ts runs the same settings through a proxy started by the test, test/tls.test.ts the CA bundle' },
  'npm ci        # installs and builds': { why: 'run by CI itself (.ci/run: npm ci, npm test) and by test/demo.test.ts; npm link writes to the global prefix' },
  [WALKTHROUGH]: async () => ({}),
  'find ~/docs -type f -mtime -7 -print0': async () => {
    mkdirSync(join(home, 'docs'), { recursive: true });
    writeFileSync(join(home, 'docs/letter.txt'), 'Dear vault,\n');
    return {};
  },
  'tar -cf - ~/projects': async () => {
    mkdirSync(join(home, 'projects/app'), { recursive: true });
    writeFileSync(join(home, 'projects/app/main.c'), 'int main(void) { return 0; }\n');
    spawnSync('bash', ['-c', 'tar -cJf photos-2026.tar.xz projects'], { cwd: home });
    return {};
  },
  'glacier-put -v backups --resume big.img': async () => {
    writeFileSync(join(home, 'big.img'), Buffer.alloc(6 * MiB, 7));
    const older = await interruptedUpload();
    await interruptedUpload();
    return { UPLOAD_ID: older };
  },
  'pg_dump mydb | glacier-chunk | glacier-put': async () => ({}),
  'glacier-put -v backups -d "mydb $(date +%F)" -- pg_dump mydb': async () => ({}),
  'glacier-treehash backup.tar.xz': async () => {
    spawnSync('bash', ['-c', 'tar -cJf backup.tar.xz projects && cp backup.tar.xz other.tar.xz'], { cwd: home });
    return {};
  },
  'glacier-job get -v backups': async () => {
    spawnSync('bash', ['-c', 'mkdir -p restore-src && echo restored > restore-src/file.txt && tar -cJf r.tar.xz restore-src && rm -rf restore-src'], { cwd: home });
    return { ARCHIVE_ID: await archive(readFileSync(join(home, 'r.tar.xz'))) };
  },
  "glacier-ls | jq -r 'select(.NumberOfArchives > 0) | .VaultName'": async () => ({}),
  'glacier-ls -v backups -- "$UPLOAD_ID"': async () => {
    const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName: 'backups', partSize: String(MiB) }));
    const body = Buffer.alloc(MiB, 1);
    await g.send(new UploadMultipartPartCommand({ ...A, vaultName: 'backups', uploadId, body, checksum: treeHash(body), range: `bytes 0-${MiB - 1}/*` }));
    return { UPLOAD_ID: uploadId! };
  },
  'glacier-abort -v backups --all --older-than 24h': async () => ({}),
  'glacier-ls -v backups | jq -r .MultipartUploadId': async () => ({}),
  'glacier-job output -v backups --archives': async () => {
    await archive(Buffer.from('to be deleted'));
    const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName: 'backups', jobParameters: { Type: 'inventory-retrieval' } }));
    return { INVENTORY_JOB_ID: jobId! };
  },
  'glacier-vault create backups && tar -cf - ~/docs': async () => {
    mkdirSync(join(home, 'docs'), { recursive: true });
    writeFileSync(join(home, 'docs/letter.txt'), 'Dear vault,\n');
    return {};
  },
  'glacier-vault describe backups | jq .NumberOfArchives': async () => ({}),
  'glacier-ls -v backups --archives ': async () => {
    const put = spawnSync(process.execPath, [BIN('glacier-put'), '-v', 'backups', '-d', 'mydb-nightly'], { env: env(), input: 'a dump\n' });
    assert.equal(put.status, 0, String(put.stderr));
    return {};
  },
  'glacier-job inventory -v backups | jq -r .JobId': async () => {
    const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName: 'backups', jobParameters: { Type: 'inventory-retrieval' } }));
    return { JOB_ID: jobId! };
  },
  '# m h dom mon dow': { why: 'a crontab line: its pipe (glacier-ls --archives --older-than --name | glacier-rm -) is run by test/catalogue.test.ts' },
  'setsid -f glacier-restore -v backups --to ~/restored': async () => {
    // One archive on stdin; the detached run's end is awaited below, from its log.
    const body = randomBytes(300_000);
    const id = await archive(body);
    writeFileSync(join(home, 'archives.jsonl'), `${JSON.stringify({ ArchiveId: id, ArchiveDescription: 'detached.bin', CreationDate: '2026-01-01T00:00:00Z', Size: body.length, SHA256TreeHash: treeHash(body) })}\n`);
    detached = body;
    return {};
  },
  'glacier-local --data /tmp/vaults > /tmp/glacier-local.url &': async () => ({}),
  'glacier-local --data /tmp/vaults --job-delay 0': { why: 'a server that runs until stopped: every test starts it this way (test/helpers/local.ts), and the next block runs it' },
};

function runnerFor(block: string) {
  const first = block.split('\n')[0].trim();
  const key = Object.keys(runners).find((k) => first.startsWith(k));
  return key === undefined ? undefined : runners[key];
}

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'backups' }));
  home = mkdtempSync(join(tmpdir(), 'gp-readme-'));
  fakes = join(home, '.fakes');
  mkdirSync(fakes);
  // No PostgreSQL server here: pg_dump prints a fixed dump.
  writeFileSync(join(fakes, 'pg_dump'), '#!/bin/sh\nprintf -- "-- PostgreSQL database dump of %s\\nCREATE TABLE t (id int);\\n" "$1"\nhead -c 3000000 /dev/zero | tr "\\0" "x"\n');
  chmodSync(join(fakes, 'pg_dump'), 0o755);
});

after(async () => {
  await local?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
  rmSync('/tmp/vaults', { recursive: true, force: true });
  rmSync('/tmp/glacier-local.url', { force: true });
});

test('every shell block of the README has a runner here', () => {
  const missing = blocks().filter((b) => runnerFor(b) === undefined);
  assert.deepEqual(missing.map((b) => b.split('\n')[0]), []);
});

for (const [i, block] of blocks().entries()) {
  const first = block.split('\n')[0].trim();
  const r = runnerFor(block);
  if (r === undefined) continue;
  if (r === null || !(r instanceof Function)) {
    test(`README block ${i + 1}: ${first} (${r ? r.why : 'elsewhere'})`, { skip: r ? r.why : true }, () => {});
    continue;
  }
  test(`README block ${i + 1}: ${first}`, { timeout: within(120_000) }, async (t) => {
    if (first.startsWith('glacier-local') && spawnSync('bash', ['-c', 'command -v aws']).status !== 0) return t.skip('no aws CLI on PATH');
    if (block.includes('| jq') && spawnSync('bash', ['-c', 'command -v jq']).status !== 0) return t.skip('no jq on PATH');
    const extra = await r();
    rmSync('/tmp/vaults', { recursive: true, force: true });
    rmSync('/tmp/glacier-local.url', { force: true });
    // The walkthrough starts from a fresh shell: no AWS variable of the test's, a HOME of its own, and the
    // binaries on PATH as npm link puts them.
    const walk = first.startsWith(WALKTHROUGH);
    const walkHome = join(home, 'walkthrough-home');
    if (walk) mkdirSync(walkHome, { recursive: true });
    const e = walk ? { HOME: walkHome, PATH: `${BIN('').replace(/\/$/, '')}:${process.env.PATH}`, LANG: 'C.UTF-8' } : env(extra);
    const res = await bash(block, e, undefined, first.startsWith('setsid -f'));
    assert.equal(res.code, 0, `exit ${res.code}\n--- stderr:\n${res.stderr}\n--- stdout:\n${res.stdout.slice(0, 2000)}`);
    if (walk) {
      assert.match(res.stdout, /^restored the same bytes$/m);
      assert.match(res.stdout, /"deleted":true/);
    }
    if (first.startsWith('glacier-job get')) assert.ok(existsSync(join(home, 'restore-src/file.txt')), 'the archive was unpacked');
    if (first.startsWith('glacier-job output -v backups -- "$JOB_ID" | tar')) {
      const member = join(home.slice(1), 'docs/letter.txt');
      assert.equal(readFileSync(join(home, member), 'utf8'), 'Dear vault,\n', 'unpacked here');
      assert.equal(readFileSync(join(home, 'restore', member), 'utf8'), 'Dear vault,\n', 'one folder unpacked into ~/restore');
    }
    if (first.startsWith('setsid -f')) {
      // The run goes on in its own session after the block's shell is gone: it ends with its summary in the log.
      const log = join(home, 'restore.log');
      // Whole lines only (the run may be writing the last one); on a timeout, the log says why.
      const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(0, -1) : []);
      const summary = await until(() => lines().find((l) => l.startsWith('{"summary":true')), 'the detached restore to finish', 60_000).catch((e: Error) => {
        throw new Error(`${e.message}; restore.log:\n${lines().join('\n')}`);
      });
      assert.equal(JSON.parse(summary).done, 1, readFileSync(log, 'utf8'));
      assert.ok(readFileSync(join(home, 'restored/detached.bin')).equals(detached!), 'restored exactly');
    }
    if (first.startsWith('glacier-put -v backups --resume')) assert.equal(res.stdout.trim().split('\n').filter((l) => JSON.parse(l).archiveId).length, 2, 'both uploads completed');
  });
}
