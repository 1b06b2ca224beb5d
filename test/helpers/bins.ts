// Spawns the project's real binaries (bin/glacier-*) over real pipes and collects what they print.
import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { BIN } from './local.js';

// Every process started here that has not ended yet. A test that fails while one runs (an assertion or an until()
// giving up) would otherwise leave it holding the test file open for ever: once the file's tests are over, whatever
// is left gets SIGKILL, so the file ends and reports the failure.
const live = new Set<ChildProcess>();
after(() => {
  for (const p of live) {
    p.kill('SIGKILL');
    // A grandchild may still hold the pipes: they are closed on this side too.
    p.stdin?.destroy();
    p.stdout?.destroy();
    p.stderr?.destroy();
    p.unref();
  }
});

export interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

export interface Started {
  proc: ChildProcess;
  done: Promise<Ran>;
  /** stderr so far (while the process runs). */
  stderr(): string;
}

/**
 * Starts `bin/<name>` with node. `input` is written to its stdin (a pipe) and closed; without it stdin is
 * /dev/null (or left open as a pipe with `openStdin`).
 */
export function start(name: string, args: string[], o: { env: NodeJS.ProcessEnv; input?: Buffer | string; openStdin?: boolean }): Started {
  return startCmd(process.execPath, [BIN(name), ...args], o);
}

/** Runs a /bin/sh script (real shell pipes); `$1`, `$2`... are `args`. NODE is the node binary, BIN the bin folder. */
export function sh(script: string, args: string[], o: { env: NodeJS.ProcessEnv; input?: Buffer | string }): Started {
  return startCmd('/bin/sh', ['-c', script, 'sh', ...args], { ...o, env: { ...o.env, NODE: process.execPath, BIN: BIN('').replace(/\/$/, '') } });
}

function startCmd(cmd: string, args: string[], o: { env: NodeJS.ProcessEnv; input?: Buffer | string; openStdin?: boolean }): Started {
  const t0 = Date.now();
  const withStdin = o.input !== undefined || o.openStdin;
  const proc = spawn(cmd, args, { env: o.env, stdio: [withStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const out: Buffer[] = [];
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => out.push(d));
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => (err += d));
  if (withStdin) {
    proc.stdin!.on('error', () => {}); // the binary may exit (usage error) before reading it all: EPIPE is expected
    if (o.input !== undefined) proc.stdin!.end(o.input);
  }
  const done = new Promise<Ran>((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 }));
  });
  return { proc, done, stderr: () => err };
}

export const run = (name: string, args: string[], o: { env: NodeJS.ProcessEnv; input?: Buffer | string }): Promise<Ran> => start(name, args, o).done;

/** stderr lines that are not warnings (nor blank). */
export function errorLines(stderr: string, name = 'glacier-put'): string[] {
  return stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith(`${name}: warning:`));
}

/** Describes a finished run for assertion messages. */
export function show(r: Ran): string {
  return `exit ${r.code}${r.signal ? ` (${r.signal})` : ''} after ${r.ms} ms\n--- stderr:\n${r.stderr}--- stdout:\n${r.stdout.subarray(0, 2000).toString('utf8')}`;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
