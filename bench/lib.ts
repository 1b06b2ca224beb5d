// Helpers for the benchmarks: timed commands (GNU time), inputs, a glacier-local to run against.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { loadavg as osLoadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { startLocal, type Local } from '../test/helpers/local.js';

export const GiB = 2 ** 30;
export const WORK = process.env.BENCH_DIR ?? join(tmpdir(), 'glacier-pipes-bench');
mkdirSync(WORK, { recursive: true });

export interface Timed {
  wall: number; // seconds
  cpu: number; // user + sys seconds
  rssMiB: number;
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a shell command line, timing the LAST command of the pipeline with GNU time. */
export function timed(pipeline: string, env: NodeJS.ProcessEnv = process.env): Timed {
  const parts = pipeline.split(' | ');
  const last = parts.pop()!;
  const marker = join(WORK, 'time.out');
  const cmd = [...parts, `/usr/bin/time -o ${marker} -f '%e %U %S %M' ${last}`].join(' | ');
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  const [e, u, s, m] = execFileSync('tail', ['-1', marker], { encoding: 'utf8' }).trim().split(' ').map(Number);
  return { wall: e, cpu: u + s, rssMiB: m / 1024, status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A file of `size` pseudo-random bytes (incompressible), made once and kept in WORK. */
export function randomFile(name: string, size: number): string {
  const path = join(WORK, name);
  if (!existsSync(path) || statSync(path).size !== size) {
    execFileSync('bash', ['-c', `openssl enc -aes-128-ctr -pass pass:glacier-pipes -nosalt -pbkdf2 < /dev/zero 2>/dev/null | head -c ${size} > ${path}`]);
  }
  return path;
}

export const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : 'n/a');
export const fmt = (n: number, d = 2) => n.toFixed(d);

export const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `fn` against a glacier-local keeping its data on disk, with a vault named `bench`; cleans up after. */
export async function withBenchLocal(fn: (local: Local, env: NodeJS.ProcessEnv) => Promise<void>, opts: { tls?: boolean } = {}): Promise<void> {
  const data = mkdtempSync(join(WORK, 'local-'));
  const local = await startLocal(['--data', data, '--job-delay', '0'], opts);
  try {
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'bench' }));
    await fn(local, { ...local.env, XDG_STATE_HOME: join(WORK, 'state') });
  } finally {
    await local.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

/** The 1, 5 and 15 minute load averages, to read the figures against (the machine is shared). */
export function loadavg(): string {
  return osLoadavg().map((n) => n.toFixed(1)).join(' ');
}

/** How many times each measured case runs (BENCH_RUNS, default 3); figures are the median run. */
export const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 3));

/** Runs `pipeline` RUNS times; the median run by CPU, and the lowest and highest CPU and peak RSS seen. */
export function timedRuns(pipeline: string, env: NodeJS.ProcessEnv = process.env): Timed & { cpuMin: number; cpuMax: number; rssMax: number } {
  const runs: Timed[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = timed(pipeline, env);
    if (t.status !== 0) return { ...t, cpuMin: t.cpu, cpuMax: t.cpu, rssMax: t.rssMiB };
    runs.push(t);
  }
  runs.sort((a, b) => a.cpu - b.cpu);
  const mid = runs[Math.floor((runs.length - 1) / 2)];
  return { ...mid, cpuMin: runs[0].cpu, cpuMax: runs[runs.length - 1].cpu, rssMax: Math.max(...runs.map((r) => r.rssMiB)) };
}

/** The CPU seconds range of a timedRuns result as text, per GiB of `gib`. */
export function spread(t: { cpuMin: number; cpuMax: number }, gib: number): string {
  return RUNS > 1 ? ` (runs ${fmt(t.cpuMin / gib)}–${fmt(t.cpuMax / gib)})` : '';
}

/**
 * What moving the bytes over loopback TCP costs by itself, measured with cat and bash's /dev/tcp against a
 * separate node process on 127.0.0.1 (the other end, like glacier-local, is not counted): `send` is
 * `cat FILE > /dev/tcp/...` into a process that discards what it reads, `receive` is
 * `cat < /dev/tcp/... > /dev/null` from a process that writes FILE, `landed` the same bytes read by a bare node
 * process into four 16 MiB piece buffers in turn (socket onread), as a verified download lands them, start-up
 * included. CPU seconds per GiB, median of RUNS.
 */
export async function wireFloor(file: string, gib: number): Promise<{ send: number; receive: number; landed: number }> {
  const server = (code: string) =>
    new Promise<{ port: number; stop(): void }>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', `const net = require('node:net'), fs = require('node:fs'); const s = net.createServer(${code}).listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
      c.once('error', reject);
      c.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => c.kill() }));
    });
  const sink = await server(`(c) => c.resume()`);
  const source = await server(`(c) => fs.createReadStream(${JSON.stringify(file)}, { highWaterMark: 1 << 20 }).pipe(c)`);
  try {
    const send = timedRuns(`bash -c 'cat ${file} > /dev/tcp/127.0.0.1/${sink.port}'`);
    const receive = timedRuns(`bash -c 'cat < /dev/tcp/127.0.0.1/${source.port} > /dev/null'`);
    // As a verified download must: every byte lands in one of four 16 MiB piece buffers (socket onread), nothing else.
    const land = `const b = Buffer.alloc(64 << 20); let at = 0; require('node:net').connect({ port: ${source.port}, host: '127.0.0.1', onread: { buffer: () => { if (at >= b.length) at = 0; const s = b.subarray(at, at + 65536); at += 65536; return s; }, callback: () => true } }).on('end', () => process.exit(0))`;
    const landed = timedRuns(`node -e "${land}"`);
    if (send.status !== 0 || receive.status !== 0 || landed.status !== 0) throw new Error(`wire floor: ${send.stderr}${receive.stderr}${landed.stderr}`);
    return { send: send.cpu / gib, receive: receive.cpu / gib, landed: landed.cpu / gib };
  } finally {
    sink.stop();
    source.stop();
  }
}

/** BENCH_BEFORE: a checkout of the code before the data-plane change, built, whose binaries run beside ours. */
export const BEFORE = process.env.BENCH_BEFORE ? `${process.env.BENCH_BEFORE.replace(/\/$/, '')}/` : null;
