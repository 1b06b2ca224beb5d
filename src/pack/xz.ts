// xz compression, by the `xz` program when it is installed (measured faster: liblzma 5.4 against the 5.2.3 built into
// lzma-native) or by lzma-native in-process. Either way a Duplex (tar in, .xz out) plus a promise that settles when
// the compressor has really succeeded or failed.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { Duplex, PassThrough, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ServiceError, UsageError } from '../core/errors.js';

export type XzMode = 'auto' | 'native' | 'program';
export const XZ_MODES: readonly XzMode[] = ['auto', 'native', 'program'];

export interface XzOptions {
  level: number; // 0-9
  threads: number; // >= 1
  mode: XzMode;
  /** Where to look for the program (default: $PATH). */
  path?: string;
  /** The xz program writes here itself (our stdout), instead of through us; the native path ignores it. */
  outputFd?: number;
}

export type Compressor = CompressorBase & (
  /** tar in, .xz out */
  | { direct: false; stream: Duplex }
  /** tar in; the .xz goes straight to `outputFd` */
  | { direct: true; stream: Writable }
);

interface CompressorBase {
  /** Rejects when the compressor failed, even if its output ended normally (xz exiting 1 after a write error). */
  done: Promise<void>;
  kind: 'program' | 'native';
  /** Stops a compressor that will not be read to its end. */
  kill(): void;
}

/** The `xz` executable on PATH, if any. */
export function findXz(path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, 'xz');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function compressor(o: XzOptions): Compressor {
  if (o.mode !== 'native') {
    const xz = findXz(o.path);
    if (xz) return program(xz, o);
    if (o.mode === 'program') throw new UsageError('--xz=program: no xz program on PATH; install xz-utils, or use --xz=native');
  }
  return native(o);
}

function program(xz: string, o: XzOptions): Compressor {
  // Given our stdout, xz writes the archive there itself: no relay through this process.
  const child = spawn(xz, [`-T${o.threads}`, `-${o.level}`, '-c', '-q'], { stdio: ['pipe', o.outputFd ?? 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => (stderr += d).length > 4096 && (stderr = stderr.slice(-4096)));
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => reject(new ServiceError(`cannot run ${xz}: ${e.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      // The reader of our stdout went away (`| head`): the same quiet stop as an EPIPE of our own.
      if (signal === 'SIGPIPE') return reject(Object.assign(new ServiceError('xz: output closed by the reader'), { code: 'EPIPE' }));
      reject(new ServiceError(`xz failed (${signal ?? `exit ${code}`})${stderr.trim() ? `: ${stderr.trim().split('\n')[0]}` : ''}`));
    });
  });
  done.catch(() => {}); // the caller awaits it after the pipeline; never an unhandled rejection meanwhile
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  };
  if (!child.stdout) return { direct: true, stream: child.stdin!, done, kind: 'program', kill };
  return { direct: false, stream: Duplex.from({ writable: child.stdin, readable: child.stdout }), done, kind: 'program', kill };
}

interface LzmaNative {
  createCompressor(o: { preset: number; threads: number; blockSize: number; check: number }): Duplex;
  CHECK_CRC64: number;
}

// xz's dictionary size per preset; xz -T cuts blocks of 3 x that, and so do we, so both paths compress alike.
const DICT_MIB = [0.25, 1, 2, 4, 4, 8, 8, 16, 32, 64];

function native(o: XzOptions): Compressor {
  let lzma: LzmaNative;
  try {
    lzma = createRequire(import.meta.url)('lzma-native') as LzmaNative;
  } catch (e) {
    throw new ServiceError(`cannot load lzma-native (${(e as Error).message.split('\n')[0]}); install the xz program and use --xz=program`);
  }
  // `threads` must be set even for one thread: without it lzma-native silently turns preset 0 into preset 6.
  const xz = lzma.createCompressor({ preset: o.level, threads: o.threads, blockSize: 3 * DICT_MIB[o.level] * 2 ** 20, check: lzma.CHECK_CRC64 });
  // lzma-native's streams are readable-stream@3, not core streams: fed straight from some sources, pipeline() ends
  // with exit 0 and no output at all. Core PassThroughs on both sides keep it fed and drained like any stream.
  const input = new PassThrough({ highWaterMark: 1 << 20 });
  const output = new PassThrough({ highWaterMark: 1 << 20 });
  const done = pipeline(input, xz, output).catch((e: Error) => {
    throw e instanceof ServiceError ? e : new ServiceError(`xz compression failed: ${e.message}`);
  });
  done.catch(() => {});
  return {
    stream: Duplex.from({ writable: input, readable: output }),
    direct: false,
    done,
    kind: 'native',
    kill: () => xz.destroy(),
  };
}
