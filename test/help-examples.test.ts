// Every example in every binary's --help runs as written, against a real glacier-local (and moto for S3): the
// examples are taken from the rendered --help texts (dist/help/NAME.txt, the binaries' own output), their
// placeholders (ARCHIVE_ID, JOB_ID, JOB) given real ids, and run by bash with pipefail in a sandbox. Only what
// lies outside the toolkit is provided: HOME with ~/docs and ~/photos, the system folders the examples name
// (/srv, /var/spool, /data, /tmp) under the sandbox, and stand-ins for pg_dump (a dump on stdout), ssh (runs the
// remote command here, through a shell, as sshd does) and gpg -d (passes its input through).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { CreateVaultCommand, InitiateJobCommand, InitiateMultipartUploadCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { run, show, type Ran } from './helpers/bins.js';
import { BIN, ROOT, startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

let local: Local;
let g: GlacierClient;
let moto: ChildProcess | undefined;
let sb: string;
let env: NodeJS.ProcessEnv;
const ids: Record<string, string> = {};

/** Each binary's examples: the indented lines under "Examples:" (glacier-local's "Example (...):" block is one script). */
function examples(): { bin: string; script: string }[] {
  const out: { bin: string; script: string }[] = [];
  for (const f of readdirSync(join(ROOT, 'dist', 'help')).sort()) {
    const bin = f.replace(/\.txt$/, '');
    const lines = readFileSync(join(ROOT, 'dist', 'help', f), 'utf8').split('\n');
    const at = lines.findIndex((l) => /^Examples?\b.*:$/.test(l));
    if (at < 0) continue;
    const block: string[] = [];
    for (const l of lines.slice(at + 1)) {
      if (!l.startsWith('  ')) break;
      block.push(l.slice(2));
    }
    if (bin === 'glacier-local') out.push({ bin, script: block.join('\n') });
    else for (const l of block) out.push({ bin, script: l });
  }
  return out;
}

/** Runs `script` with bash -o pipefail in the sandbox's work folder (a failing stage fails the example). */
function bash(script: string, e: NodeJS.ProcessEnv): Promise<Ran> {
  const t0 = Date.now();
  const p = spawn('bash', ['-o', 'pipefail', '-c', script], { cwd: join(sb, 'work'), env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  p.stdout.on('data', (d: Buffer) => out.push(d));
  p.stderr.on('data', (d: Buffer) => (err += d));
  return new Promise((resolve, reject) => {
    p.once('error', reject);
    p.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 }));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** The fixtures the examples act on are made through the SDK: a binary started for each would only cost time. */
async function upload(vaultName: string, archiveDescription: string, body: string): Promise<string> {
  return (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName, archiveDescription, body }))).archiveId!;
}

async function initiate(vaultName: string, jobParameters: { Type: string; ArchiveId?: string; InventoryRetrievalParameters?: { StartDate: string } }): Promise<string> {
  return (await g.send(new InitiateJobCommand({ accountId: '-', vaultName, jobParameters }))).jobId!;
}

async function json(bin: string, args: string[], input?: string | Buffer): Promise<Record<string, string>> {
  const r = await run(bin, args, { env, input });
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout.toString().trim().split('\n')[0]) as Record<string, string>;
}

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  sb = mkdtempSync(join(tmpdir(), 'gp-help-examples-'));
  const home = join(sb, 'home');
  for (const d of ['home/docs/letters', 'home/photos/2026', 'srv/www/logs', 'var/spool', 'data', 'tmp', 'work', 'stubs']) mkdirSync(join(sb, d), { recursive: true });
  writeFileSync(join(home, 'docs', 'letters', 'a.txt'), 'a letter\n');
  writeFileSync(join(home, 'photos', '2026', 'cat.jpg'), randomBytes(20_000));
  writeFileSync(join(sb, 'srv', 'www', 'index.html'), '<p>hi</p>\n');
  writeFileSync(join(sb, 'srv', 'www', 'logs', 'access.log'), 'GET /\n');
  writeFileSync(join(sb, 'work', 'photos-2026.tar.xz'), randomBytes(50_000));
  writeFileSync(join(sb, 'work', 'backup.tar.xz'), randomBytes(30_000));
  writeFileSync(join(sb, 'work', 'big.img'), randomBytes(3 << 20));
  const stub = (name: string, body: string) => {
    writeFileSync(join(sb, 'stubs', name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(sb, 'stubs', name), 0o755);
  };
  stub('pg_dump', `printf -- '-- PostgreSQL database dump of %s\\n' "$1"; head -c 200000 /dev/urandom`);
  stub('ssh', 'shift; exec sh -c "$*"');
  stub('gpg', '[ "$1" = -d ] || exit 2; exec cat');
  const motoPort = await freePort();
  moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(motoPort)], { stdio: 'ignore' });
  const s3endpoint = `http://127.0.0.1:${motoPort}`;
  env = {
    ...local.env,
    HOME: home,
    XDG_STATE_HOME: join(sb, 'state'),
    PATH: `${join(sb, 'stubs')}:${BIN('').replace(/\/$/, '')}:${process.env.PATH}`,
    AWS_ENDPOINT_URL_S3: s3endpoint,
    GLACIER_TEST_SANDBOX: sb,
  };
  for (const v of ['backups', 'photos']) await g.send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
  // backups: a packed folder (what glacier-job get | tar -xJf - unpacks), and spares for glacier-rm.
  const packed = await run('glacier-pack', ['-C', home, 'docs'], { env });
  assert.equal(packed.code, 0, show(packed));
  ids.archive = (await json('glacier-put', ['-v', 'backups', '-d', 'docs'], packed.stdout)).archiveId;
  for (const k of ['spare1', 'spare2', 'spare3']) ids[k] = await upload('backups', k, k);
  // photos: a dozen archives named with folders (mt-aws-glacier, FastGlacier and the like keep paths), so that
  // --shard 1/3 takes some of them.
  for (let i = 0; i < 12; i++) await upload('photos', `albums/2026/img-${i}.jpg`, `photo ${i}`);
  ids.retrieval = await initiate('backups', { Type: 'archive-retrieval', ArchiveId: ids.archive });
  ids.inventoryBackups = await initiate('backups', { Type: 'inventory-retrieval' });
  ids.inventoryPhotos = await initiate('photos', { Type: 'inventory-retrieval' });
  // $INVENTORY_JOB: an inventory of backups that lists only two archives made for it (its --start-date is after
  // every other archive), since glacier-rm's example deletes whatever it lists.
  const since = new Date(Date.now() + 1000).toISOString();
  await until(() => Date.now() > Date.parse(since) + 5, 'the clock to pass the inventory start date', 5_000);
  for (const k of ['listed1', 'listed2']) ids[k] = await upload('backups', k, k);
  ids.inventoryListed = await initiate('backups', { Type: 'inventory-retrieval', InventoryRetrievalParameters: { StartDate: since } });
  const inv = await run('glacier-job', ['output', '-v', 'photos', '--wait', '--interval', '1s', '--', ids.inventoryPhotos], { env });
  assert.equal(inv.code, 0, show(inv));
  writeFileSync(join(sb, 'work', 'inv.json'), inv.stdout);
  const now = new Date().toISOString();
  // inventory.json: an inventory of backups as Glacier writes it, listing the two spares (glacier-rm's examples
  // delete what it lists; glacier-ls --inventory reconciles with it).
  const spare = (k: string) => ({ ArchiveId: ids[k], ArchiveDescription: k, CreationDate: now, Size: Buffer.byteLength(k), SHA256TreeHash: createHash('sha256').update(k).digest('hex') });
  writeFileSync(join(sb, 'work', 'inventory.json'), JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:123456789012:vaults/backups', InventoryDate: now, ArchiveList: ['spare1', 'spare2'].map(spare) }));
  for (let i = 0; i < 100; i++) {
    if (await fetch(s3endpoint).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  await new S3Client({ endpoint: s3endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(new CreateBucketCommand({ Bucket: 'bucket' }));
});
after(async () => {
  moto?.kill('SIGTERM');
  await local?.stop();
  if (sb) rmSync(sb, { recursive: true, force: true });
});

/** The example with its placeholders given ids, and the system folders it names moved into the sandbox. */
function concrete(script: string): string {
  const vault = /-v (\w+)/.exec(script)?.[1] ?? 'backups';
  return script
    .replace(/(?<![$\w])ARCHIVE_ID\b/g, ids.archive)
    .replace(/(?<![$\w])JOB_ID\b/g, / --archives\b/.test(script) ? (vault === 'photos' ? ids.inventoryPhotos : ids.inventoryBackups) : ids.retrieval)
    .replace(/(?<![$\w])JOB\b/g, ids.retrieval)
    .replace(/(?<=[\s'"(])\/(srv|var\/spool|data|tmp)\b/g, `${sb}/$1`);
}

describe('every --help example runs as written', () => {
  for (const { bin, script } of examples()) {
    it(`${bin}: ${script.split('\n')[0]}`, { timeout: within(180_000) }, async () => {
      const extra: NodeJS.ProcessEnv = { ARCHIVE_ID: ids.spare3, INVENTORY_JOB: ids.inventoryListed };
      if (/UPLOAD_ID|MultipartUploadId/.test(script)) {
        extra.UPLOAD_ID = (await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'backups', partSize: String(1 << 20) }))).uploadId!;
      }
      const r = await bash(concrete(script), { ...env, ...extra });
      assert.equal(r.code, 0, `${concrete(script)}\n${show(r)}`);
    });
  }

  it('the examples that move a name with folders (glacier-restore --exec) wrote every selected archive', () => {
    const written = readdirSync(join(sb, 'data'), { recursive: true }).map(String).filter((p) => p.endsWith('.jpg'));
    assert.ok(written.length > 0, 'no archive of shard 1/3 was written under /data');
    assert.ok(written.every((p) => p.startsWith('albums/2026/')), written.join(' '));
  });
});
