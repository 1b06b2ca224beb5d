// Helpers for the benchmarks: timed commands (GNU time), inputs, a glacier-local to run against.
import { execFileSync, spawnSync } from 'node:child_process';
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
