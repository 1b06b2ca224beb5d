// The glacier-restore section of the README, every shell block run as written (bash -e -o pipefail) against a
// real glacier-local and a real S3-compatible server (moto), and examples/move-vault-to-s3.sh run end to end.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateVaultCommand, InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BIN, ROOT, startLocal, type Local } from './helpers/local.js';

const DESCRIPTIONS = ['docs/a.txt', 'docs/b.txt', 'photos/c.jpg', `mt2 ${Buffer.from(JSON.stringify({ filename: 'docs/deep/d.txt', mtime: '20200101T000000Z' })).toString('base64url')}`, 'e.bin', 'same.txt', 'same.txt'];

let local: Local;
let moto: ChildProcess;
let s3: S3Client;
let home: string;
let env: NodeJS.ProcessEnv;
const data = new Map<string, Buffer>(); // archive id -> bytes

function section(): string[] {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = text.indexOf('## glacier-restore');
  const body = text.slice(start, text.indexOf('\n## ', start + 1));
  return [...body.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
}

function bash(script: string, args: string[] = [], extra: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn('bash', ['-e', '-o', 'pipefail', '-c', script, 'bash', ...args], { cwd: home, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  const port = await new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
  moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await fetch(endpoint).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 200));
  s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await s3.send(new CreateBucketCommand({ Bucket: 'my-bucket' }));
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'backups' }));
  for (const d of DESCRIPTIONS) {
    const body = randomBytes(1 + Math.floor(Math.random() * 200_000));
    data.set((await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'backups', body, archiveDescription: d }))).archiveId!, body);
  }
  const { jobId } = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'backups', jobParameters: { Type: 'inventory-retrieval' } }));
  home = mkdtempSync(join(tmpdir(), 'restore-readme-'));
  env = { ...local.env, HOME: home, XDG_STATE_HOME: join(home, '.state'), AWS_ENDPOINT_URL_S3: endpoint, INVENTORY_JOB_ID: jobId!, PATH: `${BIN('').replace(/\/$/, '')}:${process.env.PATH}` };
});

after(async () => {
  moto?.kill('SIGTERM');
  await local?.stop();
  if (home) rmSync(home, { recursive: true, force: true });
});

describe('README: glacier-restore', () => {
  it('has the six pipes: a folder, S3, jq and a command, several hosts, the status, the cost', () => {
    const b = section();
    assert.equal(b.length, 6);
    assert.match(b[0], /--to ~\/restored/);
    assert.match(b[1], /--to s3:\/\//);
    assert.match(b[2], /jq[\s\S]*--exec/);
    assert.match(b[3], /--shard/);
    assert.match(b[4], /--status/);
    assert.match(b[5], /--dry-run[\s\S]*jq \.cost/);
  });

  it('block 1: the plan, then every archive to ~/restored', async () => {
    const r = await bash(section()[0]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines[0].plan, true);
    assert.equal(lines[0].archives, DESCRIPTIONS.length);
    const recs = lines.slice(1, -1);
    assert.equal(recs.length, DESCRIPTIONS.length);
    for (const rec of recs) assert.ok(readFileSync(rec.to).equals(data.get(rec.archiveId)!), rec.name);
    assert.ok(recs.some((x) => x.to === join(home, 'restored/docs/deep/d.txt')), 'the mt2 name');
  });

  it('block 2: every archive to S3, Deep Archive, with its metadata', async () => {
    const r = await bash(section()[1]);
    assert.equal(r.code, 0, r.stderr);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).slice(0, -1);
    assert.equal(recs.length, DESCRIPTIONS.length);
    for (const rec of recs) {
      const h = await s3.send(new HeadObjectCommand({ Bucket: 'my-bucket', Key: rec.to.slice('s3://my-bucket/'.length) }));
      assert.equal(h.StorageClass, 'DEEP_ARCHIVE');
      assert.equal(h.Metadata?.['glacier-archive-id'], rec.archiveId);
      assert.equal(h.ContentLength, data.get(rec.archiveId)!.length);
    }
  });

  it('block 3: chosen with jq, handed to a command', async () => {
    const r = await bash(section()[2]);
    assert.equal(r.code, 0, r.stderr);
    // The mt2 description hides its name from jq's test(): only the plain ones are chosen.
    assert.deepEqual(readdirSync(join(home, 'docs-only')).sort(), ['a.txt', 'b.txt']);
  });

  it('block 4: three shards, each its own share', async () => {
    const r = await bash(section()[3]);
    assert.equal(r.code, 0, r.stderr);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((x) => x.archiveId);
    assert.equal(recs.length, DESCRIPTIONS.length, 'each archive in exactly one shard');
    assert.equal(new Set(recs.map((x) => x.archiveId)).size, DESCRIPTIONS.length);
  });
});

describe('README: glacier-restore, where a run stands and what it costs', () => {
  it('block 5: --status of the run to ~/restored, as a line and through jq', async () => {
    const r = await bash(section()[4]);
    assert.equal(r.code, 0, r.stderr);
    const [full, short] = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(full.vault, 'backups');
    assert.equal(full.target, join(home, 'restored'));
    assert.equal(full.done, DESCRIPTIONS.length);
    assert.deepEqual(short, { done: DESCRIPTIONS.length, jobsOutstanding: 0, eta: null });
  });

  it('block 6: the cost of moving the inventory (kept by block 4) to S3', async () => {
    const r = await bash(section()[5]);
    assert.equal(r.code, 0, r.stderr);
    const cost = JSON.parse(r.stdout);
    assert.equal(cost.currency, 'USD');
    assert.equal(cost.transfer, 0);
    assert.ok(cost.total > 0 && cost.retrieval > 0 && cost.s3Requests > 0);
  });
});

describe('examples/move-vault-to-s3.sh', () => {
  const script = join(ROOT, 'examples/move-vault-to-s3.sh');
  it('moves every archive, and a second run retrieves nothing', async () => {
    const r = await bash(`"${script}" backups s3://my-bucket/moved/`, [], { STORAGE_CLASS: 'STANDARD', INTERVAL: '1s', REPORT: 'moved.jsonl' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /every archive of backups is in s3:\/\/my-bucket\/moved\//);
    const recs = readFileSync(join(home, 'moved.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).slice(0, -1);
    for (const rec of recs) {
      const o = await s3.send(new GetObjectCommand({ Bucket: 'my-bucket', Key: rec.to.slice('s3://my-bucket/'.length) }));
      assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(data.get(rec.archiveId)!), rec.name);
    }
    await local.admin('DELETE', 'counters');
    const again = await bash(`"${script}" backups s3://my-bucket/moved/`, [], { STORAGE_CLASS: 'STANDARD', INTERVAL: '1s', REPORT: 'moved.jsonl' });
    assert.equal(again.code, 0, again.stderr);
    const c = await local.counters();
    assert.equal(c.InitiateJob ?? 0, 0, 'no job: the inventory kept next to the state is used again');
    assert.equal(c.GetJobOutput ?? 0, 0);
  });
  it('is an executable bash script with set -euo pipefail that finds the binaries by name', () => {
    const text = readFileSync(script, 'utf8');
    assert.match(text, /^#!\/usr\/bin\/env bash\n/);
    assert.match(text, /^set -euo pipefail$/m);
    assert.doesNotMatch(text, /bin\/glacier-|dist\//);
    assert.ok(statSync(script).mode & 0o111);
  });
  it('refuses a destination that is not S3 (exit 2)', async () => {
    const r = await bash(`"${script}" backups /tmp/x`);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /must be s3:\/\//);
  });
});
