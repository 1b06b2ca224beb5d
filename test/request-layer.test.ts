// The request layer seen from the binaries: every (binary, operation) survives one throttle and one 500 with the
// retries in glacier-local's request log; permanent failures end with exit 1 within the documented bound and
// AWS_MAX_ATTEMPTS turns retries off; clean-up after a failed upload is retried and never silent; servers that
// never answer, stall mid-body or repeat a page marker end every binary with exit 1; SIGTERM during a request is
// 143; Complete's reply is checked; the journal folder is checked before Initiate; chunk streams are verified;
// a FILE changing while read is refused; option names cannot reach Object.prototype.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, appendFileSync, truncateSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateVaultCommand, DeleteVaultCommand, InitiateJobCommand, InitiateMultipartUploadCommand, UploadArchiveCommand, UploadMultipartPartCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { errorLines, run, show, sleep, start, type Ran } from './helpers/bins.js';
import { openUploads, ROOT, startLocal, type Local } from './helpers/local.js';
import { within, until } from './helpers/time.js';

const A = { accountId: '-' };
let work: string;
let local: Local;
let g: GlacierClient;
let small: string; // 1000 bytes: one UploadArchive
let big: string; // 2 MiB + 1 byte: three 1 MiB parts
let bigData: Buffer;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'gp-request-'));
  local = await startLocal(['--memory', '--job-delay', '0', '--page-size', '2']);
  g = local.client();
  small = join(work, 'small.bin');
  writeFileSync(small, randomBytes(1000));
  big = join(work, 'big.bin');
  bigData = randomBytes(2 * MiB + 1);
  writeFileSync(big, bigData);
});
after(async () => {
  // SIGKILL: glacier-local's SIGTERM waits for the requests the SIGTERM tests' slow faults still hold (30 s each),
  // and nothing of this in-memory server needs a clean stop.
  await local.kill9();
  rmSync(work, { recursive: true, force: true });
});

let seq = 0;
/** A fresh state folder and environment for one run. */
function envOf(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...local.env, XDG_STATE_HOME: join(work, `state-${++seq}`) };
  for (const k of ['GLACIER_VAULT', 'AWS_MAX_ATTEMPTS', 'AWS_RETRY_MODE', 'AWS_PROFILE']) delete env[k];
  return { ...env, ...extra };
}

async function vault(name: string): Promise<string> {
  await g.send(new CreateVaultCommand({ ...A, vaultName: name }));
  return name;
}

async function openUpload(vaultName: string, withPart = false): Promise<string> {
  const r = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName, partSize: String(MiB) }));
  if (withPart) {
    const body = bigData.subarray(0, MiB);
    await g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId: r.uploadId!, body, range: `bytes 0-${MiB - 1}/*`, checksum: treeHash(body) }));
  }
  return r.uploadId!;
}

async function archive(vaultName: string): Promise<string> {
  const body = randomBytes(100);
  return (await g.send(new UploadArchiveCommand({ ...A, vaultName, body, checksum: treeHash(body) }))).archiveId!;
}

/** A retrieval job of a new archive of the vault (done at once: this server's jobs take no time). */
async function retrieval(vaultName: string): Promise<string> {
  const archiveId = await archive(vaultName);
  return (await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }))).jobId!;
}

type Logged = { op: string; path?: string; status?: number; error?: string };
async function requests(): Promise<Logged[]> {
  return local.admin<Logged[]>('GET', 'requests');
}
async function resetLog(): Promise<void> {
  await local.admin('DELETE', 'counters');
}

/** A failed run: this exit code and exactly one `name: ...` line on stderr (no stack); returns it. */
function oneLine(r: Ran, name: string, code: number): string {
  assert.equal(r.code, code, show(r));
  const errs = errorLines(r.stderr, name);
  assert.equal(errs.length, 1, show(r));
  assert.ok(errs[0].startsWith(`${name}: `), show(r));
  return errs[0];
}

interface Row {
  bin: string;
  op: string;
  /** Sets up a vault (and whatever the row needs) and returns the arguments. */
  args: (v: string) => Promise<string[]>;
  input?: string;
}

const ROWS: Row[] = [
  { bin: 'glacier-put', op: 'UploadArchive', args: async (v) => ['-v', v, small] },
  { bin: 'glacier-put', op: 'InitiateMultipartUpload', args: async (v) => ['-v', v, '-p', '1M', '-c', '1', big] },
  { bin: 'glacier-put', op: 'UploadMultipartPart', args: async (v) => ['-v', v, '-p', '1M', '-c', '1', big] },
  { bin: 'glacier-put', op: 'CompleteMultipartUpload', args: async (v) => ['-v', v, '-p', '1M', '-c', '1', big] },
  { bin: 'glacier-put', op: 'ListParts', args: async (v) => ['-v', v, '-p', '1M', `--resume=${await openUpload(v, true)}`, big] },
  { bin: 'glacier-ls', op: 'ListVaults', args: async () => [] },
  { bin: 'glacier-ls', op: 'ListMultipartUploads', args: async (v) => (await openUpload(v), ['-v', v]) },
  { bin: 'glacier-ls', op: 'ListParts', args: async (v) => ['-v', v, '--', await openUpload(v, true)] },
  { bin: 'glacier-abort', op: 'AbortMultipartUpload', args: async (v) => ['-v', v, '--', await openUpload(v)] },
  { bin: 'glacier-abort', op: 'ListMultipartUploads', args: async (v) => (await openUpload(v), ['-v', v, '--all']) },
  { bin: 'glacier-abort', op: 'ListParts', args: async (v) => ['-v', v, '--dry-run', '--', await openUpload(v)] },
  { bin: 'glacier-rm', op: 'DeleteArchive', args: async (v) => ['-v', v, '--', await archive(v)] },
  { bin: 'glacier-rm', op: 'DescribeVault', args: async (v) => ['-v', v, '--dry-run', '--', await archive(v)] },
  { bin: 'glacier-vault', op: 'CreateVault', args: async (v) => (await g.send(new DeleteVaultCommand({ ...A, vaultName: v })), ['create', v]) },
  { bin: 'glacier-vault', op: 'DescribeVault', args: async (v) => ['describe', v] },
  { bin: 'glacier-vault', op: 'DeleteVault', args: async (v) => ['delete', v] },
  { bin: 'glacier-job', op: 'InitiateJob', args: async (v) => ['retrieve', '-v', v, '--', await archive(v)] },
  { bin: 'glacier-job', op: 'DescribeJob', args: async (v) => ['describe', '-v', v, '--', await retrieval(v)] },
  { bin: 'glacier-job', op: 'ListJobs', args: async (v) => (await retrieval(v), ['list', '-v', v]) },
  { bin: 'glacier-job', op: 'GetJobOutput', args: async (v) => ['output', '-v', v, '--', await retrieval(v)] },
];

describe('one throttle, then one 500, on each operation of each binary: the binary still succeeds', { concurrency: 1 }, () => {
  after(() => local.admin('DELETE', 'faults'));
  for (const [i, row] of ROWS.entries()) {
    it(`${row.bin} ${row.op}`, { timeout: within(30_000) }, async () => {
      const v = await vault(`retry-${i}`);
      const args = await row.args(v);
      await local.admin('PUT', 'faults', { spec: `${row.op}:throttle:count=1 ${row.op}:500:skip=1,count=1` });
      await resetLog();
      const r = await run(row.bin, args, { env: envOf() });
      await local.admin('DELETE', 'faults');
      assert.equal(r.code, 0, show(r));
      const ops = (await requests()).filter((l) => l.op === row.op);
      assert.ok(ops.length >= 3, `${row.op} was sent at least 3 times: ${JSON.stringify(ops)}`);
      assert.equal(ops[0].error, 'ThrottlingException', JSON.stringify(ops));
      assert.equal(ops[1].error, 'ServiceUnavailableException', JSON.stringify(ops));
      assert.ok(ops[2].status! < 300, `the third try succeeded: ${JSON.stringify(ops)}`);
    });
  }
});

describe('permanent failures end with exit 1 within the bound; AWS_MAX_ATTEMPTS and max_attempts set the tries', { concurrency: 1 }, () => {
  let refused: string;
  before(async () => {
    // A port nobody listens on: connections are refused.
    const s = createNetServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    refused = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
    await new Promise<void>((r) => s.close(() => r()));
  });
  after(() => local.admin('DELETE', 'faults'));

  const cases: { bin: string; args: string[] }[] = [
    { bin: 'glacier-put', args: ['-v', 'gone', '{SMALL}'] },
    { bin: 'glacier-put', args: ['-v', 'gone', '-p', '1M', '{BIG}'] },
    { bin: 'glacier-ls', args: ['-v', 'gone'] },
    { bin: 'glacier-abort', args: ['-v', 'gone', '--all'] },
    { bin: 'glacier-rm', args: ['-v', 'gone', '--', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] },
    { bin: 'glacier-vault', args: ['describe', 'gone'] },
  ];
  const fill = (args: string[]) => args.map((a) => (a === '{SMALL}' ? small : a === '{BIG}' ? big : a));
  for (const c of cases) {
    it(`${c.bin} ${c.args.join(' ')}: a deleted vault is exit 1 at once, naming it`, async () => {
      await vault('gone');
      await g.send(new DeleteVaultCommand({ ...A, vaultName: 'gone' }));
      const r = await run(c.bin, fill(c.args), { env: envOf() });
      assert.match(oneLine(r, c.bin, 1), /vault "gone" not found/);
      assert.ok(r.ms < within(10_000), show(r));
    });
  }
  // Each against the refusing port with a state folder of its own (glacier-local untouched): side by side.
  describe('an endpoint refusing connections', { concurrency: 3 }, () => {
    for (const c of cases) {
      it(`${c.bin} ${c.args.join(' ')}: an endpoint refusing connections is exit 1 after AWS_MAX_ATTEMPTS=3 tries (< 0.25+0.5 s of backoff)`, async () => {
        const r = await run(c.bin, ['--endpoint', refused, ...fill(c.args)], { env: envOf({ AWS_MAX_ATTEMPTS: '3' }) });
        assert.match(oneLine(r, c.bin, 1), /connection refused \(after 3 attempts\)/);
        assert.ok(r.ms < within(10_000), show(r));
      });
    }
  });
  it('AWS_MAX_ATTEMPTS=1 sends once; AWS_MAX_ATTEMPTS=3 three times; the profile\'s max_attempts=2 twice', async () => {
    await vault('perm');
    await local.admin('PUT', 'faults', { spec: 'DescribeVault:500' });
    const count = async (env: NodeJS.ProcessEnv, args: string[] = []) => {
      await resetLog();
      const r = await run('glacier-vault', ['describe', 'perm', ...args], { env });
      oneLine(r, 'glacier-vault', 1);
      return (await requests()).filter((l) => l.op === 'DescribeVault').length;
    };
    assert.equal(await count(envOf({ AWS_MAX_ATTEMPTS: '1' })), 1);
    assert.equal(await count(envOf({ AWS_MAX_ATTEMPTS: '3' })), 3);
    const config = join(work, 'aws-config');
    const keys = `aws_access_key_id = ${local.env.AWS_ACCESS_KEY_ID}\naws_secret_access_key = ${local.env.AWS_SECRET_ACCESS_KEY}\n`;
    writeFileSync(config, `[profile two]\nmax_attempts = 2\nretry_mode = standard\n${keys}[default]\nmax_attempts = 4\n`);
    assert.equal(await count(envOf({ AWS_CONFIG_FILE: config }), ['--profile', 'two']), 2, 'max_attempts of --profile');
    assert.equal(await count(envOf({ AWS_CONFIG_FILE: config })), 4, 'max_attempts of the default profile');
    assert.equal(await count(envOf({ AWS_CONFIG_FILE: config, AWS_MAX_ATTEMPTS: '1' }), ['--profile', 'two']), 1, 'AWS_MAX_ATTEMPTS before the profile');
    await local.admin('DELETE', 'faults');
  });
  it('AWS_MAX_ATTEMPTS=1 also turns off the refetch of a job output body cut short; 3 attempts survive two cuts', async () => {
    await vault('cut');
    const jobId = await retrieval('cut');
    const gets = async (attempts: string) => {
      await local.admin('PUT', 'faults', { spec: 'GetJobOutput:drop:count=2' });
      await resetLog();
      const r = await run('glacier-job', ['output', '-v', 'cut', '-o', join(work, `cut-${attempts}.bin`), '--', jobId], { env: envOf({ AWS_MAX_ATTEMPTS: attempts }) });
      await local.admin('DELETE', 'faults');
      return { r, n: (await requests()).filter((l) => l.op === 'GetJobOutput').length };
    };
    const once = await gets('1');
    oneLine(once.r, 'glacier-job', 1);
    assert.equal(once.n, 1, show(once.r));
    const thrice = await gets('3');
    assert.equal(thrice.r.code, 0, show(thrice.r));
    assert.equal(thrice.n, 3, show(thrice.r));
  });
  it('--profile that does not exist: exit 2 naming it, as the AWS CLI says it; environment keys win over AWS_PROFILE without a warning', async () => {
    const config = join(work, 'aws-config-2');
    writeFileSync(config, '[profile other]\nregion = us-east-1\naws_access_key_id = AKIAWRONGWRONGWRONG1\naws_secret_access_key = wrong\n');
    const r = await run('glacier-ls', ['--profile', 'nosuch'], { env: envOf({ AWS_CONFIG_FILE: config }) });
    assert.match(oneLine(r, 'glacier-ls', 2), /The config profile \(nosuch\) could not be found/);
    const env = envOf({ AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(work, 'none'), AWS_PROFILE: 'other' });
    const ok = await run('glacier-ls', [], { env });
    assert.equal(ok.code, 0, show(ok));
    assert.equal(ok.stderr, '', 'no SDK warning about two credential sources');
    const missing = await run('glacier-vault', ['describe', 'x'], { env: { ...envOf(), AWS_REGION: '', AWS_DEFAULT_REGION: '', AWS_CONFIG_FILE: join(work, 'none') } });
    assert.match(oneLine(missing, 'glacier-vault', 2), /You must specify a region/);
  });
});

describe('clean-up after a failed upload', { concurrency: 1 }, () => {
  after(() => local.admin('DELETE', 'faults'));
  it('parts failing and the abort throttled once: exit 1, nothing left in the vault, no journal', { timeout: within(60_000) }, async () => {
    const v = await vault('cleanup-1');
    await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:500 AbortMultipartUpload:throttle:count=1' });
    const env = envOf({ AWS_MAX_ATTEMPTS: '2' });
    await resetLog();
    const r = await run('glacier-put', ['-v', v, '-p', '1M', '-c', '1', big], { env });
    await local.admin('DELETE', 'faults');
    oneLine(r, 'glacier-put', 1);
    assert.deepEqual(await openUploads(g, v), [], 'nothing left in the vault');
    const aborts = (await requests()).filter((l) => l.op === 'AbortMultipartUpload');
    assert.deepEqual(aborts.map((a) => a.error ?? a.status), ['ThrottlingException', 204]);
    assert.deepEqual(readdirSync(join(env.XDG_STATE_HOME!, 'glacier-pipes')), [], 'no journal');
  });
  it('the abort failing every time: exit 1, the journal kept, the message names the upload id and the command that removes it', { timeout: within(60_000) }, async () => {
    const v = await vault('cleanup-2');
    await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:500 AbortMultipartUpload:500' });
    const env = envOf({ AWS_MAX_ATTEMPTS: '2' });
    const r = await run('glacier-put', ['-v', v, '-p', '1M', '-c', '1', big], { env });
    await local.admin('DELETE', 'faults');
    const line = oneLine(r, 'glacier-put', 1);
    const [uploadId] = await openUploads(g, v);
    assert.ok(uploadId, 'the upload is still open');
    assert.ok(line.includes(uploadId), line);
    const m = /remove it with: (glacier-abort .*)$/.exec(line);
    assert.ok(m, line);
    assert.ok(existsSync(join(env.XDG_STATE_HOME!, 'glacier-pipes', `${uploadId}.journal`)), 'journal kept');
    // The command printed removes it (and its journal).
    const words = m[1].split(' ');
    const rm = await run(words[0], words.slice(1), { env });
    assert.equal(rm.code, 0, show(rm));
    assert.deepEqual(await openUploads(g, v), []);
    assert.ok(!existsSync(join(env.XDG_STATE_HOME!, 'glacier-pipes', `${uploadId}.journal`)));
  });
});

describe('chunk streams are verified', { concurrency: 1 }, () => {
  let stream: Buffer;
  before(async () => {
    const r = await run('glacier-chunk', ['-p', '1M', big], { env: envOf() });
    assert.equal(r.code, 0, show(r));
    stream = r.stdout;
  });
  const endAt = () => stream.lastIndexOf('{"end":true');
  const withEnd = (end: Record<string, unknown>) => Buffer.concat([stream.subarray(0, endAt()), Buffer.from(`${JSON.stringify(end)}\n`)]);
  for (const [what, edit] of [
    ['a wrong tree hash', (e: Record<string, unknown>) => ({ ...e, treeHash: '0'.repeat(64) })],
    ['a wrong size', (e: Record<string, unknown>) => ({ ...e, size: Number(e.size) + 1 })],
  ] as const) {
    it(`an end record with ${what}: exit 3, nothing completed, nothing left open`, { timeout: within(30_000) }, async () => {
      const v = await vault(`chunks-${what.replace(/\W/g, '')}`);
      const end = JSON.parse(stream.subarray(endAt()).toString('utf8')) as Record<string, unknown>;
      await resetLog();
      const r = await run('glacier-put', ['-v', v], { env: envOf(), input: withEnd(edit(end)) });
      assert.match(oneLine(r, 'glacier-put', 3), /end record/);
      assert.equal((await requests()).filter((l) => l.op === 'CompleteMultipartUpload').length, 0);
      assert.deepEqual(await openUploads(g, v), []);
      const dry = await run('glacier-put', ['-v', v, '--dry-run'], { env: envOf(), input: withEnd(edit(end)) });
      oneLine(dry, 'glacier-put', 3);
    });
  }
  it('data after the end record (two streams joined): exit 2, nothing completed, nothing left open', { timeout: within(30_000) }, async () => {
    const v = await vault('chunks-trailing');
    await resetLog();
    const r = await run('glacier-put', ['-v', v], { env: envOf(), input: Buffer.concat([stream, stream]) });
    assert.match(oneLine(r, 'glacier-put', 2), /data follows its end record/);
    assert.equal((await requests()).filter((l) => l.op === 'CompleteMultipartUpload').length, 0);
    assert.deepEqual(await openUploads(g, v), []);
    const dry = await run('glacier-put', ['-v', v, '--dry-run'], { env: envOf(), input: Buffer.concat([stream, Buffer.from('x')]) });
    oneLine(dry, 'glacier-put', 2);
  });
  it('--dry-run hashes the bytes: one flipped byte is exit 3', async () => {
    const bad = Buffer.from(stream);
    const at = stream.indexOf('\n', stream.indexOf('"part":1')) + 100; // inside part 1's bytes
    bad[at] ^= 0xff;
    const r = await run('glacier-put', ['-v', 'x', '--dry-run'], { env: envOf(), input: bad });
    assert.match(oneLine(r, 'glacier-put', 3), /part 1 .*hash/);
    const good = await run('glacier-put', ['-v', 'x', '--dry-run'], { env: envOf(), input: stream });
    assert.equal(good.code, 0, show(good));
    assert.equal(JSON.parse(good.stdout.toString()).checksum, treeHash(bigData));
  });
});

describe('servers that never answer, stall mid-body or repeat a page marker', { concurrency: 1 }, () => {
  let hang: string;
  let stall: string;
  const sockets: Socket[] = [];
  let hangServer: ReturnType<typeof createNetServer>;
  let stallServer: Server;
  before(async () => {
    hangServer = createNetServer((s) => sockets.push(s)); // accepts, reads, never answers
    await new Promise<void>((r) => hangServer.listen(0, '127.0.0.1', r));
    hang = `http://127.0.0.1:${(hangServer.address() as { port: number }).port}`;
    stallServer = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4000' });
        res.write('{"VaultList":[');
        sockets.push(res.socket!); // and then nothing more
      });
    });
    await new Promise<void>((r) => stallServer.listen(0, '127.0.0.1', r));
    stall = `http://127.0.0.1:${(stallServer.address() as { port: number }).port}`;
  });
  after(() => {
    for (const s of sockets) s.destroy();
    hangServer.close();
    stallServer.close();
    return local.admin('DELETE', 'faults');
  });
  const cases: { bin: string; args: string[] }[] = [
    { bin: 'glacier-put', args: ['-v', 'v', '{SMALL}'] },
    { bin: 'glacier-put', args: ['-v', 'v', '-p', '1M', '{BIG}'] },
    { bin: 'glacier-ls', args: [] },
    { bin: 'glacier-abort', args: ['-v', 'v', '--all'] },
    { bin: 'glacier-rm', args: ['-v', 'v', '--', 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'] },
    { bin: 'glacier-vault', args: ['describe', 'v'] },
  ];
  const fill = (args: string[]) => args.map((a) => (a === '{SMALL}' ? small : a === '{BIG}' ? big : a));
  // Each against its own connection to a server of its own kind with a state folder of its own (glacier-local
  // untouched), mostly waiting out the read timeout: side by side.
  describe('servers that never answer or stall mid-body', { concurrency: 3 }, () => {
    for (const c of cases) {
      for (const kind of ['never answers', 'stalls mid-body'] as const) {
        it(`${c.bin} ${c.args.join(' ')}: a server that ${kind}: exit 1 within --cli-read-timeout 1 x 2 attempts`, { timeout: within(20_000) }, async () => {
          const env = envOf({ AWS_MAX_ATTEMPTS: '2' });
          const r = await run(c.bin, ['--endpoint', kind === 'never answers' ? hang : stall, '--cli-read-timeout', '1', ...fill(c.args)], { env });
          assert.match(oneLine(r, c.bin, 1), /no answer from .* in time|connection .* was cut/);
          assert.ok(r.ms < within(8_000), show(r));
          const dir = join(env.XDG_STATE_HOME!, 'glacier-pipes');
          if (existsSync(dir)) assert.deepEqual(readdirSync(dir), [], 'no journal of an upload that was never opened');
        });
      }
    }
  });
  const listings: { bin: string; op: string; args: (v: string) => Promise<string[]> }[] = [
    { bin: 'glacier-ls', op: 'ListVaults', args: async () => [] },
    { bin: 'glacier-ls', op: 'ListMultipartUploads', args: async (v) => (await openUpload(v), ['-v', v]) },
    { bin: 'glacier-ls', op: 'ListParts', args: async (v) => ['-v', v, '--', await openUpload(v, true)] },
    { bin: 'glacier-abort', op: 'ListMultipartUploads', args: async (v) => (await openUpload(v), ['-v', v, '--all']) },
    { bin: 'glacier-put', op: 'ListParts', args: async (v) => ['-v', v, '-p', '1M', `--resume=${await openUpload(v, true)}`, big] },
    { bin: 'glacier-job', op: 'ListJobs', args: async (v) => (await retrieval(v), ['list', '-v', v]) },
  ];
  for (const [i, l] of listings.entries()) {
    it(`${l.bin} ${l.op}: a page marker repeated by the server is exit 1`, { timeout: within(20_000) }, async () => {
      const v = await vault(`marker-${i}`);
      const args = await l.args(v);
      await local.admin('PUT', 'faults', { spec: `${l.op}:repeat-marker` });
      await resetLog();
      const r = await run(l.bin, args, { env: envOf() });
      await local.admin('DELETE', 'faults');
      assert.match(oneLine(r, l.bin, 1), /page marker .* a second time/);
      assert.ok((await requests()).filter((x) => x.op === l.op).length <= 3, 'stopped at the first repeat');
    });
  }
});

describe('SIGTERM during a request: 143', { concurrency: 1 }, () => {
  after(() => local.admin('DELETE', 'faults'));
  // Initiate and Complete are sent to the end whatever the signal (README: Journal and resume).
  // glacier-job's signals are tested request by request in job-signals.test.ts.
  for (const [i, row] of ROWS.filter((r) => r.bin !== 'glacier-job' && !(r.bin === 'glacier-put' && ['InitiateMultipartUpload', 'CompleteMultipartUpload'].includes(r.op))).entries()) {
    it(`${row.bin} ${row.op}`, { timeout: within(60_000) }, async () => {
      const v = await vault(`term-${i}`);
      const args = await row.args(v);
      const held = async () => ((await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters')).faults[row.op]?.slow ?? 0);
      const heldBefore = await held();
      await local.admin('PUT', 'faults', { spec: `${row.op}:slow:ms=${within(30_000)}` });
      // The signal comes once the request is in glacier-local's hands (its slow fault fired), whatever the load.
      const p = start(row.bin, ['--debug', ...args], { env: envOf() });
      await until(async () => (await held()) > heldBefore || p.proc.exitCode !== null, `${row.op} to reach glacier-local`);
      p.proc.kill('SIGTERM');
      const r = await p.done;
      await local.admin('DELETE', 'faults');
      assert.equal(r.code, 143, show(r));
      assert.ok(!new RegExp(`debug: ${row.op}Command 2\\d\\d in`).test(r.stderr), `ended during the request, before its answer: ${show(r)}`);
    });
  }
});

describe("Complete's reply is checked", { concurrency: 1 }, () => {
  let proxy: Server;
  let endpoint: string;
  let mode: 'wrong' | 'upper' | 'no-id' = 'wrong';
  before(async () => {
    const target = new URL(local.endpoint);
    // In front of glacier-local: passes every request through and rewrites the reply to Complete.
    proxy = createServer((req, res) => {
      const up = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
        const headers = { ...r.headers };
        if (req.method === 'POST' && /\/multipart-uploads\/[^/]+$/.test(req.url ?? '')) {
          const h = String(headers['x-amz-sha256-tree-hash'] ?? '');
          if (mode === 'wrong') headers['x-amz-sha256-tree-hash'] = h.replace(/^./, (c) => (c === '0' ? '1' : '0'));
          if (mode === 'upper') headers['x-amz-sha256-tree-hash'] = h.toUpperCase();
          if (mode === 'no-id') {
            delete headers['x-amz-archive-id'];
            delete headers.location;
          }
        }
        res.writeHead(r.statusCode!, headers);
        r.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  });
  after(() => proxy.close());
  for (const m of ['wrong', 'no-id'] as const) {
    it(`${m === 'wrong' ? 'a wrong tree hash' : 'no archive id'} in Complete's reply: exit 3, the journal kept`, { timeout: within(30_000) }, async () => {
      mode = m;
      const v = await vault(`complete-${m}`);
      const env = envOf({ AWS_ENDPOINT_URL_GLACIER: endpoint });
      const r = await run('glacier-put', ['-v', v, '-p', '1M', big], { env });
      const line = oneLine(r, 'glacier-put', 3);
      const journals = readdirSync(join(env.XDG_STATE_HOME!, 'glacier-pipes'));
      assert.equal(journals.length, 1, line);
      assert.ok(line.includes(journals[0].replace(/\.journal$/, '')), `names the upload: ${line}`);
    });
  }
  it('an uppercase tree hash equal to ours is accepted', { timeout: within(30_000) }, async () => {
    mode = 'upper';
    const v = await vault('complete-upper');
    const r = await run('glacier-put', ['-v', v, '-p', '1M', big], { env: envOf({ AWS_ENDPOINT_URL_GLACIER: endpoint }) });
    assert.equal(r.code, 0, show(r));
    assert.equal(JSON.parse(r.stdout.toString()).checksum, treeHash(bigData));
  });
});

describe('the journal folder is checked before Initiate', { concurrency: 1 }, () => {
  const mnt = join(tmpdir(), `gp-request-mnt-${process.pid}`);
  const canMount = (opts: string) => {
    mkdirSync(mnt, { recursive: true });
    return spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', mnt]).status === 0;
  };
  after(() => {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });
  for (const kind of ['read-only', 'full'] as const) {
    it(`a ${kind} journal folder: exit 1 before any request, nothing in the vault`, { timeout: within(30_000) }, async (t) => {
      if (!canMount(kind === 'read-only' ? 'ro,size=64k' : 'size=16k')) return t.skip('needs a tmpfs mount (root)');
      try {
        if (kind === 'full') {
          mkdirSync(join(mnt, 'glacier-pipes'));
          try {
            writeFileSync(join(mnt, 'filler'), Buffer.alloc(64 * 1024));
          } catch {
            // ENOSPC: full, as wanted
          }
        }
        const v = await vault(`journal-${kind}`);
        await resetLog();
        const r = await run('glacier-put', ['-v', v, '-p', '1M', big], { env: envOf({ XDG_STATE_HOME: mnt }) });
        assert.match(oneLine(r, 'glacier-put', 1), /cannot write the upload journal in .*nothing was sent/);
        // (A request of an earlier test may still finish meanwhile: only this vault's count.)
        assert.deepEqual((await requests()).filter((l) => l.path?.includes(`/vaults/${v}`)).map((l) => l.op), [], 'no request at all');
        assert.deepEqual(await openUploads(g, v), []);
      } finally {
        spawnSync('umount', [mnt]);
      }
    });
  }
});

describe('a FILE that changes while glacier-put reads it', { concurrency: 1 }, () => {
  after(() => local.admin('DELETE', 'faults'));
  for (const how of ['truncated', 'extended'] as const) {
    it(`${how}: exit 1 "file changed as we read it", the upload aborted, nothing stored`, { timeout: within(30_000) }, async () => {
      const v = await vault(`torn-${how}`);
      const file = join(work, `torn-${how}.bin`);
      writeFileSync(file, randomBytes(8 * MiB));
      // Parts go slowly, so the file changes once the upload is open and the later parts are still to be read.
      await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=700' });
      await resetLog();
      const p = start('glacier-put', ['-v', v, '-p', '1M', '-c', '1', file], { env: envOf() });
      while (!(await requests()).some((l) => l.op === 'InitiateMultipartUpload') && p.proc.exitCode === null) await sleep(50);
      if (how === 'truncated') truncateSync(file, MiB + 10);
      else appendFileSync(file, randomBytes(1000));
      const r = await p.done;
      await local.admin('DELETE', 'faults');
      assert.match(oneLine(r, 'glacier-put', 1), /file changed as we read it/);
      assert.deepEqual(await openUploads(g, v), []);
      const counters = await local.counters();
      assert.equal(counters.CompleteMultipartUpload ?? 0, 0);
    });
  }
});

describe('one way to talk to Glacier', () => {
  it('no module outside src/core and src/local builds SDK commands', () => {
    const src = join(ROOT, 'src');
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, e.name);
        const rel = path.slice(src.length + 1);
        if (e.isDirectory()) {
          if (!['core', 'local'].includes(rel)) walk(path);
        } else if (rel.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          if (/import\s+\{[^}]*\b\w+Command\b[^}]*\}\s+from\s+'@aws-sdk\/client-glacier'/.test(text)) offenders.push(rel);
        }
      }
    };
    walk(src);
    assert.deepEqual(offenders, []);
  });
});

describe('argv and files', () => {
  for (const opt of ['--toString', '--__proto__', '--constructor', '--hasOwnProperty=1']) {
    it(`${opt} is a usage error (exit 2)`, async () => {
      for (const bin of ['glacier-put', 'glacier-ls', 'glacier-chunk', 'glacier-vault']) {
        const r = await run(bin, [opt], { env: envOf() });
        assert.match(oneLine(r, bin, 2), /unknown option/);
      }
    });
  }
  it('glacier-chunk -o: parts and manifest 0600 in a 0700 folder, never through a planted link', async () => {
    const out = join(work, 'spool');
    const r = await run('glacier-chunk', ['-p', '1M', '-o', out, big], { env: envOf() });
    assert.equal(r.code, 0, show(r));
    assert.equal(statSync(out).mode & 0o777, 0o700);
    for (const f of readdirSync(out)) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600, f);
  });
});
