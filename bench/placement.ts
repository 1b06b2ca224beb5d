// Issue 3: do PUTs belong in the main thread or in the workers? Uploads the same 1 GiB file to one glacier-local
// (8 MiB parts, concurrency 5) two ways, alternating, and prints wall time, this process's CPU (process.cpuUsage()
// counts every thread, workers included) and the server's CPU (from /proc/<pid>/stat, since it is another process
// on the same cores):
//  (a) main-thread PUTs: the library path, upload() with a HashPool; workers hash, the main thread sends.
//  (b) worker PUTs: bench/put-worker.ts hashes and sends each part with a client of its own; the main thread
//      only reads parts, dispatches them, and initiates and completes the upload.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CompleteMultipartUploadCommand, CreateVaultCommand, DeleteArchiveCommand, InitiateMultipartUploadCommand } from '@aws-sdk/client-glacier';
import { Piscina } from 'piscina';
import { BufferPool } from '../src/core/buffer-pool.js';
import { makeClient } from '../src/core/client.js';
import { openGlacier } from '../src/core/glacier.js';
import { HashPool } from '../src/core/hash-pool.js';
import { combineTreeHashesHex, MiB } from '../src/core/tree-hash.js';
import { fileFiller, rawParts, type SourcePart } from '../src/upload/sources.js';
import { upload } from '../src/upload/upload.js';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, startLocal } from '../test/helpers/local.js';
import { fmt, randomFile, ratio, WORK } from './lib.js';
import type { PutTask } from './put-worker.js';

const PART = 8 * MiB;
const CONCURRENCY = 5;
const SIZE = 2 ** 30;
const VAULT = 'placement';
const REPS = Number(process.env.BENCH_PLACEMENT_REPS ?? 2);

interface Variant {
  label: string;
  run: (ctx: Ctx) => Promise<{ checksum: string; archiveId: string }>;
}
interface Ctx {
  input: string;
  endpoint: string;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of another process, in seconds. */
function procCpu(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** (a) the library path: upload() with a HashPool, PUTs from the main thread. */
async function mainThreadPuts(ctx: Ctx) {
  const pool = new HashPool();
  const glacier = openGlacier({ endpoint: ctx.endpoint, region: REGION });
  const client = glacier.client;
  const fh = await open(ctx.input, 'r');
  try {
    const r = await upload(rawParts(fileFiller(fh), PART, new BufferPool(PART, CONCURRENCY + 2)), {
      glacier, pool, vault: VAULT, description: null, partSize: PART, concurrency: CONCURRENCY,
    });
    return { checksum: r.checksum, archiveId: r.archiveId! };
  } finally {
    await fh.close();
    await pool.close();
    client.destroy();
  }
}

const putWorker = new URL('./put-worker.js', import.meta.url).href;

/** (b) PUTs from piscina workers: `threads` threads, each running up to `perWorker` parts at once. */
function workerPuts(threads: number, perWorker: number) {
  return async (ctx: Ctx) => {
    const pool = new Piscina<PutTask, string>({ filename: putWorker, minThreads: threads, maxThreads: threads, concurrentTasksPerWorker: perWorker, idleTimeout: 5_000 });
    const client = makeClient({ endpoint: ctx.endpoint, region: REGION });
    const fh = await open(ctx.input, 'r');
    try {
      const init = await client.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: VAULT, partSize: String(PART) }));
      const uploadId = init.uploadId!;
      const it = rawParts(fileFiller(fh), PART, new BufferPool(PART, CONCURRENCY + 2))[Symbol.asyncIterator]();
      // One pull at a time from the generator, as upload() does.
      let pulling: Promise<unknown> = Promise.resolve();
      let failed = false;
      const pull = (): Promise<IteratorResult<SourcePart>> => {
        const p = pulling.then(() => (failed ? ({ done: true, value: undefined } as const) : it.next()));
        pulling = p.catch(() => {});
        return p;
      };
      const hashes: string[] = [];
      let size = 0;
      const loop = async () => {
        for (let r = await pull(); !r.done; r = await pull()) {
          const p = r.value;
          try {
            const task: PutTask = {
              sab: p.data.buffer as SharedArrayBuffer, offset: p.data.byteOffset, length: p.data.byteLength,
              uploadId, vault: VAULT, range: `bytes ${p.offset}-${p.offset + p.data.length - 1}/*`,
              endpoint: ctx.endpoint, region: REGION, creds: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
            };
            hashes[p.index] = await pool.run(task);
            size += p.data.length;
          } catch (e) {
            failed = true;
            throw e;
          } finally {
            p.release();
          }
        }
      };
      const settled = await Promise.allSettled(Array.from({ length: CONCURRENCY }, loop));
      const bad = settled.find((s) => s.status === 'rejected');
      if (bad) throw (bad as PromiseRejectedResult).reason;
      const checksum = combineTreeHashesHex(hashes);
      const done = await client.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: VAULT, uploadId, archiveSize: String(size), checksum }));
      return { checksum: done.checksum!, archiveId: done.archiveId! };
    } finally {
      await fh.close();
      await pool.destroy();
      client.destroy();
    }
  };
}

/** What starting a put-worker pool costs (each thread loads the AWS SDK): N threads each run one no-op task. */
async function poolStartup(threads: number): Promise<{ wall: number; cpu: number }> {
  const c0 = selfCpu();
  const t0 = performance.now();
  const pool = new Piscina({ filename: putWorker, minThreads: threads, maxThreads: threads });
  // Each no-op holds its thread 200 ms, so every thread gets one and the last answers once all have loaded.
  await Promise.all(Array.from({ length: threads }, () => pool.run(200, { name: 'ready' })));
  const wall = (performance.now() - t0) / 1000 - 0.2;
  const cpu = selfCpu() - c0;
  await pool.destroy();
  return { wall, cpu };
}

export async function benchPlacement(): Promise<void> {
  const input = randomFile('input-1g.bin', SIZE);
  execFileSync('bash', ['-c', `cat ${input} > /dev/null`]); // warm the page cache
  const root = new URL('../../', import.meta.url).pathname;
  const expected = execFileSync('node', [`${root}bin/glacier-treehash`, input], { encoding: 'utf8' }).trim().split(/\s+/)[0];
  process.env.AWS_ACCESS_KEY_ID = ACCESS_KEY_ID;
  process.env.AWS_SECRET_ACCESS_KEY = SECRET_ACCESS_KEY;
  process.env.AWS_EC2_METADATA_DISABLED = 'true';

  const variants: Variant[] = [
    { label: '(a) main-thread PUTs, 2 hash threads', run: mainThreadPuts },
    { label: '(b) worker PUTs, 2 threads x 1 task', run: workerPuts(2, 1) },
    { label: '(b) worker PUTs, 5 threads x 1 task', run: workerPuts(5, 1) },
    { label: '(b) worker PUTs, 2 threads x 3 tasks', run: workerPuts(2, 3) },
  ];

  const data = mkdtempSync(join(WORK, 'local-'));
  const local = await startLocal(['--data', data, '--job-delay', '0']);
  const pid = local.proc.pid!;
  const ctx: Ctx = { input, endpoint: local.endpoint };
  const rows: { v: number; rep: number; wall: number; cpu: number; server: number }[] = [];
  try {
    const admin = local.client();
    await admin.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
    console.log(`\n## placement: PUTs in the main thread or in the workers (1 GiB, ${PART / MiB} MiB parts, concurrency ${CONCURRENCY}, glacier-local on the same cores)`);
    console.log(`expected tree hash (glacier-treehash): ${expected}`);
    const s2 = await poolStartup(2);
    const s5 = await poolStartup(5);
    console.log(`put-worker pool start-up (each thread imports the SDK): 2 threads ${fmt(s2.wall)} s wall, ${fmt(s2.cpu)} CPU s; 5 threads ${fmt(s5.wall)} s wall, ${fmt(s5.cpu)} CPU s`);

    // Alternating, and mirrored on every other round so that drift in the machine's load hits each variant alike.
    for (let rep = 0; rep < REPS; rep++) {
      const order = variants.map((_, i) => i);
      if (rep % 2) order.reverse();
      for (const v of order) {
        await sleep(1000); // let the previous run's writes and deletes settle
        const s0 = procCpu(pid);
        const c0 = selfCpu();
        const t0 = performance.now();
        const r = await variants[v].run(ctx);
        const wall = (performance.now() - t0) / 1000;
        const cpu = selfCpu() - c0;
        const server = procCpu(pid) - s0;
        if (r.checksum !== expected) throw new Error(`${variants[v].label}: archive tree hash ${r.checksum}, expected ${expected}`);
        rows.push({ v, rep, wall, cpu, server });
        await admin.send(new DeleteArchiveCommand({ accountId: '-', vaultName: VAULT, archiveId: r.archiveId }));
      }
    }
  } finally {
    await local.stop();
    rmSync(data, { recursive: true, force: true });
  }

  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = { wall: mean(rows.filter((r) => r.v === 0).map((r) => r.wall)), cpu: mean(rows.filter((r) => r.v === 0).map((r) => r.cpu)) };
  const w = Math.max(...variants.map((v) => v.label.length)) + 6;
  const line = (label: string, wall: number, cpu: number, server: number) =>
    `${label.padEnd(w)} ${fmt(wall).padStart(6)} ${fmt(SIZE / MiB / wall, 0).padStart(6)} ${fmt(cpu).padStart(10)} ${fmt(server).padStart(10)} ${ratio(wall, base.wall).padStart(10)} ${ratio(cpu, base.cpu).padStart(9)}`;
  console.log(`all ${rows.length} archives matched the expected tree hash (checked by glacier-local at Complete)`);
  console.log(`${'variant'.padEnd(w)} ${'wall s'.padStart(6)} ${'MiB/s'.padStart(6)} ${'client CPU'.padStart(10)} ${'server CPU'.padStart(10)} ${'wall/(a)'.padStart(10)} ${'CPU/(a)'.padStart(9)}`);
  for (const r of rows) console.log(line(`${variants[r.v].label} #${r.rep + 1}`, r.wall, r.cpu, r.server));
  console.log('means:');
  for (const [i, v] of variants.entries()) {
    const mine = rows.filter((r) => r.v === i);
    console.log(line(v.label, mean(mine.map((r) => r.wall)), mean(mine.map((r) => r.cpu)), mean(mine.map((r) => r.server))));
  }
}
