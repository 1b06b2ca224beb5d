// glacier-local as strict as Glacier, seen from the real SDK: inventory snapshots (--inventory snapshot), job
// expiry (--job-expiry), CompletionDate fixed when the delay ends, a numeric Content-Range total,
// Content-Length: 0 on empty replies, a 40-character test secret, the key id on stderr, --tls, and the --help
// example run as written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, CreateVaultCommand, DeleteArchiveCommand, DeleteVaultCommand, DescribeJobCommand, DescribeVaultCommand,
  GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand, ListJobsCommand, UploadArchiveCommand, UploadMultipartPartCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { bodyBytes, expectError, payload, sleep } from './helpers/conformance.js';
import { run, show } from './helpers/bins.js';
import { ACCESS_KEY_ID, BIN, ROOT, SECRET_ACCESS_KEY, startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

const A = { accountId: '-' };

async function withLocal(args: string[], fn: (local: Local, c: GlacierClient) => Promise<void>, opts: { tls?: boolean } = {}): Promise<void> {
  const local = await startLocal(args, opts);
  try {
    await fn(local, local.client());
  } finally {
    await local.stop();
  }
}

async function inventoryIds(c: GlacierClient, vaultName: string): Promise<string[]> {
  const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'inventory-retrieval' } }));
  const out = await c.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return (JSON.parse((await bodyBytes(out)).toString()) as { ArchiveList: { ArchiveId: string }[] }).ArchiveList.map((a) => a.ArchiveId).sort();
}

test('--inventory snapshot: inventories, counts and DeleteVault follow the last snapshot, not the live vault', async () => {
  await withLocal(['--memory', '--job-delay', '0', '--inventory', 'snapshot'], async (local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'snap' }));
    const a = (await c.send(new UploadArchiveCommand({ ...A, vaultName: 'snap', body: payload(1000) }))).archiveId!;
    const b = (await c.send(new UploadArchiveCommand({ ...A, vaultName: 'snap', body: payload(2000) }))).archiveId!;
    // Created after the start-up snapshot: nothing inventoried yet.
    let d = await c.send(new DescribeVaultCommand({ ...A, vaultName: 'snap' }));
    assert.deepEqual([d.NumberOfArchives, d.SizeInBytes, d.LastInventoryDate], [0, 0, undefined]);
    assert.deepEqual(await inventoryIds(c, 'snap'), []);

    const taken = await local.admin<{ vault: string; archives: number; date: string }[]>('POST', 'snapshot');
    assert.deepEqual(taken.map((t) => [t.vault, t.archives]), [['snap', 2]]);
    d = await c.send(new DescribeVaultCommand({ ...A, vaultName: 'snap' }));
    assert.deepEqual([d.NumberOfArchives, d.SizeInBytes, d.LastInventoryDate], [2, 3000, taken[0].date]);
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'snap', jobParameters: { Type: 'inventory-retrieval' } }));
    const inv = JSON.parse((await bodyBytes(await c.send(new GetJobOutputCommand({ ...A, vaultName: 'snap', jobId })))).toString());
    assert.equal(inv.InventoryDate, taken[0].date.replace(/\.\d{3}Z$/, 'Z'), 'the inventory is dated by its snapshot');

    // Deleted archives stay in inventories and counts until the next snapshot, and the vault cannot go yet.
    await c.send(new DeleteArchiveCommand({ ...A, vaultName: 'snap', archiveId: a }));
    await c.send(new DeleteArchiveCommand({ ...A, vaultName: 'snap', archiveId: b }));
    assert.deepEqual(await inventoryIds(c, 'snap'), [a, b].sort());
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'snap' }))).NumberOfArchives, 2);
    await expectError(c.send(new DeleteVaultCommand({ ...A, vaultName: 'snap' })), { name: 'InvalidParameterValueException', status: 400, message: /Vault not empty/ });

    await local.admin('POST', 'snapshot');
    assert.deepEqual(await inventoryIds(c, 'snap'), []);
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'snap' }))).NumberOfArchives, 0);
    await c.send(new DeleteVaultCommand({ ...A, vaultName: 'snap' }));
  });
});

test('CSV inventories are quoted as Amazon quotes them: the description column always, a quote written \\", a backslash as it is', async () => {
  await withLocal(['--memory', '--job-delay', '0'], async (_local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'csv' }));
    const cases: [string, string][] = [
      ['plain  two spaces', '"plain  two spaces"'],
      ['a,b', '"a,b"'],
      ['say "hi"', '"say \\"hi\\""'],
      ['back\\slash', '"back\\slash"'],
      ['trailing\\', '"trailing\\"'],
      ['q\\"', '"q\\\\""'],
      ['', '""'],
    ];
    const ids = new Map<string, string>();
    for (const [description, field] of cases) {
      const { archiveId } = await c.send(new UploadArchiveCommand({ ...A, vaultName: 'csv', body: payload(10), archiveDescription: description }));
      ids.set(archiveId!, field);
    }
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'csv', jobParameters: { Type: 'inventory-retrieval', Format: 'CSV' } }));
    const lines = (await bodyBytes(await c.send(new GetJobOutputCommand({ ...A, vaultName: 'csv', jobId })))).toString().split('\n');
    assert.equal(lines.shift(), 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
    assert.equal(lines.pop(), '');
    assert.equal(lines.length, cases.length);
    for (const line of lines) {
      const id = line.slice(0, 138);
      const tail = /,(\d{4}-\d\d-\d\dT[\d:.]+Z),10,([0-9a-f]{64})$/.exec(line);
      assert.ok(tail, line);
      assert.equal(line.slice(139, tail.index), ids.get(id), line);
    }
  });
});

test('--snapshot-interval takes snapshots on a timer; live mode (the default) refuses the snapshot call', async () => {
  await withLocal(['--memory', '--job-delay', '0', '--inventory', 'snapshot', '--snapshot-interval', '200ms'], async (_local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'timer' }));
    await c.send(new UploadArchiveCommand({ ...A, vaultName: 'timer', body: payload(10) }));
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'timer' }))).NumberOfArchives, 0);
    await sleep(600);
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'timer' }))).NumberOfArchives, 1);
  });
  await withLocal(['--memory', '--job-delay', '0'], async (local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'live' }));
    await c.send(new UploadArchiveCommand({ ...A, vaultName: 'live', body: payload(10) }));
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: 'live' }))).NumberOfArchives, 1);
    await assert.rejects(local.admin('POST', 'snapshot'), /400.*--inventory snapshot/);
  });
});

test('CompletionDate is when the delay ended, however late the job is polled; --job-expiry then forgets the job (404)', async () => {
  await withLocal(['--memory', '--job-delay', '300ms', '--job-expiry', '2s'], async (_local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'exp' }));
    const data = payload(5000);
    const { archiveId } = await c.send(new UploadArchiveCommand({ ...A, vaultName: 'exp', body: data }));
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'exp', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: 'Expedited' } }));
    await sleep(1000); // nobody looks at the job while its delay ends
    const first = await c.send(new DescribeJobCommand({ ...A, vaultName: 'exp', jobId }));
    assert.equal(first.StatusCode, 'Succeeded');
    const took = Date.parse(first.CompletionDate!) - Date.parse(first.CreationDate!);
    assert.ok(took >= 300 && took < 600, `CompletionDate ${took} ms after CreationDate, expected the 300 ms delay`);
    await sleep(200);
    assert.equal((await c.send(new DescribeJobCommand({ ...A, vaultName: 'exp', jobId }))).CompletionDate, first.CompletionDate);
    assert.ok((await bodyBytes(await c.send(new GetJobOutputCommand({ ...A, vaultName: 'exp', jobId })))).equals(data));
    // Expiry counts from CompletionDate (creation + 300 ms), so 2.3 s after creation the job is gone.
    await sleep(Math.max(0, Date.parse(first.CreationDate!) + 2300 + 100 - Date.now()));
    await expectError(c.send(new DescribeJobCommand({ ...A, vaultName: 'exp', jobId })), { name: 'ResourceNotFoundException', status: 404 });
    await expectError(c.send(new GetJobOutputCommand({ ...A, vaultName: 'exp', jobId })), { name: 'ResourceNotFoundException', status: 404 });
    assert.deepEqual((await c.send(new ListJobsCommand({ ...A, vaultName: 'exp' }))).JobList, []);
  });
});

test('glacier-job on an expired job: exit 1, saying jobs are forgotten after they finish', async () => {
  await withLocal(['--memory', '--job-delay', '0', '--job-expiry', '300ms'], async (local) => {
    const env = { ...local.env, XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'glacier-expired-')) };
    try {
      assert.equal((await run('glacier-vault', ['create', 'exp'], { env })).code, 0);
      const started = await run('glacier-job', ['inventory', '-v', 'exp'], { env });
      assert.equal(started.code, 0, show(started));
      const jobId = JSON.parse(started.stdout.toString('utf8')).JobId as string;
      await sleep(800);
      for (const sub of ['describe', 'output']) {
        const r = await run('glacier-job', [sub, '-v', 'exp', '--', jobId], { env });
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, /^glacier-job: The job ID was not found: .*forgotten about 24 hours after it finished\)$/m);
      }
    } finally {
      rmSync(env.XDG_STATE_HOME, { recursive: true, force: true });
    }
  });
});

test('Content-Range with a numeric total is accepted when it agrees with the range, refused when it contradicts it', async () => {
  await withLocal(['--memory', '--job-delay', '0'], async (_local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'cr' }));
    const data = payload(MiB + MiB / 2);
    const total = data.length;
    const { uploadId } = await c.send(new InitiateMultipartUploadCommand({ ...A, vaultName: 'cr', partSize: String(MiB) }));
    const part = (first: number, last: number, range: string) =>
      c.send(new UploadMultipartPartCommand({ ...A, vaultName: 'cr', uploadId, range, body: data.subarray(first, last + 1), checksum: treeHash(data.subarray(first, last + 1)) }));
    for (const bad of [`bytes 0-${MiB - 1}/1000`, `bytes 0-${MiB - 1}/${MiB - 1}`]) {
      await expectError(part(0, MiB - 1, bad), { name: 'InvalidParameterValueException', status: 400, message: /contradicts the range/ });
    }
    // A short part is the last one: its total must be where it ends.
    await expectError(part(MiB, total - 1, `bytes ${MiB}-${total - 1}/${total + MiB}`), { name: 'InvalidParameterValueException', status: 400, message: /contradicts/ });
    await part(0, MiB - 1, `bytes 0-${MiB - 1}/${total}`);
    await part(MiB, total - 1, `bytes ${MiB}-${total - 1}/${total}`);
    const done = await c.send(new CompleteMultipartUploadCommand({ ...A, vaultName: 'cr', uploadId, archiveSize: String(total), checksum: treeHash(data) }));
    assert.equal(done.checksum, treeHash(data));
  });
});

test('empty replies (201, 202, 204) carry Content-Length: 0', async () => {
  await withLocal(['--memory', '--job-delay', '0'], async (_local, c) => {
    const seen: { status: number; headers: Record<string, string> }[] = [];
    c.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        const r = out.response as { statusCode: number; headers: Record<string, string> };
        seen.push({ status: r.statusCode, headers: r.headers });
        return out;
      },
      { step: 'deserialize', name: 'recordHeaders' },
    );
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'cl' }));
    const { archiveId } = await c.send(new UploadArchiveCommand({ ...A, vaultName: 'cl', body: payload(100) }));
    await c.send(new InitiateJobCommand({ ...A, vaultName: 'cl', jobParameters: { Type: 'inventory-retrieval' } }));
    await c.send(new DeleteArchiveCommand({ ...A, vaultName: 'cl', archiveId }));
    assert.deepEqual(seen.map((s) => [s.status, s.headers['content-length']]), [[201, '0'], [201, '0'], [202, '0'], [204, '0']]);
  });
});

test('the default test secret is 40 characters, as real secrets are, and the accepted key id is printed on stderr', async () => {
  const help = spawnSync(process.execPath, [BIN('glacier-local'), '--help'], { encoding: 'utf8' });
  const secret = /AWS_SECRET_ACCESS_KEY=(\S+)/.exec(help.stdout)![1];
  assert.equal(secret, SECRET_ACCESS_KEY);
  assert.equal(secret.length, 40);
  assert.match(secret, /^[A-Za-z0-9/+]{40}$/);
  // Started with no key in its environment, it takes the test pair and says which key id it accepts.
  const env = { ...process.env };
  delete env.AWS_ACCESS_KEY_ID;
  delete env.AWS_SECRET_ACCESS_KEY;
  delete env.GLACIER_LOCAL_QUIET;
  const p = spawn(process.execPath, [BIN('glacier-local'), '--memory'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  for (let i = 0; i < 300 && !err.includes('\n'); i++) await sleep(10);
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
  assert.match(err, new RegExp(`^glacier-local: serving on http://127\\.0\\.0\\.1:\\d+ \\(in memory\\); accepts access key id ${ACCESS_KEY_ID}\\n`));
  assert.ok(!err.includes(secret), 'the secret is never printed');
});

test('every secret the README exports is 40 characters, as real secrets are (clients such as mt-aws-glacier refuse others)', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const secrets = [...readme.matchAll(/AWS_SECRET_ACCESS_KEY=(\S+)/g)].map((m) => m[1]).filter((s) => !s.startsWith('$') && !s.startsWith('...'));
  assert.ok(secrets.length > 0);
  for (const s of secrets) assert.match(s, /^[A-Za-z0-9/+]{40}$/, `README: AWS_SECRET_ACCESS_KEY=${s}`);
});

test('the --help example runs as written and returns', async () => {
  const help = spawnSync(process.execPath, [BIN('glacier-local'), '--help'], { encoding: 'utf8' }).stdout;
  const example = help.slice(help.indexOf('\nExample')).split('\n').slice(2).filter((l) => l.startsWith('  ')).map((l) => l.slice(2)).join('\n');
  assert.match(example, /glacier-local .*&\n/);
  const dir = mkdtempSync(join(tmpdir(), 'gl-help-'));
  try {
    const script = example.replaceAll('/tmp/vaults', join(dir, 'vaults')).replaceAll('/tmp/glacier-local.url', join(dir, 'url'));
    const env = { ...process.env, PATH: `${ROOT}bin:${process.env.PATH}`, GLACIER_LOCAL_QUIET: '1', XDG_STATE_HOME: dir };
    const r = spawnSync('bash', ['-e', '-c', `set -m\n${script}\nwait`], { env, encoding: 'utf8', timeout: within(20_000) });
    assert.equal(r.error, undefined, `the example did not return: ${r.error}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout + r.stderr, /demo/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--tls: HTTPS with a self-signed certificate whose path is on stderr; the SDK trusts it through the CA it is given', async () => {
  await withLocal(['--memory', '--job-delay', '0'], async (local, c) => {
    assert.match(local.endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.match(local.stderr(), /^glacier-local: TLS certificate \(self-signed, use as AWS_CA_BUNDLE\): \/\S+\/cert\.pem$/m);
    assert.equal(local.env.AWS_CA_BUNDLE, local.ca);
    await c.send(new CreateVaultCommand({ ...A, vaultName: 'tls' }));
    const data = payload(MiB + 5);
    const { archiveId } = await c.send(new UploadArchiveCommand({ ...A, vaultName: 'tls', body: data }));
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: 'tls', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
    assert.ok((await bodyBytes(await c.send(new GetJobOutputCommand({ ...A, vaultName: 'tls', jobId })))).equals(data));
    // Without the CA the certificate is refused: the trust really comes from it.
    const { GlacierClient } = await import('@aws-sdk/client-glacier');
    const untrusting = new GlacierClient({ endpoint: local.endpoint, region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY } });
    await assert.rejects(untrusting.send(new DescribeVaultCommand({ ...A, vaultName: 'tls' })), /self[- ]signed|certificate/i);
  }, { tls: true });
});
