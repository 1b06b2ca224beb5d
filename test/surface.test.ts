// The surface every binary shares, driven through the real binaries against a real glacier-local: one size and
// duration parser (a bare size is MiB; a bare duration is refused; 1d12h); the progress line under a
// pseudo-terminal (script(1)), its rate and ETA against a pipe throttled to 4 MB/s; glacier-put -- CMD (a
// producer that fails stores nothing); resume commands pasted back through bash -c exactly as printed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { treeHash } from '../src/core/tree-hash.js';
import { errorLines, run, show } from './helpers/bins.js';
import { ACCESS_KEY_ID, BIN, openUploads, REGION, SECRET_ACCESS_KEY, startLocal, type Local } from './helpers/local.js';

const MiB = 2 ** 20;
let local: Local;
let g: GlacierClient;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  work = mkdtempSync(join(tmpdir(), 'gp-surface-'));
  env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  for (const v of ['sv', 'ages', 'prod', 'paste', 'pty']) await g.send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
});
after(async () => {
  await local?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sizes: one parser, a bare number is MiB (as the seed)', () => {
  it('glacier-chunk -p 64 cuts 64 MiB parts; -p 64MiB, -p 64M, -p 65536K the same', async () => {
    for (const p of ['64', '64MiB', '64M', '65536K']) {
      const r = await run('glacier-chunk', ['-p', p], { env, input: Buffer.alloc(3000, 1) });
      assert.equal(r.code, 0, show(r));
      const header = JSON.parse(r.stdout.subarray(0, r.stdout.indexOf(10)).toString()) as { partSize: number };
      assert.equal(header.partSize, 64 * MiB, `-p ${p}`);
    }
  });

  it('glacier-put -p 64 --dry-run reports 64 MiB parts; -p 2G reports 2 GiB', async () => {
    for (const [p, want] of [['64', 64 * MiB], ['2G', 2048 * MiB]] as const) {
      const r = await run('glacier-put', ['-v', 'sv', '--dry-run', '-p', p], { env, input: Buffer.alloc(5000, 2) });
      assert.equal(r.code, 0, show(r));
      assert.equal((JSON.parse(r.stdout.toString()) as { partSize: number }).partSize, want, `-p ${p}`);
    }
  });

  it('64B and 64K are the smaller units (not a valid part size: exit 2, naming the option)', async () => {
    for (const p of ['64B', '64K']) {
      const r = await run('glacier-chunk', ['-p', p], { env, input: Buffer.alloc(10) });
      assert.equal(r.code, 2, show(r));
      assert.match(errorLines(r.stderr, 'glacier-chunk')[0], /invalid --part-size/);
    }
  });
});

describe('durations: a unit is required; w, d, h, m, s and combinations', () => {
  const bare: [string, string[]][] = [
    ['glacier-abort', ['-v', 'sv', '--all', '--older-than', '24']],
    ['glacier-job', ['wait', '-v', 'sv', '--interval', '30', '--', 'SomeJobId0123456789']],
    ['glacier-job', ['get', '-v', 'sv', '--timeout', '48', '--', 'SomeArchiveId0123456789']],
  ];
  for (const [bin, args] of bare) {
    it(`${bin} ${args.filter((a) => /^--(older-than|interval|timeout)$/.test(a)).join(' ')} with a bare number: exit 2, the units named, no request`, async () => {
      await local.admin('DELETE', 'counters');
      const r = await run(bin, args, { env });
      assert.equal(r.code, 2, show(r));
      const lines = errorLines(r.stderr, bin);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /invalid --[a-z-]+ "\d+" \(a bare number has no unit\): use .*w, d, h, m, s/);
      assert.equal(Object.values(await local.counters()).reduce((a, b) => a + b, 0), 0, 'no request was sent');
    });
  }

  it('--older-than 1d12h aborts the upload 37 hours old and keeps the one 35 hours old; 1w keeps both', async () => {
    const ids: string[] = [];
    for (const hours of [37, 35]) {
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'ages', partSize: String(MiB) }));
      await local.admin('POST', `uploads/${uploadId}/age`, { seconds: hours * 3600 });
      ids.push(uploadId!);
    }
    const week = await run('glacier-abort', ['-v', 'ages', '--all', '--older-than', '1w'], { env });
    assert.equal(week.code, 0, show(week));
    assert.deepEqual(await openUploads(g, 'ages'), [...ids].sort());
    const r = await run('glacier-abort', ['-v', 'ages', '--all', '--older-than', '1d12h'], { env });
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { uploadId: string; aborted: boolean });
    assert.deepEqual(lines.map((l) => [l.uploadId, l.aborted]), [[ids[0], true]]);
    assert.deepEqual(await openUploads(g, 'ages'), [ids[1]]);
  });
});

describe('progress under a pseudo-terminal', () => {
  it('glacier-pack on a terminal: percent of the total, bytes, rate, elapsed and ETA, on one redrawn line', () => {
    const dir = join(work, 'pty');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.bin'), Buffer.alloc(3 * MiB, 7));
    const cmd = `cd '${work}' && '${process.execPath}' '${BIN('glacier-pack')}' --no-compress pty > out.tar`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...env, TERM: 'xterm' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const draws = r.stdout.split('\r').filter((l) => l.startsWith('glacier-pack: '));
    assert.ok(draws.length >= 1, JSON.stringify(r.stdout));
    assert.match(draws.at(-1)!, /^glacier-pack: 100\.0% of 3\.00 MiB, 3\.00 MiB read at [\d.]+ [KMG]?i?B\/s, elapsed \d+:\d\d, ETA 0:00\x1b\[K/);
  });
});

/** The archive's bytes, read back through a retrieval job (glacier-local runs with --job-delay 0). */
async function readBack(vault: string, archiveId: string): Promise<Buffer> {
  const { jobId } = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: vault, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
  const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: vault, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

describe('glacier-put -- CMD: the producer\'s exit status decides', () => {
  for (const p of ['64', '8']) {
    it(`sh -c 'head -c 50M /dev/urandom; exit 3' (-p ${p}: ${p === '64' ? 'one request' : 'multipart, parts sent'}): exit 1 naming the status, nothing stored, no upload left`, { timeout: 120_000 }, async () => {
      await local.admin('DELETE', 'counters'); // and the request log
      const r = await run('glacier-put', ['-v', 'prod', '-p', p, '--', 'sh', '-c', 'head -c 50M /dev/urandom; exit 3'], { env });
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stdout.length, 0);
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^glacier-put: sh -c 'head -c 50M \/dev\/urandom; exit 3' exited with status 3; nothing was stored$/);
      const log = (await local.admin<{ op: string; status: number }[]>('GET', 'requests'));
      assert.equal(log.filter((x) => (x.op === 'UploadArchive' || x.op === 'CompleteMultipartUpload') && x.status < 300).length, 0, 'nothing stored');
      if (p === '8') assert.ok(log.some((x) => x.op === 'UploadMultipartPart' && x.status < 300), 'parts had landed before the producer failed');
      assert.deepEqual(await openUploads(g, 'prod'), [], 'no upload left open');
    });
  }

  it('exit 0: the archive is stored, its tree hash confirmed, and reads back byte for byte', { timeout: 120_000 }, async () => {
    const data = Buffer.alloc(20 * MiB);
    for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeFileSync(join(work, 'producer-data.bin'), data);
    const r = await run('glacier-put', ['-v', 'prod', '-p', '8', '-d', 'from a command', '--from-command', '--', 'sh', '-c', `cat '${join(work, 'producer-data.bin')}'`], { env });
    assert.equal(r.code, 0, show(r));
    const res = JSON.parse(r.stdout.toString()) as { archiveId: string; checksum: string; size: number; parts: number };
    assert.equal(res.checksum, treeHash(data));
    assert.equal(res.size, data.length);
    assert.equal(res.parts, 3);
    assert.ok((await readBack('prod', res.archiveId)).equals(data));
    assert.deepEqual(await openUploads(g, 'prod'), []);
  });

  it('a command that cannot be started: exit 2, one line, nothing sent', async () => {
    const r = await run('glacier-put', ['-v', 'prod', '--', 'no-such-command-here', 'x'], { env });
    assert.equal(r.code, 2, show(r));
    assert.match(errorLines(r.stderr)[0], /^glacier-put: cannot run no-such-command-here x: command not found$/);
  });
});

describe('the printed resume command, pasted back through bash -c as printed', () => {
  // A shell with no AWS settings but a config file: where the upload goes comes only from the options given,
  // so a pasted command that drops one of them goes elsewhere and fails.
  let shellEnv: NodeJS.ProcessEnv;
  before(() => {
    const aws = join(work, 'aws');
    mkdirSync(aws, { recursive: true });
    writeFileSync(join(aws, 'config'), `[profile work]\nregion = ${REGION}\n`);
    writeFileSync(join(aws, 'credentials'), `[work]\naws_access_key_id = ${ACCESS_KEY_ID}\naws_secret_access_key = ${SECRET_ACCESS_KEY}\n`);
    shellEnv = {
      PATH: `${BIN('').replace(/\/$/, '')}:${process.env.PATH}`, HOME: work, XDG_STATE_HOME: join(work, 'paste-state'),
      AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials'), AWS_MAX_ATTEMPTS: '1',
      AWS_EC2_METADATA_DISABLED: 'true',
    };
  });

  /** Runs glacier-put with ARGS under a fault, returns the command its error line prints after "Resume with: ". */
  async function failing(args: string[], fault: string): Promise<string> {
    await local.admin('PUT', 'faults', { spec: fault });
    try {
      // From the folder the pasted command runs in: a relative FILE stays as typed.
      const r = spawnSync(process.execPath, [BIN('glacier-put'), '-v', 'paste', '--profile', 'work', '--endpoint', local.endpoint, '-p', '1M', ...args], { cwd: work, env: shellEnv, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      const m = /Resume with: (.*)$/m.exec(r.stderr);
      assert.ok(m, r.stderr);
      return m[1];
    } finally {
      await local.admin('DELETE', 'faults');
    }
  }

  function paste(cmd: string): { code: number | null; out: string; err: string } {
    const r = spawnSync('bash', ['-c', cmd], { cwd: work, env: shellEnv, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  it("a FILE with a space and a quote, --profile, --endpoint: the pasted command completes the same upload", { timeout: 120_000 }, async () => {
    const name = "my backup's file.bin";
    const data = Buffer.alloc(4 * MiB, 9);
    writeFileSync(join(work, name), data);
    const cmd = await failing([name], 'UploadMultipartPart:500:skip=2');
    assert.match(cmd, /^glacier-put -v paste --resume=\S+ --profile work --endpoint \S+ 'my backup'\\''s file\.bin'$/);
    const uploadId = /--resume=(\S+)/.exec(cmd)![1];
    assert.deepEqual(await openUploads(g, 'paste'), [uploadId]);
    const r = paste(cmd);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { uploadId: string; archiveId: string; checksum: string };
    assert.equal(res.uploadId, uploadId);
    assert.equal(res.checksum, treeHash(data));
    assert.deepEqual(await openUploads(g, 'paste'), []);
  });

  it("an upload id that starts with '-': printed as --resume=ID, and the paste completes it", { timeout: 120_000 }, async () => {
    let id = '';
    for (let i = 0; i < 2000 && !id.startsWith('-'); i++) {
      id = (await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'paste', partSize: String(MiB) }))).uploadId!;
    }
    assert.ok(id.startsWith('-'), 'glacier-local gave no id starting with -');
    const data = Buffer.alloc(3 * MiB, 5);
    writeFileSync(join(work, 'dash.bin'), data);
    const cmd = await failing([`--resume=${id}`, 'dash.bin'], 'UploadMultipartPart:500');
    assert.ok(cmd.includes(` --resume=${id} `), cmd);
    const r = paste(cmd);
    assert.equal(r.code, 0, r.err);
    const res = JSON.parse(r.out) as { uploadId: string; checksum: string };
    assert.equal(res.uploadId, id);
    assert.equal(res.checksum, treeHash(data));
  });

  it('a producer: the pasted command runs it again after --', { timeout: 120_000 }, async () => {
    const data = Buffer.alloc(3 * MiB, 3);
    writeFileSync(join(work, 'replay.bin'), data);
    const cmd = await failing(['--', 'cat', 'replay.bin'], 'UploadMultipartPart:500:skip=1');
    assert.match(cmd, /^glacier-put -v paste --resume=\S+ --profile work --endpoint \S+ -- cat replay\.bin$/);
    const r = paste(cmd);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { checksum: string }).checksum, treeHash(data));
  });
});

describe('progress of a pipe throttled to 4 MB/s, under a pseudo-terminal', () => {
  it('glacier-put --expected-size: rate and ETA within 20% of the real ones, redrawn at least once a second', { timeout: 120_000 }, async () => {
    const RATE = 4_000_000;
    const TOTAL = 56_000_000; // 14 s
    const producer = join(work, 'throttled.mjs');
    writeFileSync(producer, `const rate = ${RATE}, total = ${TOTAL}, t0 = Date.now(); let sent = 0;
const tick = () => {
  const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * rate));
  if (due > sent) { process.stdout.write(Buffer.alloc(due - sent, 1)); sent = due; }
  if (sent < total) setTimeout(tick, 20);
};
tick();
`);
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = `${q(process.execPath)} ${q(producer)} | ${q(process.execPath)} ${q(BIN('glacier-put'))} -v pty --expected-size ${TOTAL}B > ${q(join(work, 'pty.json'))}`;
    const t0 = Date.now();
    const out = await new Promise<string>((resolve) => {
      const p = spawn('script', ['-qec', cmd, '/dev/null'], { env: { ...env, TERM: 'xterm' }, stdio: ['ignore', 'pipe', 'inherit'] });
      let text = '';
      p.stdout.on('data', (d) => (text += d));
      p.on('close', () => resolve(text));
    });
    const wall = (Date.now() - t0) / 1000;
    assert.equal((JSON.parse(readFileSync(join(work, 'pty.json'), 'utf8')) as { size: number }).size, TOTAL);
    const draws = out.split(/\r|\n/).map((l) => l.replace(/\x1b\[K/g, '')).filter((l) => l.startsWith('glacier-put: '));
    const parsed = draws.map((l) => {
      const m = /^glacier-put: ([\d.]+)% of [\d.]+ MiB, ([\d.]+) (B|KiB|MiB) read at ([\d.]+) (B|KiB|MiB)\/s, elapsed ([\d:]+), ETA ([\d:]+|--:--)$/.exec(l);
      assert.ok(m, `unexpected line: ${JSON.stringify(l)}`);
      const unit = (u: string) => (u === 'MiB' ? MiB : u === 'KiB' ? 1024 : 1);
      const secs = (clock: string) => clock.split(':').reduce((a, x) => a * 60 + Number(x), 0);
      return { done: Number(m[2]) * unit(m[3]), rate: Number(m[4]) * unit(m[5]), elapsed: secs(m[6]), eta: m[7] === '--:--' ? NaN : secs(m[7]) };
    });
    // Redrawn at least once a second: about two draws per second of the run.
    assert.ok(parsed.length >= wall, `${parsed.length} draws in ${wall.toFixed(1)} s`);
    // Once the rate window is full (5 s) and while a few seconds remain, the figures match the pipe's.
    const steady = parsed.filter((d) => d.elapsed >= 6 && d.done <= TOTAL - 5 * RATE);
    assert.ok(steady.length >= 2, JSON.stringify(parsed));
    for (const d of steady) {
      assert.ok(Math.abs(d.rate - RATE) <= 0.2 * RATE, `rate ${d.rate} vs ${RATE}`);
      const real = (TOTAL - d.done) / RATE;
      assert.ok(Math.abs(d.eta - real) <= 0.2 * real, `ETA ${d.eta} s vs ${real.toFixed(1)} s`);
    }
  });
});
