// glacier-treehash and glacier-chunk, the real binaries over real pipes: tree hashes agree with TreeHasher for
// files, stdin and across the parallel hasher's segment boundaries; -c checks a list; chunk frames and spool
// folders carry exactly the input with the right hashes; bad usage is refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, promises as fsp, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MiB, TreeHasher } from '../src/core/tree-hash.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { errorLines, run, sh, show, start } from './helpers/bins.js';
import { BIN } from './helpers/local.js';
import { within } from './helpers/time.js';

const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
const th = (b: Uint8Array) => new TreeHasher().update(b).digest().treeHash;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gp-chunk-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

function file(name: string, data: Buffer): string {
  const p = join(work, name);
  writeFileSync(p, data);
  return p;
}

describe('glacier-treehash', () => {
  // 16 MiB is the parallel hasher's segment: sizes straddle it and its multiples.
  const sizes = [0, 1, MiB - 1, MiB, MiB + 1, 3 * MiB + 17, 16 * MiB, 16 * MiB + 1, 40 * MiB + 7];
  let files: { path: string; data: Buffer }[];
  before(() => {
    files = sizes.map((n, i) => {
      const data = randomBytes(n);
      return { path: file(`th-${i}-${n}.bin`, data), data };
    });
  });

  it('prints "<tree hash>  <name>" per FILE, matching TreeHasher', { timeout: within(60_000) }, async () => {
    const r = await run('glacier-treehash', files.map((f) => f.path), { env });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr, '');
    const want = files.map((f) => `${th(f.data)}  ${f.path}\n`).join('');
    assert.equal(r.stdout.toString(), want);
  });

  it('reads stdin when given - or no FILE', { timeout: within(30_000) }, async () => {
    const data = randomBytes(20 * MiB + 3);
    for (const args of [[], ['-']]) {
      const r = await run('glacier-treehash', args, { env, input: data });
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.toString(), `${th(data)}  -\n`);
    }
    const piped = await sh('head -c 5000000 "$1" | "$NODE" "$BIN/glacier-treehash"', [files.at(-1)!.path], { env }).done;
    assert.equal(piped.code, 0, show(piped));
    assert.equal(piped.stdout.toString(), `${th(files.at(-1)!.data.subarray(0, 5_000_000))}  -\n`);
  });

  it('-c LIST: OK for a good file, FAILED for a corrupted one, exit 3', async () => {
    const good = file('good.bin', randomBytes(2 * MiB + 5));
    const badData = randomBytes(2 * MiB + 5);
    const bad = file('bad.bin', badData);
    const listed = await run('glacier-treehash', [good, bad], { env });
    assert.equal(listed.code, 0, show(listed));
    const list = file('SUMS', listed.stdout);
    const ok = await run('glacier-treehash', ['-c', list], { env });
    assert.equal(ok.code, 0, show(ok));
    assert.equal(ok.stdout.toString(), `${good}: OK\n${bad}: OK\n`);

    badData[MiB + 1] ^= 1;
    writeFileSync(bad, badData);
    const r = await run('glacier-treehash', ['-c', list], { env });
    assert.equal(r.code, 3, show(r));
    assert.equal(r.stdout.toString(), `${good}: OK\n${bad}: FAILED\n`);
    const lines = errorLines(r.stderr, 'glacier-treehash');
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0], /^glacier-treehash: 1 of 2 .*did not match/);
    // The list on stdin, --quiet: failures only.
    const q = await run('glacier-treehash', ['-q', '-c', '-'], { env, input: listed.stdout });
    assert.equal(q.code, 3, show(q));
    assert.equal(q.stdout.toString(), `${bad}: FAILED\n`);
  });

  it('a missing FILE: exit 2 (as in every binary) with one error line, the other files still hashed', async () => {
    const missing = join(work, 'no-such-file');
    const r = await run('glacier-treehash', [files[1].path, missing], { env });
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stdout.toString(), `${th(files[1].data)}  ${files[1].path}\n`);
    assert.match(r.stderr, new RegExp(`^glacier-treehash: ${missing}: no such file$`, 'm'));
    const only = await run('glacier-treehash', [missing], { env });
    assert.equal(only.code, 2, show(only));
    assert.equal(only.stdout.length, 0);
  });
});

interface Frame { part: number; offset: number; size: number; treeHash: string; sha256: string }

/** Parses a chunk stream: header, frames with their payloads, end record; nothing may follow. */
function parseChunks(buf: Buffer): { header: { format: string; version: number; partSize: number }; frames: { frame: Frame; data: Buffer }[]; end: Record<string, unknown> } {
  let pos = 0;
  const line = () => {
    const nl = buf.indexOf(10, pos);
    assert.ok(nl >= 0, `a line at byte ${pos}`);
    const l = buf.subarray(pos, nl).toString('utf8');
    pos = nl + 1;
    return JSON.parse(l);
  };
  const header = line();
  const frames: { frame: Frame; data: Buffer }[] = [];
  for (;;) {
    const f = line();
    if (f.end) {
      assert.equal(pos, buf.length, 'nothing after the end record');
      return { header, frames, end: f };
    }
    assert.deepEqual(Object.keys(f).sort(), ['offset', 'part', 'sha256', 'size', 'treeHash']);
    frames.push({ frame: f, data: buf.subarray(pos, pos + f.size) });
    pos += f.size;
    assert.ok(pos <= buf.length, 'payload within the stream');
  }
}

function checkFrames(frames: { frame: Frame; data: Buffer }[], data: Buffer, partSize: number): void {
  assert.equal(frames.length, Math.ceil(data.length / partSize));
  for (const [i, { frame, data: payload }] of frames.entries()) {
    const want = data.subarray(i * partSize, (i + 1) * partSize);
    assert.equal(frame.part, i);
    assert.equal(frame.offset, i * partSize);
    assert.equal(frame.size, want.length);
    assert.ok(payload.equals(want), `part ${i} payload`);
    assert.equal(frame.treeHash, th(want), `part ${i} treeHash`);
    assert.equal(frame.sha256, sha256(want), `part ${i} sha256`);
  }
}

describe('glacier-chunk', () => {
  // Parts over 1 MiB, where a part's tree hash and SHA-256 differ.
  it('cuts stdin into header / part frames / end record with the right sizes and hashes', { timeout: within(30_000) }, async () => {
    const data = randomBytes(7 * MiB + 5);
    const r = await run('glacier-chunk', ['-p', '2M'], { env, input: data });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr, '');
    const { header, frames, end } = parseChunks(r.stdout);
    assert.deepEqual(header, { format: 'glacier-chunks', version: 1, partSize: 2 * MiB });
    checkFrames(frames, data, 2 * MiB);
    assert.equal(frames.length, 4);
    assert.deepEqual(end, { end: true, parts: 4, size: data.length, treeHash: th(data) });
  });

  it('exact multiple of the part size through a shell pipe; default part sizes (64 MiB for stdin, 8 MiB for a FILE)', { timeout: within(30_000) }, async () => {
    const data = randomBytes(2 * MiB);
    const f = file('chunk-2m.bin', data);
    const r = await sh('cat "$1" | "$NODE" "$BIN/glacier-chunk" -p 1MiB', [f], { env }).done;
    assert.equal(r.code, 0, show(r));
    const parsed = parseChunks(r.stdout);
    checkFrames(parsed.frames, data, MiB);
    assert.deepEqual(parsed.end, { end: true, parts: 2, size: data.length, treeHash: th(data) });

    const stdin = parseChunks((await run('glacier-chunk', [], { env, input: data })).stdout);
    assert.equal(stdin.header.partSize, 64 * MiB);
    checkFrames(stdin.frames, data, 64 * MiB);
    const fromFile = parseChunks((await run('glacier-chunk', [f], { env })).stdout);
    assert.equal(fromFile.header.partSize, 8 * MiB);
    checkFrames(fromFile.frames, data, 8 * MiB);
  });

  it('-o DIR writes the parts as files and manifest.json', { timeout: within(30_000) }, async () => {
    const data = randomBytes(4 * MiB + 1000);
    const out = join(work, 'spool');
    const r = await run('glacier-chunk', ['-p', '2M', '-o', out], { env, input: data });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.length, 0, 'nothing on stdout with -o');
    const m = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
    assert.equal(m.format, 'glacier-chunks');
    assert.equal(m.version, 1);
    assert.equal(m.partSize, 2 * MiB);
    assert.equal(m.size, data.length);
    assert.equal(m.treeHash, th(data));
    assert.equal(m.parts.length, 3);
    checkFrames(m.parts.map((p: Frame & { file: string }) => ({ frame: p, data: readFileSync(join(out, p.file)) })), data, 2 * MiB);
    assert.deepEqual(readdirSync(out).sort(), ['manifest.json', ...m.parts.map((p: { file: string }) => p.file)].sort());
  });

  it('refuses a non-empty DIR (exit 2) and leaves it alone', async () => {
    const out = join(work, 'full');
    mkdirSync(out);
    writeFileSync(join(out, 'keep'), 'x');
    const r = await run('glacier-chunk', ['-p', '1M', '-o', out], { env, input: randomBytes(1000) });
    assert.equal(r.code, 2, show(r));
    const lines = errorLines(r.stderr, 'glacier-chunk');
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0], /^glacier-chunk: .*not empty/);
    assert.deepEqual(readdirSync(out), ['keep']);
    assert.ok(!existsSync(join(out, 'manifest.json')));
  });

  for (const [p, want] of [['3M', 4], ['512K', 1]] as const) {
    it(`-p ${p} is rounded up to ${want} MiB with a warning, as glacier-put does`, async () => {
      const r = await run('glacier-chunk', ['-p', p], { env, input: randomBytes(1000) });
      assert.equal(r.code, 0, show(r));
      assert.equal(JSON.parse(r.stdout.toString().split('\n')[0]).partSize, want * 2 ** 20);
      assert.match(r.stderr, new RegExp(`glacier-chunk: part size ${p} rounded up to ${want} MiB`));
    });
  }

  for (const p of ['abc', '0', '8G']) {
    it(`-p ${p}: exit 2 with one error line`, async () => {
      const r = await run('glacier-chunk', ['-p', p], { env, input: randomBytes(1000) });
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stdout.length, 0);
      const lines = errorLines(r.stderr, 'glacier-chunk');
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], /^glacier-chunk: invalid --part-size/);
    });
  }

  it('empty input: exit 2, and nothing on stdout (not even the header line)', async () => {
    const r = await run('glacier-chunk', ['-p', '1M'], { env, input: '' });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^glacier-chunk: empty input/);
    assert.equal(r.stdout.length, 0);
  });
});

// A named FIFO given as FILE (`mkfifo f; glacier-put f`, or a producer's pipe under a name) is opened without
// waiting for its writer and read on the event loop: it reads what the writer writes once one comes, and a
// signal ends the run at once whether or not a writer has come.
describe('a FIFO given as FILE', { concurrency: 2 }, () => {
  const putEnv = { ...env, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDFIFO', AWS_SECRET_ACCESS_KEY: 'fifo-secret', AWS_EC2_METADATA_DISABLED: 'true', XDG_STATE_HOME: '' };
  const bins: [string, (fifo: string) => string[], NodeJS.ProcessEnv, (out: Buffer, data: Buffer) => void][] = [
    ['glacier-treehash', (f) => [f], env, (out, data) => assert.equal(out.toString().split(/\s+/)[0], th(data))],
    ['glacier-chunk', (f) => ['-p', '1M', f], env, (out, data) => {
      const parsed = parseChunks(out);
      assert.deepEqual(parsed.end, { end: true, parts: 4, size: data.length, treeHash: th(data) });
      checkFrames(parsed.frames, data, MiB);
    }],
    ['glacier-put', (f) => ['-v', 'v', '--dry-run', '-p', '1M', f], putEnv, (out, data) => {
      const res = JSON.parse(out.toString()) as { checksum: string; size: number; description: string | null };
      assert.equal(res.checksum, th(data));
      assert.equal(res.size, data.length);
      assert.match(String(res.description), /^fifo-\d+$/, 'a named FIFO is described by its base name');
    }],
  ];
  /**
   * `p`, still waiting for input 1 s after it started, ends within 3 s (scaled: within()) of SIGTERM (else it is killed): with 143,
   * or, on a machine so busy that the binary had not yet installed its handlers, by the signal itself (Node's
   * default action, which also ends it at once; the code before this change hung in both states).
   */
  const endsAtOnce = async (p: ReturnType<typeof start>) => {
    try {
      await sleep(1000);
      assert.equal(p.proc.exitCode, null, `still waiting: ${p.stderr()}`);
      const t0 = Date.now();
      p.proc.kill('SIGTERM');
      const r = await Promise.race([p.done, sleep(within(3000)).then(() => null)]);
      assert.ok(r, `still running ${within(3000)} ms after the signal: ${p.stderr()}`);
      assert.ok(r.code === 143 || (r.code === null && r.signal === 'SIGTERM'), show(r));
      assert.ok(Date.now() - t0 < within(3000));
    } finally {
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL');
    }
  };
  let n = 0;
  const fifo = () => {
    const p = join(work, `fifo-${n++}`);
    execFileSync('mkfifo', [p]);
    return p;
  };
  it('glacier-put <(CMD) and /dev/stdin: read whole, and no description (a descriptor name says nothing)', { timeout: within(30_000) }, () => {
    const data = randomBytes(2 * MiB + 5);
    const src = file('procsub.bin', data);
    for (const how of [`<(cat ${src})`, `/dev/stdin < ${src}`, `/dev/stdin < <(cat ${src})`]) {
      const r = spawnSync('bash', ['-c', `"$NODE" "$BIN/glacier-put" -v v --dry-run -p 1M ${how}`], { env: { ...putEnv, NODE: process.execPath, BIN: BIN('').replace(/\/$/, ''), XDG_STATE_HOME: join(work, 'state') }, encoding: 'utf8' });
      assert.equal(r.status, 0, `${how}: ${r.stderr}`);
      const res = JSON.parse(r.stdout) as { checksum: string; size: number; description: string | null };
      assert.equal(res.size, data.length, how);
      assert.equal(res.checksum, th(data), how);
      assert.equal(res.description, null, how);
    }
  });
  for (const [bin, args, e, check] of bins) {
    it(`${bin}: waits for the writer, then reads all it writes`, { timeout: within(30_000) }, async () => {
      const f = fifo();
      const data = randomBytes(3 * MiB + 11);
      const p = start(bin, args(f), { env: { ...e, XDG_STATE_HOME: join(work, 'state') } });
      await sleep(400);
      const w = await fsp.open(f, 'w');
      await w.write(data.subarray(0, MiB));
      await sleep(100);
      await w.write(data.subarray(MiB));
      await w.close();
      const r = await p.done;
      assert.equal(r.code, 0, show(r));
      check(r.stdout, data);
    });
    it(`${bin}: SIGTERM while its stdin pipe is silent: exit 143 at once`, { timeout: within(30_000) }, async () => {
      const p = start(bin, args('-'), { env: { ...e, XDG_STATE_HOME: join(work, 'state') }, openStdin: true });
      p.proc.stdin!.write(randomBytes(1000));
      await endsAtOnce(p);
      p.proc.stdin!.end();
    });
    for (const writer of [false, true]) {
      it(`${bin}: SIGTERM ${writer ? 'while the writer is silent' : 'before any writer came'}: exit 143 at once`, { timeout: within(30_000) }, async () => {
        const f = fifo();
        const p = start(bin, args(f), { env: { ...e, XDG_STATE_HOME: join(work, 'state') } });
        const w = writer ? await fsp.open(f, 'w') : null;
        await w?.write(randomBytes(1000));
        await endsAtOnce(p);
        await w?.close();
      });
    }
  }
});
