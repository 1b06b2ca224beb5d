// Downloads into a file (`glacier-job output -o FILE`, glacier-restore --to DIR) write whole 4 KiB blocks of slices
// of 4 MiB past the page cache (O_DIRECT, through a second descriptor of FILE.partial): the kernel copies nothing,
// and a restore of a vault does not push everything else out of the page cache. What is left over (a tail short of
// a block, a --range not on a block) goes through the page cache. GLACIER_NO_DIRECT=1 writes everything through it.
// Seen from outside: the descriptors' flags (/proc/PID/fdinfo) and the file's pages in memory (fincore).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, InitiateJobCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { alignedBuffers, isAligned, releaseAligned } from '../src/core/aligned.js';
import { run, sh, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const VAULT = 'direct';
// Two whole slices, then 1 MiB and 4097 bytes: the last block is short (written through the page cache).
const SIZE = 9 * MiB + 4097;
const PAGE = 4096;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

let local: Local;
let g: GlacierClient;
let env: NodeJS.ProcessEnv;
let dir: string;
let data: Buffer;
let archiveId: string;
let checksum: string;

const admin = <T = Json>(method: string, path: string, body?: unknown) => local.admin<T>(method, path, body);

async function newJob(id = archiveId): Promise<string> {
  const r = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: id, Tier: 'Expedited' } }));
  return r.jobId!;
}

/** The open flags of each descriptor `pid` holds on `path` (from /proc/PID/fdinfo). */
function flagsOn(pid: number, path: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== path) continue;
      const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) flags.push(parseInt(m[1], 8));
    } catch {
      // closed meanwhile
    }
  }
  return flags;
}

/** Bytes of `path` in the page cache (fincore, util-linux); null where fincore is not installed. */
function resident(path: string): number | null {
  const r = spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return Number(r.stdout.trim());
}

/**
 * Starts `glacier-job output -o file` in pieces of 4 MiB, one at a time, with every piece after the first held by
 * glacier-local; waits until FILE.partial is 4 MiB long (the first piece written); returns the flags of the
 * descriptors it holds on FILE.partial and the bytes of FILE.partial in the page cache, then kills it.
 */
async function heldAfterFirstPiece(file: string, jobId: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<{ flags: number[]; res: number | null }> {
  await admin('PUT', 'faults', { spec: 'GetJobOutput:slow:skip=1,ms=600000' });
  const s = start('glacier-job', ['output', '-v', VAULT, '-c', '1', '--piece-size', '4M', '-o', file, '--', jobId], { env: { ...env, ...extraEnv } });
  try {
    await until(() => (statSync(`${file}.partial`, { throwIfNoEntry: false })?.size ?? 0) >= 4 * MiB, `the first piece written to ${file}.partial: ${s.stderr()}`, 60_000);
    return { flags: flagsOn(s.proc.pid!, `${file}.partial`), res: resident(`${file}.partial`) };
  } finally {
    s.proc.kill('SIGKILL');
    await s.done;
    await admin('DELETE', 'faults');
  }
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-direct-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  data = randomBytes(SIZE);
  checksum = treeHash(data);
  archiveId = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, archiveDescription: 'direct.bin', checksum }))).archiveId!;
});

after(async () => {
  await local?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('downloads into a file write past the page cache', { skip: process.platform !== 'linux' && 'O_DIRECT is Linux only' }, () => {
  it('-o FILE: FILE.partial is also open O_DIRECT, its written piece is not in the page cache, and the bytes are exact', async () => {
    const file = join(dir, 'out.bin');
    const jobId = await newJob();
    // An empty GLACIER_NO_DIRECT is as unset.
    const held = await heldAfterFirstPiece(file, jobId, { GLACIER_NO_DIRECT: '' });
    assert.ok(held.flags.some((f) => f & constants.O_DIRECT), `a descriptor with O_DIRECT on ${file}.partial (flags ${held.flags.map((f) => f.toString(8))})`);
    assert.ok(held.flags.some((f) => !(f & constants.O_DIRECT)), 'and the one opened O_EXCL|O_NOFOLLOW, through the page cache');
    // The first 4 MiB are written: none of it went through the page cache.
    if (held.res !== null) assert.ok(held.res < 4 * MiB / 4, `${held.res} bytes of FILE.partial in the page cache after 4 MiB written`);
    // Killed mid-way: the same command finishes it, exact.
    const r = await run('glacier-job', ['output', '-v', VAULT, '-o', file, '--', jobId], { env });
    assert.equal(r.code, 0, show(r));
    // Only the short last block went through the page cache, and what the check of a kept prefix read (4 MiB at most).
    const res = resident(file);
    if (res !== null) assert.ok(res <= 4 * MiB + 2 * PAGE, `${res} bytes of FILE in the page cache`);
    assert.ok(readFileSync(file).equals(data), 'FILE holds the archive exactly');
    assert.ok(!existsSync(`${file}.partial`) && !existsSync(`${file}.partial.json`));
  });

  it('GLACIER_NO_DIRECT=1: everything through the page cache, the bytes exact', async () => {
    const file = join(dir, 'buffered.bin');
    const jobId = await newJob();
    const held = await heldAfterFirstPiece(file, jobId, { GLACIER_NO_DIRECT: '1' });
    assert.ok(held.flags.length > 0 && held.flags.every((f) => !(f & constants.O_DIRECT)), `no O_DIRECT descriptor (flags ${held.flags.map((f) => f.toString(8))})`);
    if (held.res !== null) assert.ok(held.res >= 4 * MiB, `${held.res} bytes in the page cache: the written piece went through it`);
    const r = await run('glacier-job', ['output', '-v', VAULT, '-o', file, '--', jobId], { env: { ...env, GLACIER_NO_DIRECT: '1' } });
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(file).equals(data));
  });

  it('--range off a block boundary: exact (what is not on a block goes through the page cache)', async () => {
    const file = join(dir, 'range.bin');
    const jobId = await newJob();
    const r = await run('glacier-job', ['output', '-v', VAULT, '--range', `1001-${SIZE - 2}`, '-o', file, '--', jobId], { env });
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(file).equals(data.subarray(1001, SIZE - 1)), '--range 1001-(size-2) exact');
  });

  it('at most 64 MiB of buffers past the page cache: -c 8 of 8 MiB pieces all past it; -c 9, the piece that finds none free through it; both exact', async () => {
    const big = randomBytes(9 * 8 * MiB);
    const id = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: big, checksum: treeHash(big) }))).archiveId!;
    const job = await newJob(id);
    const resident8 = await (async () => {
      const file = join(dir, 'c8.bin');
      const r = await run('glacier-job', ['output', '-v', VAULT, '-c', '8', '--piece-size', '8M', '-o', file, '--', job], { env });
      assert.equal(r.code, 0, show(r));
      const res = resident(file);
      assert.ok(readFileSync(file).equals(big), '-c 8: exact');
      return res;
    })();
    const file = join(dir, 'c9.bin');
    const r = await run('glacier-job', ['output', '-v', VAULT, '-c', '9', '--piece-size', '8M', '-o', file, '--', job], { env });
    assert.equal(r.code, 0, show(r));
    const resident9 = resident(file);
    assert.ok(readFileSync(file).equals(big), '-c 9: exact');
    if (resident8 !== null) assert.ok(resident8 <= 2 * PAGE, `-c 8 (64 MiB of buffers): ${resident8} bytes in the page cache`);
    // All 9 GETs start at once: 8 take the 64 MiB, the ninth finds none and its 8 MiB piece goes through the page cache.
    if (resident9 !== null) assert.ok(resident9 >= 8 * MiB && resident9 <= 8 * MiB + 2 * PAGE, `-c 9: ${resident9} bytes in the page cache, one 8 MiB piece's`);
  });

  it('where address space is limited (ulimit -v) so that no aligned memory can be had: through the page cache, exact', async () => {
    const file = join(dir, 'limited.bin');
    const jobId = await newJob();
    // Enough for Node and the SDK; too little for a WebAssembly.Memory, which reserves about 10 GiB of guard regions.
    const r = await sh('ulimit -v 6000000 && exec "$BIN/glacier-job" output -v "$1" -o "$2" -- "$3"', [VAULT, file, jobId], { env }).done;
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(file).equals(data), 'FILE holds the archive exactly');
  });

  it('glacier-restore --to DIR: exact, and the archive is not left in the page cache', async () => {
    const to = join(dir, 'restored');
    const line = JSON.stringify({ ArchiveId: archiveId, ArchiveDescription: 'direct.bin', CreationDate: new Date().toISOString(), Size: SIZE, SHA256TreeHash: checksum });
    const r = await run('glacier-restore', ['-v', VAULT, '--to', to, '--state', join(dir, 'restore.state'), '--interval', '200ms'], { env, input: `${line}\n` });
    assert.equal(r.code, 0, show(r));
    const file = join(to, 'direct.bin');
    assert.ok(readFileSync(file).equals(data), 'the restored file is the archive');
    // Read back just now: resident since; so the check is of a second copy, restored afresh, before any read.
    rmSync(to, { recursive: true });
    rmSync(join(dir, 'restore.state'), { recursive: true, force: true });
    const again = await run('glacier-restore', ['-v', VAULT, '--to', to, '--state', join(dir, 'restore2.state'), '--interval', '200ms'], { env, input: `${line}\n` });
    assert.equal(again.code, 0, show(again));
    const res = resident(file);
    if (res !== null) assert.ok(res <= 2 * PAGE, `${res} bytes of the restored file in the page cache`);
    assert.ok(readFileSync(file).equals(data));
  });
});

describe('aligned memory: one WebAssembly.Memory a process, shared by its downloads up to the budget', () => {
  it('hands out aligned buffers from one memory, refuses past the budget, and takes them back', () => {
    const size = 4 * MiB;
    const budget = 64 * MiB;
    const a = alignedBuffers(8, size, budget);
    const b = alignedBuffers(6, size, budget);
    assert.ok(a && b, 'two downloads side by side within the budget');
    const all = [...a, ...b];
    assert.ok(all.every((x) => isAligned(x) && x.length === size), 'every buffer aligned, of the size asked');
    assert.equal(new Set(all.map((x) => x.buffer)).size, 1, 'all cut from one WebAssembly.Memory (each reserves ~10 GiB of address space)');
    assert.equal(new Set(all.map((x) => x.byteOffset)).size, all.length, 'no buffer handed out twice');
    assert.equal(alignedBuffers(3, size, budget), null, 'past the budget (14 + 3 > 16 buffers): none, nothing taken');
    const c = alignedBuffers(2, size, budget);
    assert.ok(c && c.every((x) => !all.some((y) => y.byteOffset === x.byteOffset)), 'the last two are still free, and not in use');
    releaseAligned([...a, ...b, ...c]);
    const again = alignedBuffers(16, size, budget);
    assert.ok(again, 'once released, the whole budget can be taken again');
    assert.ok(!isAligned(Buffer.allocUnsafeSlow(size)), 'an ordinary Buffer is not counted as aligned');
    releaseAligned(again);
  });
});
