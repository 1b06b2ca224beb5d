// glacier-pack's library entry: PATHs in, a tar(.xz) stream out. Scans first (so the total is known and every
// problem with a named PATH is a usage error before a byte is written), then streams tar → xz → output with
// backpressure end to end. Problems met while packing are reported as they happen; the worst one sets the status.
import { constants, promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { coalesce } from './coalesce.js';
import { copyArchive, isArchiveName } from './passthrough.js';
import { writeEntries } from './tar.js';
import { UsageError } from '../core/errors.js';
import { reason, type PackFs } from './fs.js';
import { walk, type Problem } from './walk.js';
import { compressor, type XzMode } from './xz.js';

export interface PackOptions {
  /** -C DIR. */
  cwd?: string;
  exclude?: readonly string[];
  /** false: plain tar (--no-compress). */
  compress: boolean;
  level: number;
  threads: number;
  xz: XzMode;
  fs?: PackFs;
  problem(p: Problem): void;
  /** The total of bytes to read, once the scan has found it. */
  onTotal?(bytes: number): void;
  onRead?(bytes: number): void;
  signal?: AbortSignal;
  /** The output when it is a regular file, so that it is never packed into itself. */
  skip?: { dev: number; ino: number };
  /** `output`'s file descriptor, when it has one (stdout): the xz program then writes to it directly. */
  outputFd?: number;
  /**
   * false: always make a tar, even of one PATH that is an archive (for names from --files-from, where a list that
   * happens to hold one .tar.gz must still give a tar.xz). Default true.
   */
  passthrough?: boolean;
}

export interface PackResult {
  /** 0: clean; 1: some file changed or vanished while read; 2: some file could not be read at all. */
  status: 0 | 1 | 2;
  /** How the archive was made. */
  how: 'passthrough' | 'tar' | 'xz-program' | 'xz-native';
  entries: number;
}

export async function pack(inputs: readonly string[], output: Writable, o: PackOptions): Promise<PackResult> {
  let status: 0 | 1 | 2 = 0;
  const problem = (p: Problem) => {
    if (p.status > status) status = p.status;
    o.problem(p);
  };
  const signal = o.signal;
  try {
    if (o.passthrough !== false && inputs.length === 1 && isArchiveName(inputs[0])) {
      const path = resolve(o.cwd ?? '.', inputs[0]);
      const st = await fsp.stat(path).catch(() => undefined);
      if (st?.isFile()) {
        await fsp.access(path, constants.R_OK).catch((e) => {
          throw new UsageError(`cannot read ${inputs[0]}: ${reason(e)}`);
        });
        o.onTotal?.(st.size);
        await copyArchive(path, output, { onRead: o.onRead, signal });
        return { status, how: 'passthrough', entries: 1 };
      }
    }
    const { entries, total } = await walk(inputs, { cwd: o.cwd, exclude: o.exclude, fs: o.fs, problem, skip: o.skip, signal });
    o.onTotal?.(total);
    const packer = tar.pack();
    const xz = o.compress ? compressor({ level: o.level, threads: o.threads, mode: o.xz, outputFd: o.outputFd }) : undefined;
    const writing = writeEntries(packer, entries, { fs: o.fs, problem, onRead: o.onRead, signal });
    writing.catch(() => {}); // awaited below; a failing output can also end it first
    try {
      const piping = !xz ? pipeline(packer, coalesce(), output) : xz.direct ? pipeline(packer, coalesce(), xz.stream) : pipeline(packer, coalesce(), xz.stream, output);
      await Promise.all([writing, piping]);
      await xz?.done;
    } catch (e) {
      packer.destroy();
      xz?.kill();
      throw e;
    }
    return { status, how: !xz ? 'tar' : xz.kind === 'program' ? 'xz-program' : 'xz-native', entries: entries.length };
  } catch (e) {
    // pipeline() rejects with an AbortError when the signal fires: the signal's own reason says which one.
    if (signal?.aborted) throw signal.reason;
    throw e;
  }
}
