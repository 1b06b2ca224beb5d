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
  // Per process: benches run side by side on a shared machine would otherwise read each other's figures.
  const marker = join(WORK, `time-${process.pid}.out`);
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
    await fn(local, { ...local.env, XDG_STATE_HOME: join(WORK, `state-${process.pid}`) });
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

/**
 * Runs `pipeline` RUNS times; the median run by CPU, and the lowest and highest CPU and peak RSS seen. `after`, if
 * given, is called (untimed) after each run: e.g. to remove what the run wrote, as a product run's output is removed.
 */
export function timedRuns(pipeline: string, env: NodeJS.ProcessEnv = process.env, after?: () => void): Timed & { cpuMin: number; cpuMax: number; rssMax: number } {
  const runs: Timed[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = timed(pipeline, env);
    after?.();
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

/** Seconds of CPU per GiB that AES-128-GCM costs by itself (`openssl speed -evp aes-128-gcm`, 16 KiB blocks, a TLS record). */
export function aesGcmPerGiB(): number {
  const out = execFileSync('openssl', ['speed', '-evp', 'aes-128-gcm', '-seconds', '2', '-bytes', '16384'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const k = Number(/AES-128-GCM\s+([\d.]+)k/i.exec(out)?.[1]);
  return GiB / (k * 1000);
}

/** CPU seconds per GiB of `cp FILE COPY` (read plus write into the page cache), median of RUNS; the copy is removed. */
export function copyPerGiB(file: string, gib: number): number {
  const copy = join(WORK, `copy-${process.pid}.bin`);
  const t = timedRuns(`cp ${file} ${copy}`);
  rmSync(copy, { force: true });
  return t.cpu / gib;
}

/**
 * Node's own TLS by itself: a bare node process with one TLS socket (nothing else: no HTTP, no hashing) that
 * receives the bytes of `file` from, or sends them to, a node TLS server on 127.0.0.1 with a fresh 2048-bit RSA
 * certificate (as glacier-local --tls makes), TLS_AES_128_GCM_SHA256 as our clients offer it. `landed`: received into
 * 64 KiB reads of one 1 MiB buffer (socket onread); `held` (`plainHeld`): the same reads cycling through 64 MiB, as a
 * verified download to a pipe holds its pieces; `send`: the file's bytes written in 8 MiB slices. Client CPU
 * seconds per GiB, start-up and handshake included, median of RUNS; the same for plain TCP (`plainLanded`, `plainSend`).
 * `written` (`plainWritten` over plain TCP): the least a verified download into a file does, received into one
 * 256 KiB buffer, hashed into 1 MiB SHA-256 leaves, written at its place, one fdatasync at the end. `direct`
 * (`plainDirect`): the same past the page cache, as our downloads into a file now write, received into a 4 MiB buffer
 * of aligned memory, hashed as it lands, written by O_DIRECT 4 MiB at a time.
 */
export async function tlsWireFloor(file: string, gib: number): Promise<WireFloors> {
  const w = await startWireFloor(file);
  try {
    return w.measure(gib);
  } finally {
    w.stop();
  }
}

export interface WireFloors {
  landed: number;
  send: number;
  plainLanded: number;
  plainSend: number;
  written: number;
  plainWritten: number;
  held: number;
  plainHeld: number;
  direct: number;
  plainDirect: number;
}

/**
 * The servers of tlsWireFloor, started: `measure(gib)` takes its figures; `directCommand(tls)` and `heldCommand(tls)`
 * are the shell commands of one run of the `direct` and `held` floors (over TLS or plain TCP), to time beside a
 * product run; `removeOutput()` removes what a file floor's run wrote (untimed); `stop()` ends the servers.
 */
export async function startWireFloor(file: string): Promise<{ measure(gib: number): WireFloors; directCommand(tls: boolean): string; removeOutput(): void; heldCommand(tls: boolean): string; stop(): void }> {
  const key = join(WORK, 'floor-key.pem');
  const cert = join(WORK, 'floor-cert.pem');
  if (!existsSync(cert)) execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '30'], { stdio: 'ignore' });
  const server = (mod: string, opts: string, code: string) =>
    new Promise<{ port: number; stop(): void }>((resolve, reject) => {
      const c = spawn(process.execPath, ['-e', `const m = require('node:${mod}'), fs = require('node:fs'); const s = m.createServer(${opts} (${code})).listen(0, '127.0.0.1', () => console.log(s.address().port));`], { stdio: ['ignore', 'pipe', 'inherit'] });
      c.once('error', reject);
      c.stdout.once('data', (d: Buffer) => resolve({ port: Number(d.toString().trim()), stop: () => c.kill() }));
    });
  const tlsOpts = `{ key: fs.readFileSync(${JSON.stringify(key)}), cert: fs.readFileSync(${JSON.stringify(cert)}) },`;
  const source = `(c) => fs.createReadStream(${JSON.stringify(file)}, { highWaterMark: 1 << 20 }).pipe(c)`;
  const drain = `(c) => { c.resume(); c.on('end', () => c.end()); }`;
  const servers = [await server('tls', tlsOpts, source), await server('tls', tlsOpts, drain), await server('net', '', source), await server('net', '', drain)];
  const connect = (tls: boolean, port: number, extra: string) => (tls ? `require('node:tls').connect({ port: ${port}, host: '127.0.0.1', rejectUnauthorized: false, ciphers: 'TLS_AES_128_GCM_SHA256', ${extra} })` : `require('node:net').connect({ port: ${port}, host: '127.0.0.1', ${extra} })`);
  // `size`: the buffer the reads cycle through: 1 MiB (stays in the caches), or 64 MiB, what a verified download to a
  // pipe holds (4 pieces of 16 MiB in flight, each kept until its tree hash is checked), new memory as it is.
  const land = (tls: boolean, port: number, size = 1 << 20) => `const b = Buffer.allocUnsafeSlow(${size}); let at = 0; ${connect(tls, port, `onread: { buffer: () => { if (at >= b.length) at = 0; const s = b.subarray(at, at + 65536); at += 65536; return s; }, callback: () => true }`)}.on('end', () => process.exit(0))`;
  // Sends in 8 MiB slices from one buffer, as a part goes out (the file is read once, outside the timing of the socket).
  const send = (tls: boolean, port: number) =>
    `const fs = require('node:fs'); const fd = fs.openSync(${JSON.stringify(file)}, 'r'); const b = Buffer.allocUnsafe(8 << 20); const s = ${connect(tls, port, '')}; s.on('${tls ? 'secureConnect' : 'connect'}', function next() { const n = fs.readSync(fd, b, 0, b.length, null); if (n === 0) return s.end(); s.write(b.subarray(0, n), next); }); s.on('close', () => process.exit(0)); s.resume()`;
  // As a download into FILE must at least: received into a 256 KiB slice, hashed into 1 MiB SHA-256 leaves, written
  // at its place (pwrite), one fdatasync at the end; nothing else (no HTTP, no record, no rename).
  const out = join(WORK, `floor-out-${process.pid}.bin`);
  const write = (tls: boolean, port: number) =>
    `const fs = require('node:fs'), crypto = require('node:crypto'); const fd = fs.openSync(${JSON.stringify(out)}, 'w', 0o600); const S = 262144; const b = Buffer.allocUnsafeSlow(S); let fill = 0, pos = 0, lf = 0, leaf = null; const leaves = []; ` +
    `const flush = () => { if (!fill) return; const s = b.subarray(0, fill); (leaf = leaf || crypto.createHash('sha256')).update(s); lf += fill; if (lf === 1048576) { leaves.push(leaf.digest()); leaf = null; lf = 0; } fs.writeSync(fd, s, 0, fill, pos); pos += fill; fill = 0; }; ` +
    `${connect(tls, port, `onread: { buffer: () => b.subarray(fill), callback: (n) => { fill += n; if (fill === S) flush(); return true; } }`)}.on('end', () => { flush(); if (leaf) leaves.push(leaf.digest()); fs.fdatasyncSync(fd); process.exit(0); })`;
  // As a download into FILE past the page cache: received into a 4 MiB buffer of page-aligned memory (a
  // WebAssembly.Memory), hashed as it lands in 256 KiB stretches into 1 MiB leaves, each full buffer written at its
  // place through an O_DIRECT descriptor (the last short one through the page cache), one fdatasync at the end.
  // (No '|' in it: timed() reads one as a pipe between commands.)
  const direct = (tls: boolean, port: number) =>
    `const fs = require('node:fs'), crypto = require('node:crypto'); const fd = fs.openSync(${JSON.stringify(out)}, 'w', 0o600); const dfd = fs.openSync('/proc/self/fd/' + fd, fs.constants.O_WRONLY + fs.constants.O_DIRECT); ` +
    `const S = 4194304, H = 262144; const b = Buffer.from(new WebAssembly.Memory({ initial: 64 }).buffer); let fill = 0, hashed = 0, pos = 0, lf = 0, leaf = null; const leaves = []; ` +
    `const hash = (to) => { while (hashed < to) { const n = Math.min(to - hashed, 1048576 - lf); (leaf = leaf || crypto.createHash('sha256')).update(b.subarray(hashed, hashed + n)); hashed += n; lf += n; if (lf === 1048576) { leaves.push(leaf.digest()); leaf = null; lf = 0; } } }; ` +
    `${connect(tls, port, `onread: { buffer: () => b.subarray(fill), callback: (n) => { fill += n; if (fill - hashed >= H) hash(fill - ((fill - hashed) % H)); if (fill === S) { hash(fill); fs.writeSync(dfd, b, 0, S, pos); pos += S; fill = 0; hashed = 0; } return true; } }`)}` +
    `.on('end', () => { hash(fill); if (leaf) leaves.push(leaf.digest()); if (fill) fs.writeSync(fd, b, 0, fill, pos); fs.fdatasyncSync(fd); process.exit(0); })`;
  const command = (code: string) => `node -e "${code.replace(/"/g, '\\"')}"`;
  const removeOutput = () => rmSync(out, { force: true });
  return {
    measure(gib) {
      const runs = [land(true, servers[0].port), send(true, servers[1].port), land(false, servers[2].port), send(false, servers[3].port), write(true, servers[0].port), write(false, servers[2].port), land(true, servers[0].port, 64 << 20), land(false, servers[2].port, 64 << 20), direct(true, servers[0].port), direct(false, servers[2].port)].map((code) => {
        // A file floor's output is removed after each run, as each product run's is: every run writes a new file.
        const t = timedRuns(command(code), process.env, removeOutput);
        if (t.status !== 0) throw new Error(`tls wire floor: ${t.stderr}`);
        return t.cpu / gib;
      });
      return { landed: runs[0], send: runs[1], plainLanded: runs[2], plainSend: runs[3], written: runs[4], plainWritten: runs[5], held: runs[6], plainHeld: runs[7], direct: runs[8], plainDirect: runs[9] };
    },
    directCommand: (tls) => command(direct(tls, servers[tls ? 0 : 2].port)),
    removeOutput,
    heldCommand: (tls) => command(land(tls, servers[tls ? 0 : 2].port, 64 << 20)),
    stop() {
      rmSync(out, { force: true });
      for (const s of servers) s.stop();
    },
  };
}
