// glacier-put end to end: the real binary (and glacier-chunk, glacier-treehash) spawned over real pipes against a
// real glacier-local. Round trips of edge sizes through stdin and as FILE, read back through archive-retrieval
// jobs; raw, chunk-stream and spool-folder input; part-size selection and the 10,000-part overflow; kill -9 and
// SIGINT with resume from the journal; injected faults; and bad input that must be refused without leaving
// anything behind.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  CreateVaultCommand, DescribeJobCommand, DescribeVaultCommand, GetJobOutputCommand, InitiateJobCommand,
  ListMultipartUploadsCommand, ListPartsCommand, ListVaultsCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { BufferPool } from '../src/core/buffer-pool.js';
import { openGlacier } from '../src/core/glacier.js';
import { ByteReader } from '../src/core/byte-reader.js';
import { UsageError } from '../src/core/errors.js';
import { HashPool } from '../src/core/hash-pool.js';
import { MiB, TreeHasher, treeHash } from '../src/core/tree-hash.js';
import { rawParts, streamFiller } from '../src/upload/sources.js';
import { fitPartSize, MAX_PARTS, upload } from '../src/upload/upload.js';
import { errorLines, run, sh, show, sleep, start, type Ran } from './helpers/bins.js';
import { startLocal, type Local, openUploads } from './helpers/local.js';
import type { UploadResult } from '../src/upload/upload.js';
import { within, until } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // for the SDK clients in this process
const GiB = 1024 * MiB;
const A = { accountId: '-' };

type PutResult = UploadResult;

/** The one JSON line glacier-put prints on success. */
function resultOf(r: Ran): PutResult {
  assert.equal(r.code, 0, show(r));
  const text = r.stdout.toString('utf8');
  assert.ok(text.endsWith('\n') && text.indexOf('\n') === text.length - 1, `one line on stdout: ${JSON.stringify(text)}`);
  const res = JSON.parse(text) as PutResult;
  assert.deepEqual(Object.keys(res).sort(), ['archiveId', 'checksum', 'description', 'location', 'parts', 'partSize', 'size', 'uploadId', 'vault'].sort());
  return res;
}

/** Reads an archive back through an archive-retrieval job (glacier-local runs with --job-delay 0). */
async function readArchive(g: GlacierClient, vaultName: string, archiveId: string): Promise<Buffer> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
  for (let i = 0; !(await g.send(new DescribeJobCommand({ ...A, vaultName, jobId }))).Completed; i++) {
    assert.ok(i < 100, 'retrieval job did not complete');
    await sleep(50);
  }
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

const uploadsOf = openUploads;

/** The ranges ("first-last") of the parts an upload holds. */
async function partRanges(g: GlacierClient, vaultName: string, uploadId: string): Promise<Set<string>> {
  const out = new Set<string>();
  let marker: string | undefined;
  do {
    const r = await g.send(new ListPartsCommand({ ...A, vaultName, uploadId, marker }));
    for (const p of r.Parts ?? []) out.add(p.RangeInBytes!);
    marker = r.Marker ?? undefined;
  } while (marker);
  return out;
}

/** Every vault with its archive count and open multipart uploads: what a refused command must not change. */
async function holdings(g: GlacierClient): Promise<Record<string, { archives: number; uploads: string[] }>> {
  const out: Record<string, { archives: number; uploads: string[] }> = {};
  for (const v of (await g.send(new ListVaultsCommand(A))).VaultList ?? []) {
    const d = await g.send(new DescribeVaultCommand({ ...A, vaultName: v.VaultName! }));
    out[v.VaultName!] = { archives: d.NumberOfArchives ?? 0, uploads: await uploadsOf(g, v.VaultName!) };
  }
  return out;
}

const diff = (a: Record<string, number>, b: Record<string, number>, op: string) => (b[op] ?? 0) - (a[op] ?? 0);
const total = (c: Record<string, number>) => Object.values(c).reduce((s, n) => s + n, 0);

interface LogEntry { op: string; status?: number; range?: string; uploadId?: string; fault?: string }
const requests = (local: Local) => local.admin<LogEntry[]>('GET', 'requests');
/** "bytes 0-1048575/*" (request log) -> "0-1048575" (ListParts). */
const rangeOf = (e: LogEntry) => /^bytes (\d+-\d+)\/\*$/.exec(e.range ?? '')?.[1] ?? `?${e.range}`;
const allRanges = (size: number, ps: number) => Array.from({ length: Math.ceil(size / ps) }, (_, i) => `${i * ps}-${Math.min(size, (i + 1) * ps) - 1}`);

async function waitForParts(local: Local, n: number, proc: { exitCode: number | null; signalCode: string | null }, stderr: () => string): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    const ok = (await requests(local)).filter((e) => e.op === 'UploadMultipartPart' && e.status === 204).length;
    if (ok >= n) return;
    assert.ok(proc.exitCode === null && proc.signalCode === null, `glacier-put ended before ${n} parts landed: ${stderr()}`);
    assert.ok(Date.now() - t0 < within(30_000), `fewer than ${n} parts landed in ${within(30_000)} ms`);
    await sleep(50);
  }
}

function journals(state: string): string[] {
  try {
    return readdirSync(join(state, 'glacier-pipes')).filter((n) => n.endsWith('.journal')).map((n) => join(state, 'glacier-pipes', n));
  } catch {
    return [];
  }
}

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gp-put-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh $XDG_STATE_HOME. */
const freshState = (name: string) => mkdtempSync(join(work, `state-${name}-`));

// The permanent-failure test mostly sleeps through glacier-put's backoff, and the injected faults' test through
// its retries' (each with a glacier-local of its own): they run beside the others.
describe('glacier-put', { concurrency: 3 }, () => {
  describe('a part that fails on every attempt', { concurrency: 1 }, () => {
    let local: Local;
    before(async () => {
      local = await startLocal(['--memory', '--job-delay', '0', '--faults', 'UploadMultipartPart:500']);
      await local.client().send(new CreateVaultCommand({ ...A, vaultName: 'perm' }));
    });
    after(() => local.stop());

    // upload.ts retries each part 10 times (backoff 250 ms doubling, capped at 20 s, full jitter; not configurable
    // from the command line): about 35-50 s, at most ~72 s of sleeping.
    it('exits 1 in bounded time after the retries, leaving no multipart upload and no journal', { timeout: within(150_000) }, async () => {
      const g = local.client();
      const state = freshState('perm');
      const r = await run('glacier-put', ['-v', 'perm', '-p', '1M', '-c', '1'], { env: { ...local.env, XDG_STATE_HOME: state }, input: randomBytes(3 * MiB + 1) });
      assert.equal(r.code, 1, show(r));
      const lines = errorLines(r.stderr);
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], /^glacier-put: .*ServiceUnavailable/);
      assert.equal(r.stdout.length, 0);
      assert.ok(r.ms < within(110_000), `took ${r.ms} ms`);
      const c = await local.counters();
      assert.equal(c.InitiateMultipartUpload, 1);
      assert.ok((c.UploadMultipartPart ?? 0) >= 2, `the part was retried: ${JSON.stringify(c)}`);
      assert.equal(c.AbortMultipartUpload, 1, 'the upload was aborted');
      assert.deepEqual(await uploadsOf(g, 'perm'), []);
      assert.equal((await g.send(new DescribeVaultCommand({ ...A, vaultName: 'perm' }))).NumberOfArchives, 0);
      assert.deepEqual(journals(state), []);
    });
  });

  describe('against glacier-local', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    let state: string;
    const env = (s = state) => ({ ...local.env, XDG_STATE_HOME: s });
    before(async () => {
      local = await startLocal(['--memory', '--job-delay', '0']);
      g = local.client();
      state = freshState('main');
      for (const vaultName of ['rt', 'chunks', 'sizes', 'overflow', 'resume', 'bad']) await g.send(new CreateVaultCommand({ ...A, vaultName }));
    });
    after(() => local.stop());

    describe('round trips', { concurrency: 1 }, () => {
      const cases = [
        { name: '1 B', n: 1 },
        { name: '1 MiB - 1', n: MiB - 1 },
        { name: '1 MiB', n: MiB },
        { name: '1 MiB + 1', n: MiB + 1 },
        { name: 'exactly 3 parts', n: 3 * MiB },
        { name: '3 parts + 1 byte', n: 3 * MiB + 1 },
        // The default part sizes, multipart: a FILE of known size takes 8 MiB parts (3 here), stdin of unknown size
        // 64 MiB parts (a full one and a last part of one byte). Only part counts matter: more bytes only cost time.
        { name: '17 MiB + 1 (default part size)', n: 17 * MiB + 1, big: true, via: 'FILE' as const },
        { name: '64 MiB + 1 (default part size)', n: 64 * MiB + 1, big: true, via: 'stdin' as const },
      ];
      const files = new Map<number, { path: string; data: Buffer; treeHash: string }>();
      const input = async (n: number) => {
        let f = files.get(n);
        if (!f) {
          const data = randomBytes(n);
          const path = join(work, `rt-${n}.bin`);
          writeFileSync(path, data);
          // The checksum must be what glacier-treehash says of the input.
          const th = await run('glacier-treehash', [path], { env: local.env });
          assert.equal(th.code, 0, show(th));
          const [hash, name] = th.stdout.toString().trimEnd().split('  ');
          assert.equal(name, path);
          assert.equal(hash, treeHash(data), 'glacier-treehash agrees with TreeHasher');
          f = { path, data, treeHash: hash };
          files.set(n, f);
        }
        return f;
      };
      after(() => files.clear());

      for (const cs of cases) {
        for (const via of ['stdin', 'FILE'] as const) {
          if (cs.via && cs.via !== via) continue;
          it(`${cs.name} through ${via}`, { timeout: within(60_000) }, async () => {
            const f = await input(cs.n);
            const partSize = !cs.big ? MiB : via === 'FILE' ? 8 * MiB : 64 * MiB;
            const parts = Math.ceil(cs.n / partSize);
            const c0 = await local.counters();
            const args = ['-v', 'rt', ...(cs.big ? [] : ['-p', '1M'])];
            let r: Ran;
            if (via === 'FILE') r = await run('glacier-put', [...args, f.path], { env: env() });
            else if (cs.big) r = await sh('cat "$1" | "$NODE" "$BIN/glacier-put" -v rt', [f.path], { env: env() }).done; // a shell pipe
            else r = await run('glacier-put', args, { env: env(), input: f.data }); // a pipe we write into
            const res = resultOf(r);
            const c1 = await local.counters();

            assert.equal(res.vault, 'rt');
            assert.equal(res.checksum, f.treeHash);
            assert.equal(res.size, cs.n);
            assert.equal(res.parts, parts);
            assert.equal(res.partSize, partSize);
            assert.equal(res.description, via === 'FILE' ? basename(f.path) : null);
            assert.match(res.archiveId ?? '', /^[A-Za-z0-9_-]{40,}$/);
            assert.ok(res.location?.endsWith(`/vaults/rt/archives/${res.archiveId}`), res.location ?? 'no location');
            if (parts === 1) {
              assert.equal(diff(c0, c1, 'UploadArchive'), 1, 'one UploadArchive request');
              assert.equal(diff(c0, c1, 'InitiateMultipartUpload'), 0);
              assert.equal(diff(c0, c1, 'UploadMultipartPart'), 0);
              assert.equal(res.uploadId, null);
            } else {
              assert.equal(diff(c0, c1, 'UploadArchive'), 0);
              assert.equal(diff(c0, c1, 'InitiateMultipartUpload'), 1, 'a multipart upload');
              assert.equal(diff(c0, c1, 'UploadMultipartPart'), parts);
              assert.equal(diff(c0, c1, 'CompleteMultipartUpload'), 1);
              assert.match(res.uploadId ?? '', /^[A-Za-z0-9_-]{40,}$/);
            }
            // Stdin of unknown size warns about its part size once it needs more than one part; nothing else on stderr.
            const warned = /warning: input size unknown: .*--expected-size/.test(r.stderr);
            assert.equal(warned, via === 'stdin' && parts > 1, show(r));
            assert.deepEqual(errorLines(r.stderr), [], show(r));

            const back = await readArchive(g, 'rt', res.archiveId!);
            assert.equal(back.length, cs.n);
            assert.ok(back.equals(f.data), 'the archive read back is the input, byte for byte');
          });
        }
      }
      // Each part in flight listens to the one interruption signal: -c up to 64 must not print Node's
      // MaxListenersExceededWarning (10 listeners) on stderr.
      it('-c 64: stderr holds no warning from Node', { timeout: within(60_000) }, async () => {
        const data = randomBytes(24 * MiB + 1);
        const r = await run('glacier-put', ['-v', 'rt', '-p', '1M', '-c', '64', '--expected-size', String(data.length)], { env: env(), input: data });
        const res = resultOf(r);
        assert.equal(res.checksum, treeHash(data));
        assert.doesNotMatch(r.stderr.toString(), /Warning|MaxListeners/, show(r));
      });
      // A FILE that is stdin under another name (/dev/stdin, a pipe): glacier-put must not also read fd 0 itself,
      // or the bytes it read first are missing from the archive.
      it('/dev/stdin as FILE, a pipe on stdin: every byte', { timeout: within(60_000) }, async () => {
        const data = randomBytes(3 * MiB + 5);
        const path = join(work, 'devstdin.bin');
        writeFileSync(path, data);
        const r = await sh('cat "$1" | "$NODE" "$BIN/glacier-put" -v rt -p 1M --dry-run /dev/stdin', [path], { env: env() }).done;
        const res = resultOf(r);
        assert.equal(res.size, data.length);
        assert.equal(res.checksum, treeHash(data));
      });
      it('left no multipart upload open and no journal', async () => {
        assert.deepEqual(await uploadsOf(g, 'rt'), []);
        assert.deepEqual(journals(state), []);
      });
    });

    it('raw input, a glacier-chunk stream and a glacier-chunk -o folder store the same bytes with the same checksum', { timeout: within(60_000) }, async () => {
      const data = randomBytes(3 * MiB + 12_345);
      const file = join(work, 'chunks.bin');
      writeFileSync(file, data);
      const spool = join(work, 'spool');
      const c0 = await local.counters();
      const raw = resultOf(await run('glacier-put', ['-v', 'chunks', '-p', '1M'], { env: env(), input: data }));
      const piped = resultOf(await sh('cat "$1" | "$NODE" "$BIN/glacier-chunk" -p 1M | "$NODE" "$BIN/glacier-put" -v chunks', [file], { env: env() }).done);
      const chunked = await run('glacier-chunk', ['-p', '1M', '-o', spool, file], { env: env() });
      assert.equal(chunked.code, 0, show(chunked));
      assert.ok(readdirSync(spool).includes('manifest.json'));
      const folder = resultOf(await run('glacier-put', ['-v', 'chunks', spool], { env: env() }));
      const c1 = await local.counters();
      assert.equal(diff(c0, c1, 'CompleteMultipartUpload'), 3);
      assert.equal(diff(c0, c1, 'UploadMultipartPart'), 12);
      for (const [what, res] of Object.entries({ raw, piped, folder })) {
        assert.equal(res.checksum, treeHash(data), `${what} checksum`);
        assert.equal(res.size, data.length, `${what} size`);
        assert.equal(res.parts, 4, `${what} parts`);
        assert.equal(res.partSize, MiB, `${what} partSize`);
        assert.ok((await readArchive(g, 'chunks', res.archiveId!)).equals(data), `${what}: the bytes read back`);
      }
      assert.equal(new Set([raw.archiveId, piped.archiveId, folder.archiveId]).size, 3);
    });

    describe('part size', { concurrency: 1 }, () => {
      it('fitPartSize: the smallest 1 MiB x 2^n >= the minimum that holds the size in 10,000 parts', () => {
        assert.equal(MAX_PARTS, 10_000);
        assert.equal(fitPartSize(1), 8 * MiB);
        assert.equal(fitPartSize(1, MiB), MiB);
        assert.equal(fitPartSize(1, 3 * MiB), 4 * MiB);
        assert.equal(fitPartSize(10_000 * 8 * MiB), 8 * MiB);
        assert.equal(fitPartSize(10_000 * 8 * MiB + 1), 16 * MiB);
        assert.equal(fitPartSize(100 * GiB), 16 * MiB);
        assert.equal(fitPartSize(10_000 * MiB, MiB), MiB);
        assert.equal(fitPartSize(10_000 * MiB + 1, MiB), 2 * MiB);
        assert.equal(fitPartSize(1000 * GiB), 128 * MiB);
        assert.equal(fitPartSize(10_000 * 4 * GiB), 4 * GiB);
        assert.throws(() => fitPartSize(10_000 * 4 * GiB + 1), UsageError);
        assert.equal(fitPartSize(5 * MiB, MiB, 3), 2 * MiB);
      });

      it('--expected-size 100G on stdin picks 16 MiB parts (--dry-run sends nothing)', async () => {
        const data = randomBytes(MiB + 1);
        const c0 = await local.counters();
        const r = await run('glacier-put', ['-v', 'sizes', '--dry-run', '--expected-size', '100G'], { env: env(), input: data });
        const res = resultOf(r);
        assert.equal(total(await local.counters()), total(c0), 'no request was sent');
        assert.equal(res.partSize, 16 * MiB);
        assert.equal(res.parts, 1);
        assert.equal(res.checksum, treeHash(data));
        assert.equal(res.size, data.length);
        assert.equal(res.archiveId, null);
        assert.equal(res.uploadId, null);
        assert.deepEqual(errorLines(r.stderr), []);
      });

      it('--expected-size with a bare number is bytes, as aws s3 cp takes it (100 GiB in bytes picks 16 MiB parts)', async () => {
        const data = randomBytes(MiB + 1);
        for (const [given, partSize] of [[String(100 * GiB), 16 * MiB], ['3000000', 8 * MiB]] as const) {
          const r = await run('glacier-put', ['-v', 'sizes', '--dry-run', '--expected-size', given], { env: env(), input: data });
          assert.equal(r.code, 0, r.stderr);
          assert.equal(resultOf(r).partSize, partSize, `--expected-size ${given}`);
        }
        const half = await run('glacier-put', ['-v', 'sizes', '--dry-run', '--expected-size', '1.5'], { env: env(), input: data });
        assert.equal(half.code, 2, 'a fraction of a byte is refused');
        assert.match(half.stderr, /invalid --expected-size "1.5": bytes/);
      });

      it('stdin of unknown size defaults to 64 MiB parts (no warning while it fits in one)', async () => {
        const data = randomBytes(MiB + 1);
        const r = await run('glacier-put', ['-v', 'sizes', '--dry-run'], { env: env(), input: data });
        const res = resultOf(r);
        assert.equal(res.partSize, 64 * MiB);
        assert.equal(res.checksum, treeHash(data));
        assert.doesNotMatch(r.stderr, /warning/);
      });

      it('-p 3M rounds up to 4 MiB, with a warning; a FILE of known size fits in 10,000 parts of at least -p', async () => {
        const data = randomBytes(9 * MiB + 1);
        const file = join(work, 'p3m.bin');
        writeFileSync(file, data);
        const c0 = await local.counters();
        const r = await run('glacier-put', ['-v', 'sizes', '-p', '3M', file], { env: env() });
        const res = resultOf(r);
        const c1 = await local.counters();
        assert.equal(res.partSize, 4 * MiB);
        assert.equal(res.parts, 3);
        assert.equal(diff(c0, c1, 'UploadMultipartPart'), 3);
        assert.match(r.stderr, /^glacier-put: warning: part size 3145728 rounded up to 4 MiB/m);
        assert.equal(res.checksum, treeHash(data));
        const dry = resultOf(await run('glacier-put', ['-v', 'sizes', '--dry-run', file], { env: env() }));
        assert.equal(dry.partSize, 8 * MiB, 'the default minimum for a FILE is 8 MiB');
        assert.equal(dry.checksum, treeHash(data));
      });

      it('input that outgrows maxParts fails with a UsageError naming a larger part size, and aborts the upload', { timeout: within(30_000) }, async () => {
        const data = randomBytes(5 * MiB);
        async function* pieces() {
          for (let o = 0; o < data.length; o += 300_000) yield data.subarray(o, o + 300_000);
        }
        const concurrency = 2;
        const source = rawParts(streamFiller(new ByteReader(pieces())), MiB, new BufferPool(MiB, concurrency + 2));
        const pool = new HashPool(2);
        // The project's request layer (src/core/glacier.ts): a stock SDK client cannot send parts held in the
        // SharedArrayBuffers of a BufferPool (its own body checksum rejects them); the parts' hashes travel with
        // their requests. Credentials and region come from the environment given, not this process's.
        const glacier = openGlacier({ endpoint: local.endpoint }, local.env);
        const c0 = await local.counters();
        try {
          await assert.rejects(
            upload(source, { glacier, pool, vault: 'overflow', description: null, partSize: MiB, concurrency, maxParts: 3 }),
            (e: Error) => {
              assert.ok(e instanceof UsageError, `${e.name}: ${e.message}`);
              const m = /-p (\d+)M\b/.exec(e.message);
              assert.ok(m, `names a part size: ${e.message}`);
              assert.ok(Number(m[1]) * MiB > MiB, e.message);
              return true;
            },
          );
        } finally {
          await pool.close();
        }
        const c1 = await local.counters();
        assert.equal(diff(c0, c1, 'InitiateMultipartUpload'), 1);
        assert.ok(diff(c0, c1, 'UploadMultipartPart') <= 3, 'no part beyond maxParts was sent');
        assert.equal(diff(c0, c1, 'AbortMultipartUpload'), 1);
        assert.equal(diff(c0, c1, 'CompleteMultipartUpload'), 0);
        assert.deepEqual(await uploadsOf(g, 'overflow'), [], 'nothing left dangling');
      });
    });

    describe('interruption and resume', { concurrency: 1 }, () => {
      const slow = () => local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=300' });
      after(() => local.admin('DELETE', 'faults'));

      /** Starts a slow `glacier-put -c 1 -p 1M FILE` and returns once `n` parts landed. */
      async function interrupted(file: string, st: string, n: number, signal: 'SIGKILL' | 'SIGINT'): Promise<Ran> {
        await slow();
        await local.admin('DELETE', 'counters');
        const p = start('glacier-put', ['-v', 'resume', '-c', '1', '-p', '1M', file], { env: env(st) });
        await waitForParts(local, n, p.proc, p.stderr);
        process.kill(p.proc.pid!, signal);
        const r = await p.done;
        // Every part already in glacier-local's hands (counted as it arrived) has ended (logged as it ends).
        await until(async () => ((await local.counters()).UploadMultipartPart ?? 0) <= (await requests(local)).filter((e) => e.op === 'UploadMultipartPart').length, 'the parts in flight to end in glacier-local');
        await local.admin('DELETE', 'faults');
        return r;
      }

      function journalOf(st: string): { path: string; header: { uploadId: string; vault: string; partSize: number } } {
        const js = journals(st);
        assert.equal(js.length, 1, `one journal in ${st}/glacier-pipes: ${js}`);
        assert.equal(statSync(js[0]).mode & 0o777, 0o600, 'journal mode 0600');
        return { path: js[0], header: JSON.parse(readFileSync(js[0], 'utf8').split('\n')[0]) };
      }

      it('after kill -9, --resume FILE finds the journal and sends only the missing parts', { timeout: within(60_000) }, async () => {
        const data = randomBytes(20 * MiB);
        const file = join(work, 'resume.bin');
        writeFileSync(file, data);
        const st = freshState('kill');
        const killed = await interrupted(file, st, 3, 'SIGKILL');
        assert.equal(killed.signal, 'SIGKILL');
        const j = journalOf(st);
        assert.equal(j.header.vault, 'resume');
        assert.equal(j.header.partSize, MiB);
        const uploadId = j.header.uploadId;
        assert.deepEqual(await uploadsOf(g, 'resume'), [uploadId]);
        const landed = await partRanges(g, 'resume', uploadId);
        assert.ok(landed.size >= 3 && landed.size < 20, `landed: ${[...landed]}`);

        await local.admin('DELETE', 'counters');
        const r = await run('glacier-put', ['-v', 'resume', '--resume', file], { env: env(st) });
        const res = resultOf(r);
        const sent = (await requests(local)).filter((e) => e.op === 'UploadMultipartPart');
        assert.ok(sent.every((e) => e.status === 204), JSON.stringify(sent));
        const ranges = sent.map(rangeOf);
        assert.deepEqual(ranges.filter((x) => landed.has(x)), [], 'no part already in Glacier was sent again');
        assert.equal(new Set(ranges).size, ranges.length, 'no part sent twice');
        assert.deepEqual([...new Set([...landed, ...ranges])].sort(), allRanges(data.length, MiB).sort(), 'every missing part was sent');
        assert.equal(res.uploadId, uploadId);
        assert.equal(res.checksum, treeHash(data));
        assert.equal(res.size, data.length);
        assert.equal(res.parts, 20);
        assert.ok((await readArchive(g, 'resume', res.archiveId!)).equals(data), 'the resumed archive is the input');
        assert.deepEqual(journals(st), [], 'the journal is removed');
        assert.deepEqual(await uploadsOf(g, 'resume'), []);
      });

      it('--resume with input that differs in a part already sent: exit 3 naming the first differing part, and none of its parts sent', { timeout: within(60_000) }, async () => {
        const data = randomBytes(8 * MiB);
        const file = join(work, 'differs.bin');
        writeFileSync(file, data);
        const st = freshState('differs');
        await interrupted(file, st, 3, 'SIGKILL');
        const { header } = journalOf(st);
        const landed = await partRanges(g, 'resume', header.uploadId);
        assert.ok(landed.has(`${MiB}-${2 * MiB - 1}`) && landed.has(`${2 * MiB}-${3 * MiB - 1}`), [...landed].join());
        const changed = Buffer.from(data);
        for (let i = 1; i < 8; i++) changed[i * MiB + 10 * i] ^= 0xff; // every part but the first: part 1 is the first to differ
        writeFileSync(file, changed);
        const r = await run('glacier-put', ['-v', 'resume', '--resume', file], { env: env(st) });
        assert.equal(r.code, 3, show(r));
        const lines = errorLines(r.stderr);
        assert.equal(lines.length, 1, show(r));
        assert.match(lines[0], /^glacier-put: .*\bpart 1\b/);
        assert.equal(r.stdout.length, 0);
        // The refused input put none of its own parts into the upload: the right input still finishes it.
        writeFileSync(file, data);
        const ok = resultOf(await run('glacier-put', ['-v', 'resume', '--resume', file], { env: env(st) }));
        assert.equal(ok.uploadId, header.uploadId);
        assert.equal(ok.checksum, treeHash(data));
        assert.ok((await readArchive(g, 'resume', ok.archiveId!)).equals(data));
        assert.deepEqual(await uploadsOf(g, 'resume'), []);
      });

      it('SIGINT mid-upload: exit 130, the exact resume command on stderr, the journal kept (0600); that command finishes it', { timeout: within(60_000) }, async () => {
        const data = randomBytes(8 * MiB);
        const file = join(work, 'sigint.bin');
        writeFileSync(file, data);
        const st = freshState('sigint');
        const r = await interrupted(file, st, 1, 'SIGINT');
        assert.equal(r.code, 130, show(r));
        const lines = errorLines(r.stderr);
        assert.equal(lines.length, 1, show(r));
        assert.match(lines[0], /^glacier-put: /);
        const { header } = journalOf(st);
        const m = /Resume with: (glacier-put .*)$/.exec(lines[0]);
        assert.ok(m, lines[0]);
        const idArg = `--resume=${header.uploadId}`; // the one form an id starting with '-' also takes
        assert.ok(m[1].includes(idArg), `"${idArg}" in: ${m[1]}`);
        assert.ok(m[1].endsWith(` ${file}`), m[1]);
        assert.deepEqual(await uploadsOf(g, 'resume'), [header.uploadId]);
        assert.ok((await partRanges(g, 'resume', header.uploadId)).size >= 1);

        const words = m[1].split(' ');
        const resumed = resultOf(await run('glacier-put', words.slice(1), { env: env(st) }));
        assert.equal(resumed.uploadId, header.uploadId);
        assert.equal(resumed.checksum, treeHash(data));
        assert.ok((await readArchive(g, 'resume', resumed.archiveId!)).equals(data));
        assert.deepEqual(journals(st), []);
        assert.deepEqual(await uploadsOf(g, 'resume'), []);
      });
    });

    describe('bad input is refused, leaving nothing behind', { concurrency: 1 }, () => {
      let file: string;
      let dir: string;
      before(() => {
        file = join(work, 'bad.bin');
        writeFileSync(file, randomBytes(3 * MiB + 1));
        dir = join(work, 'not-a-spool');
        mkdirSync(dir);
        writeFileSync(join(dir, 'part-000000'), 'x');
      });

      /** `o.script`: run through /bin/sh instead ($NODE, $BIN; `args` are $1...), for arguments no JS string can carry. */
      async function refused(args: string[], o: { code: number; message: RegExp; input?: Buffer | string; env?: NodeJS.ProcessEnv; requests?: boolean; script?: string }): Promise<void> {
        const h0 = await holdings(g);
        const c0 = await local.counters();
        const r = o.script ? await sh(o.script, args, { env: o.env ?? env(), input: o.input }).done : await run('glacier-put', args, { env: o.env ?? env(), input: o.input });
        const c1 = await local.counters();
        assert.equal(r.code, o.code, show(r));
        const lines = errorLines(r.stderr);
        assert.equal(lines.length, 1, `one error line: ${show(r)}`);
        assert.match(lines[0], /^glacier-put: /);
        assert.match(lines[0], o.message);
        assert.equal(r.stdout.length, 0);
        if (!o.requests) assert.deepEqual(c1, c0, 'no request reached the service');
        assert.deepEqual(await holdings(g), h0, 'no new archive or multipart upload');
        assert.deepEqual(journals(state), []);
      }

      it('empty stdin: exit 2', () => refused(['-v', 'bad'], { input: '', code: 2, message: /empty input/ }));
      it('-p abc: exit 2', () => refused(['-v', 'bad', '-p', 'abc', file], { code: 2, message: /invalid --part-size "abc"/ }));
      it('-p 8G: exit 2', () => refused(['-v', 'bad', '-p', '8G', file], { code: 2, message: /part-size.*4 GiB/ }));
      it('a non-ASCII description: exit 2', () => refused(['-v', 'bad', '-d', 'café', file], { code: 2, message: /printable ASCII/ }));
      it('a description with a leading or trailing space (HTTP would drop it): exit 2', async () => {
        await refused(['-v', 'bad', '-d', ' lead', file], { code: 2, message: /begins or ends with a space/ });
        await refused(['-v', 'bad', '-d', 'trail ', file], { code: 2, message: /begins or ends with a space/ });
      });
      it("-d '' is an empty description, not a missing value followed by an argument", async () => {
        const r = await run('glacier-put', ['-v', 'bad', '-d', '', '--dry-run'], { env: env(), input: 'x' });
        assert.equal(r.code, 0, show(r));
        assert.equal(JSON.parse(r.stdout.toString()).description, '');
      });
      it('a 1025-character description: exit 2', () => refused(['-v', 'bad', '-d', 'a'.repeat(1025), file], { code: 2, message: /1025 characters.*1024/ }));
      it('an unknown vault: exit 1', () => refused(['-v', 'no-such-vault', file], { code: 1, message: /vault "no-such-vault" not found/, requests: true }));
      it('an unknown vault, multipart: exit 1', () => refused(['-v', 'no-such-vault', '-p', '1M', file], { code: 1, message: /vault "no-such-vault" not found/, requests: true }));
      it('no credentials anywhere: exit 2', () => {
        const e: NodeJS.ProcessEnv = { ...env() };
        for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN']) delete e[k];
        const cfg = join(work, 'empty-config');
        const creds = join(work, 'empty-credentials');
        writeFileSync(cfg, '');
        writeFileSync(creds, '');
        Object.assign(e, { AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: cfg, AWS_SHARED_CREDENTIALS_FILE: creds });
        return refused(['-v', 'bad', file], { code: 2, message: /no AWS credentials/, env: e });
      });
      // Tests run as root here, and root reads a chmod 000 file anyway: a missing path and a folder without a
      // manifest stand in for unreadable input (the chmod case runs only for other users).
      it('a nonexistent FILE: exit 2', () => refused(['-v', 'bad', join(work, 'no-such-file')], { code: 2, message: /no such file/ }));
      it('a FILE whose name is not valid UTF-8: exit 2, saying so and to give it on stdin', async () => {
        // The file exists: Node cannot name it (argv is decoded as UTF-8, each bad byte becoming U+FFFD).
        writeFileSync(Buffer.from(`${work}/bad\xff\xfe.txt`, 'latin1'), 'x');
        await refused(['-v', 'bad', work], {
          script: 'cd "$3" && exec "$NODE" "$BIN/glacier-put" "$1" "$2" "$(printf \'bad\\377\\376.txt\')"',
          code: 2,
          message: /^glacier-put: the file name is not valid UTF-8 \(it cannot be opened by name from Node\): give it on stdin, glacier-put -v bad -d NAME < FILE$/,
        });
      });
      it('a directory without manifest.json: exit 2', () => refused(['-v', 'bad', dir], { code: 2, message: /not a glacier-chunk folder.*manifest/ }));
      it('an unreadable FILE (chmod 000, not as root): exit 2', async (t) => {
        if (process.getuid?.() === 0) return t.skip('running as root, which can read a chmod 000 file');
        const locked = join(work, 'locked.bin');
        writeFileSync(locked, 'secret');
        chmodSync(locked, 0o000);
        await refused(['-v', 'bad', locked], { code: 2, message: /permission denied/ });
      });
      it('an unknown option: exit 2', () => refused(['-v', 'bad', '--no-such-option', file], { code: 2, message: /unknown option --no-such-option/ }));
    });
  });

  describe('under injected faults', { concurrency: 1 }, () => {
    let flaky: Local;
    before(async () => {
      flaky = await startLocal([
        '--memory', '--job-delay', '0',
        '--faults', 'UploadMultipartPart:500:rate=0.1', '--faults', 'UploadMultipartPart:throttle:rate=0.05', '--faults', 'UploadMultipartPart:drop:rate=0.05',
        // One of each for certain, whatever the rates draw (with 32 parts they miss every request 0.1% of runs).
        '--faults', 'UploadMultipartPart:500:skip=2,count=1', '--faults', 'UploadMultipartPart:throttle:skip=9,count=1', '--faults', 'UploadMultipartPart:drop:skip=17,count=1',
      ]);
      await flaky.client().send(new CreateVaultCommand({ ...A, vaultName: 'flaky' }));
    });
    after(() => flaky.stop());

    // What counts is the number of requests the faults can hit (32 parts), not their size.
    it('32 parts through a pipe survive 500s, throttling and dropped connections with the right checksum', { timeout: within(120_000) }, async () => {
      const fg = flaky.client();
      const data = randomBytes(32 * MiB);
      const expected = new TreeHasher().update(data).digest().treeHash;
      const r = await run('glacier-put', ['-v', 'flaky', '-p', '1M'], { env: { ...flaky.env, XDG_STATE_HOME: freshState('flaky') }, input: data });
      const res = resultOf(r);
      assert.equal(res.checksum, expected);
      assert.equal(res.size, data.length);
      assert.equal(res.parts, 32);
      assert.deepEqual(errorLines(r.stderr), [], show(r));
      const { requests: reqs, faults } = await flaky.admin<{ requests: Record<string, number>; faults: Record<string, Record<string, number>> }>('GET', 'counters');
      const fired = Object.values(faults.UploadMultipartPart ?? {}).reduce((s, n) => s + n, 0);
      assert.ok(fired >= 3, `faults fired: ${JSON.stringify(faults)}`); // the three counted ones at least
      // Several faults can fire on one request, so failed attempts are between 1 and `fired`.
      assert.ok(reqs.UploadMultipartPart > 32 && reqs.UploadMultipartPart <= 32 + fired, `each failed attempt was retried: ${JSON.stringify(reqs)}`);
      assert.deepEqual(await uploadsOf(fg, 'flaky'), []);
      assert.ok((await readArchive(fg, 'flaky', res.archiveId!)).equals(data));
    });
  });
});
