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
import { within } from './helpers/time.js';

const MiB = 2 ** 20;
let local: Local;
let g: GlacierClient;
let work: string;
let env: NodeJS.ProcessEnv;

/** The admin calls used here are idempotent (PUT/DELETE): one retry covers a kept-alive socket closed under us. */
const admin = <T = unknown>(method: string, path: string, body?: unknown): Promise<T> => local.admin<T>(method, path, body).catch(() => local.admin<T>(method, path, body));

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

  it('64B and 64K are the smaller units (below a part size: rounded up to 1 MiB with a warning naming them)', async () => {
    for (const p of ['64B', '64K']) {
      const r = await run('glacier-chunk', ['-p', p], { env, input: Buffer.alloc(10) });
      assert.equal(r.code, 0, show(r));
      assert.equal(JSON.parse(r.stdout.toString().split('\n')[0]).partSize, 1 << 20, show(r));
      assert.match(r.stderr, new RegExp(`glacier-chunk: part size ${p} rounded up to 1 MiB`), show(r));
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
      await admin('DELETE', 'counters');
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
  // 16 MiB: one request in a 32 MiB part, or sixteen 1 MiB parts (the producer cannot write them all before several
  // have been sent, glacier-put reading no faster than it sends).
  for (const p of ['32', '1']) {
    it(`sh -c 'head -c 16M /dev/urandom; exit 3' (-p ${p}: ${p === '32' ? 'one request' : 'multipart, parts sent'}): exit 1 naming the status, nothing stored, no upload left`, { timeout: within(120_000) }, async () => {
      await admin('DELETE', 'counters'); // and the request log
      const r = await run('glacier-put', ['-v', 'prod', '-p', p, '--', 'sh', '-c', 'head -c 16M /dev/urandom; exit 3'], { env });
      assert.equal(r.code, 1, show(r));
      assert.equal(r.stdout.length, 0);
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /^glacier-put: sh -c 'head -c 16M \/dev\/urandom; exit 3' exited with status 3; nothing was stored$/);
      const log = (await admin<{ op: string; status: number }[]>('GET', 'requests'));
      assert.equal(log.filter((x) => (x.op === 'UploadArchive' || x.op === 'CompleteMultipartUpload') && x.status < 300).length, 0, 'nothing stored');
      if (p === '1') assert.ok(log.some((x) => x.op === 'UploadMultipartPart' && x.status < 300), 'parts had landed before the producer failed');
      assert.deepEqual(await openUploads(g, 'prod'), [], 'no upload left open');
    });
  }

  it('exit 0: the archive is stored, its tree hash confirmed, and reads back byte for byte', { timeout: within(120_000) }, async () => {
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
    await admin('PUT', 'faults', { spec: fault });
    try {
      // From the folder the pasted command runs in: a relative FILE stays as typed.
      const r = spawnSync(process.execPath, [BIN('glacier-put'), '-v', 'paste', '--profile', 'work', '--endpoint', local.endpoint, '-p', '1M', ...args], { cwd: work, env: shellEnv, encoding: 'utf8' });
      assert.equal(r.status, 1, r.stderr);
      const m = /Resume with: (.*)$/m.exec(r.stderr);
      assert.ok(m, r.stderr);
      return m[1];
    } finally {
      await admin('DELETE', 'faults');
    }
  }

  function paste(cmd: string): { code: number | null; out: string; err: string } {
    const r = spawnSync('bash', ['-c', cmd], { cwd: work, env: shellEnv, encoding: 'utf8' });
    return { code: r.status, out: r.stdout, err: r.stderr };
  }

  it("a FILE with a space and a quote, --profile, --endpoint: the pasted command completes the same upload", { timeout: within(120_000) }, async () => {
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

  it("an upload id that starts with '-': printed as --resume=ID, and the paste completes it", { timeout: within(120_000) }, async () => {
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

  it('a producer: the pasted command runs it again after --', { timeout: within(120_000) }, async () => {
    const data = Buffer.alloc(3 * MiB, 3);
    writeFileSync(join(work, 'replay.bin'), data);
    const cmd = await failing(['--', 'cat', 'replay.bin'], 'UploadMultipartPart:500:skip=1');
    assert.match(cmd, /^glacier-put -v paste --resume=\S+ --profile work --endpoint \S+ -- cat replay\.bin$/);
    const r = paste(cmd);
    assert.equal(r.code, 0, r.err);
    assert.equal((JSON.parse(r.out) as { checksum: string }).checksum, treeHash(data));
  });
});

describe('a waiting job under a pseudo-terminal', () => {
  it('glacier-job get: a line with the job\'s status and the time waited, redrawn while it waits', { timeout: within(60_000) }, async () => {
    const put = await run('glacier-put', ['-v', 'pty', '-q'], { env, input: 'waited for' });
    const id = (JSON.parse(put.stdout.toString()) as { archiveId: string }).archiveId;
    await admin('PUT', 'config', { jobDelays: { Bulk: 3000 } });
    try {
      const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
      const cmd = `${q(process.execPath)} ${q(BIN('glacier-job'))} get -v pty --tier Bulk --interval 1s -o ${q(join(work, 'waited.bin'))} -- ${q(id)}`;
      const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...env, TERM: 'xterm' } });
      assert.equal(r.status, 0, r.stdout);
      assert.equal(readFileSync(join(work, 'waited.bin'), 'utf8'), 'waited for');
      const lines = r.stdout.split(/\r|\n/).map((l) => l.replace(/\x1b\[K/g, '')).filter((l) => /^glacier-job: job /.test(l));
      const waits = lines.filter((l) => /: InProgress, waiting 0:0\d$/.test(l));
      assert.ok(waits.length >= 3, JSON.stringify(lines));
      assert.ok(new Set(waits.map((l) => l.slice(-4))).size >= 2, 'the time waited moves');
      assert.ok(lines.some((l) => /: Succeeded, waiting 0:0\d$/.test(l)), JSON.stringify(lines));
    } finally {
      await admin('PUT', 'config', { jobDelays: { Bulk: 0 } });
    }
  });
});

describe('progress of a pipe throttled to 4 MB/s, under a pseudo-terminal', () => {
  it('glacier-put --expected-size: rate and ETA within 20% of the pipe\'s real ones, redrawn at least once a second', { timeout: within(120_000) }, async () => {
    const RATE = 4_000_000;
    const TOTAL = 56_000_000; // 14 s
    const producer = join(work, 'throttled.mjs');
    // A steady 40,000 bytes every 10 ms, never catching up in bursts when a timer fires late (on a loaded machine
    // the pipe is then a little slower, but as steady); it records when it started and ended, for the real rate.
    const times = join(work, 'throttled.times');
    // It also logs [ms since start, bytes sent] at each step, so the rate the pipe carried over any window is known.
    writeFileSync(producer, `const fs = await import('node:fs'); const total = ${TOTAL}, step = ${RATE / 100}, t0 = Date.now(); let sent = 0;
const log = [[0, 0]];
const timer = setInterval(() => {
  process.stdout.write(Buffer.alloc(Math.min(step, total - sent), 1));
  sent += step;
  log.push([Date.now() - t0, Math.min(sent, total)]);
  if (sent >= total) { clearInterval(timer); fs.writeFileSync(${JSON.stringify(times)}, JSON.stringify([t0, Date.now(), log])); }
}, 10);
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
    const [p0, p1, log] = JSON.parse(readFileSync(times, 'utf8')) as [number, number, [number, number][]];
    const real = TOTAL / ((p1 - p0) / 1000); // bytes/s the pipe really carried
    assert.ok(real > RATE / 2, `the producer managed only ${real} B/s`);
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
    const steady = parsed.filter((d) => d.elapsed >= 6 && d.done <= TOTAL - 5 * real);
    assert.ok(steady.length >= 2, JSON.stringify(parsed));
    // On a busy machine the pipe's pace varies: each draw is compared with what the pipe carried over the 5 s window
    // before the moment it had sent the bytes the draw counts (the pipe's buffer is small next to 5 s of it).
    const sentAt = (ms: number) => {
      let i = 0;
      while (i + 1 < log.length && log[i + 1][0] <= ms) i++;
      return log[i][1];
    };
    const whenSent = (bytes: number) => (log.find(([, b]) => b >= bytes) ?? log[log.length - 1])[0];
    for (const d of steady) {
      const t = whenSent(d.done);
      const windowRate = (d.done - sentAt(t - 5000)) / 5;
      assert.ok(Math.abs(d.rate - windowRate) <= 0.2 * windowRate, `rate ${d.rate} vs ${windowRate} over the 5 s before (${real} over the run)`);
      const left = (TOTAL - d.done) / windowRate;
      assert.ok(Math.abs(d.eta - left) <= 0.2 * left + 1, `ETA ${d.eta} s vs ${left.toFixed(1)} s`);
    }
  });
});

// Usage faults are checked against an endpoint that refuses connections: had a request gone out, the exit
// status would be 1 (connection refused), so exit 2 also says nothing was sent.
describe('one surface: each binary x each common option, the same behaviour and exit code', { concurrency: 3 }, () => {
  const SECRET = SECRET_ACCESS_KEY;
  let archiveId = '';
  let file = '';
  let tenv: NodeJS.ProcessEnv;
  before(async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'tv' }));
    file = join(work, 'table.bin');
    writeFileSync(file, 'table data\n');
    // An archive id for glacier-rm that does not start with '-' (so it can sit among options).
    while (!archiveId || archiveId.startsWith('-')) {
      const r = await run('glacier-put', ['-v', 'tv', '-q', file], { env });
      archiveId = (JSON.parse(r.stdout.toString()) as { archiveId: string }).archiveId;
    }
    const aws = join(work, 'aws-table');
    mkdirSync(aws, { recursive: true });
    writeFileSync(join(aws, 'config'), `[profile work]\nregion = ${REGION}\n`);
    writeFileSync(join(aws, 'credentials'), `[work]\naws_access_key_id = ${ACCESS_KEY_ID}\naws_secret_access_key = ${SECRET_ACCESS_KEY}\n`);
    tenv = { ...env, AWS_CONFIG_FILE: join(aws, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(aws, 'credentials') };
  });

  interface Row {
    bin: string;
    /** A command that succeeds; options are appended to it. */
    ok: () => string[];
    input?: string;
    /** Prints JSON lines on stdout (so takes --json). */
    json: boolean;
    /** The same command with a FILE that does not exist (undefined: the binary takes no FILE). */
    missing?: () => string[];
    /** '-' where a FILE goes, and the stdin it reads, with a check of what it printed. */
    dash?: { args: () => string[]; input: () => string; check: (stdout: Buffer) => void };
  }
  const nope = () => join(work, 'no-such-file');
  const rows: Row[] = [
    { bin: 'glacier-put', ok: () => ['-v', 'tv', '--dry-run'], input: 'abc', json: true, missing: () => ['-v', 'tv', nope()],
      dash: { args: () => ['-v', 'tv', '--dry-run', '-'], input: () => 'from stdin', check: (o) => assert.equal((JSON.parse(o.toString()) as { size: number }).size, 10) } },
    { bin: 'glacier-chunk', ok: () => ['-p', '1M'], input: 'abc', json: false, missing: () => [nope()],
      dash: { args: () => ['-'], input: () => 'from stdin', check: (o) => assert.match(o.toString(), /"size":10/) } },
    { bin: 'glacier-pack', ok: () => ['--no-compress', file], json: false, missing: () => [nope()],
      dash: { args: () => ['--no-compress', '--files-from', '-'], input: () => `${file}\n`, check: (o) => assert.ok(o.includes(Buffer.from('table data'))) } },
    { bin: 'glacier-treehash', ok: () => [file], json: false, missing: () => [nope()],
      dash: { args: () => ['-'], input: () => 'table data\n', check: (o) => assert.match(o.toString(), /^[0-9a-f]{64}  -\n$/) } },
    { bin: 'glacier-job', ok: () => ['list', '-v', 'tv'], json: true, missing: undefined },
    { bin: 'glacier-ls', ok: () => ['-v', 'tv'], json: true },
    { bin: 'glacier-vault', ok: () => ['describe', 'tv'], json: true },
    { bin: 'glacier-abort', ok: () => ['-v', 'tv', '--all', '--dry-run'], json: true },
    { bin: 'glacier-rm', ok: () => ['-v', 'tv', '--dry-run', archiveId], json: true,
      dash: { args: () => ['-v', 'tv', '--dry-run', '-'], input: () => `${archiveId}\n`, check: (o) => assert.equal((JSON.parse(o.toString()) as { archiveId: string }).archiveId, archiveId) } },
  ];

  const go = (r: Row, extra: string[], e = tenv, input = r.input) => run(r.bin, [...r.ok(), ...extra], { env: e, input });
  const dead = () => ({ ...tenv, AWS_ENDPOINT_URL_GLACIER: 'http://127.0.0.1:1', AWS_MAX_ATTEMPTS: '1' });

  for (const r of rows) {
    describe(r.bin, { concurrency: 3 }, () => {
      it(r.json ? '--json: exit 0, JSON lines on stdout' : '--json: not a JSON printer, refused as an unknown option (exit 2)', async () => {
        const x = await go(r, ['--json']);
        if (!r.json) {
          assert.equal(x.code, 2, show(x));
          assert.match(x.stderr, /unknown option --json/);
          return;
        }
        assert.equal(x.code, 0, show(x));
        for (const line of x.stdout.toString().split('\n').filter(Boolean)) JSON.parse(line);
      });

      it('-q: exit 0, nothing on stderr', async () => {
        const x = await go(r, ['-q']);
        assert.equal(x.code, 0, show(x));
        assert.equal(x.stderr, '');
      });

      it('--progress and --no-progress (the last one wins): accepted, exit 0', async () => {
        const x = await go(r, ['--progress', '--no-progress']);
        assert.equal(x.code, 0, show(x));
        assert.doesNotMatch(x.stderr, /elapsed|waiting/, 'no progress after --no-progress');
      });

      it('--debug: exit 0, and the secret key appears nowhere', async () => {
        const x = await go(r, ['--debug']);
        assert.equal(x.code, 0, show(x));
        assert.ok(!x.stderr.includes(SECRET) && !x.stdout.includes(Buffer.from(SECRET)), 'secret printed');
      });

      for (const opt of ['--region', '--profile', '--endpoint']) {
        it(`${opt} without a value: exit 2, one line naming it, no request`, async () => {
          const x = await go(r, [opt], dead());
          assert.equal(x.code, 2, show(x));
          const lines = errorLines(x.stderr, r.bin);
          assert.equal(lines.length, 1, x.stderr);
          assert.match(lines[0], new RegExp(`option ${opt} needs a value`));
        });
      }

      it('--profile work (keys from the profile, none in the environment): exit 0', async () => {
        const e = { ...tenv };
        delete e.AWS_ACCESS_KEY_ID;
        delete e.AWS_SECRET_ACCESS_KEY;
        const x = await go(r, ['--profile', 'work'], e);
        assert.equal(x.code, 0, show(x));
      });

      it('--profile nosuch: exit 2, the profile named, no request', async () => {
        const x = await go(r, ['--profile', 'nosuch'], dead());
        assert.equal(x.code, 2, show(x));
        assert.match(errorLines(x.stderr, r.bin)[0], /The config profile \(nosuch\) could not be found/);
      });

      if (r.missing) {
        const missing = r.missing;
        it('a FILE that does not exist: exit 2, one line', async () => {
          const x = await run(r.bin, missing(), { env: tenv, input: r.input });
          assert.equal(x.code, 2, show(x));
          assert.equal(errorLines(x.stderr, r.bin).length, 1, x.stderr);
          assert.match(x.stderr, /no such file/);
        });
      }

      if (r.dash) {
        const dash = r.dash;
        it(`'-' is stdin: ${dash.args().join(' ')}`, async () => {
          const x = await run(r.bin, dash.args(), { env: tenv, input: dash.input() });
          assert.equal(x.code, 0, show(x));
          dash.check(x.stdout);
        });
      }
    });
  }

  it("glacier-job output -o - writes to stdout; -o /nonexistent/x.bin is one line, exit 2, before any request", async () => {
    const put = await run('glacier-put', ['-v', 'tv', '-q'], { env, input: 'job output bytes' });
    const id = (JSON.parse(put.stdout.toString()) as { archiveId: string }).archiveId;
    const { jobId } = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'tv', jobParameters: { Type: 'archive-retrieval', ArchiveId: id } }));
    const x = await run('glacier-job', ['output', '-v', 'tv', '-o', '-', '--', jobId!], { env });
    assert.equal(x.code, 0, show(x));
    assert.equal(x.stdout.toString(), 'job output bytes');
    const bad = await run('glacier-job', ['output', '-v', 'tv', '-o', '/nonexistent/x.bin', '--', jobId!], { env: dead() });
    assert.equal(bad.code, 2, show(bad));
    assert.deepEqual(errorLines(bad.stderr, 'glacier-job'), ['glacier-job: cannot write -o /nonexistent/x.bin: no such folder /nonexistent']);
  });

  it('glacier-job get --interval 30s: the first poll at once (a job done at once takes seconds, not 30)', async () => {
    const put = await run('glacier-put', ['-v', 'tv', '-q'], { env, input: 'polled' });
    const id = (JSON.parse(put.stdout.toString()) as { archiveId: string }).archiveId;
    const x = await run('glacier-job', ['get', '-v', 'tv', '--interval', '30s', '-q', '--', id], { env });
    assert.equal(x.code, 0, show(x));
    assert.equal(x.stdout.toString(), 'polled');
    assert.ok(x.ms < Math.min(within(15_000), 28_000), `${x.ms} ms (the interval is 30 s)`);
  });

  it('glacier-put -v V FOLDER (not a spool) points to glacier-pack: exit 2, one line', async () => {
    const dir = join(work, 'docs-folder');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.txt'), 'a');
    const x = await run('glacier-put', ['-v', 'tv', dir], { env });
    assert.equal(x.code, 2, show(x));
    assert.match(errorLines(x.stderr)[0], /is a folder: to upload a folder, pack it: glacier-pack .* \| glacier-put -v tv/);
    // A folder name with a space and a quote: the suggested command is quoted, ready to paste.
    const odd = join(work, "my docs's");
    mkdirSync(odd, { recursive: true });
    const y = await run('glacier-put', ['-v', 'tv', odd], { env });
    assert.equal(y.code, 2, show(y));
    const m = /pack it: (.*) \| glacier-put -v tv /.exec(errorLines(y.stderr)[0]);
    assert.ok(m, show(y));
    const words = spawnSync('bash', ['-c', `printf '%s\\n' ${m[1]}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    assert.deepEqual(words, ['glacier-pack', odd]);
  });
});
