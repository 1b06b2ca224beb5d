// "Open FILE or -", in one place: what an input is (stdin, a regular file, another kind of file such as a FIFO,
// or a glacier-chunk spool folder) as one discriminated value. A regular file is read against the size and mtime
// it had when opened: if it shrinks, grows or is rewritten while read, reading fails with GNU tar's words.
import { promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { ByteReader } from '../core/byte-reader.js';
import { InputChangedError, UsageError } from '../core/errors.js';
import { fdFiller, fifoFiller } from '../core/fd-reader.js';
import { MiB } from '../core/tree-hash.js';
import { abortable, streamFiller, type Filler } from './sources.js';

export type Input =
  | { kind: 'stdin'; filler: Filler; close(): Promise<void> }
  /** A regular file: its size is known, and reading it checks that it does not change. */
  | { kind: 'file'; path: string; size: number; filler: Filler; close(): Promise<void> }
  /** A named FIFO or device: read as a stream. */
  | { kind: 'stream'; path: string; filler: Filler; close(): Promise<void> }
  | { kind: 'spool'; dir: string; close(): Promise<void> };

/**
 * Opens `name` ('-' for `stdin`). Throws UsageError (exit 2) when it cannot be read, when stdin is a terminal,
 * or for a folder unless `folders` (a spool folder) is allowed. When `signal` aborts, a read waiting for input
 * (a silent pipe, a FIFO with no writer yet) rejects at once with the signal's reason.
 */
export async function openInput(name: string, o: { stdin: Readable & { isTTY?: boolean }; folders?: boolean; onRead?: (n: number) => void; signal?: AbortSignal }): Promise<Input> {
  const input = await opened(name, o);
  return input.kind === 'spool' ? input : { ...input, filler: abortable(input.filler, o.signal) };
}

async function opened(name: string, o: { stdin: Readable & { isTTY?: boolean }; folders?: boolean; onRead?: (n: number) => void }): Promise<Input> {
  if (name === '-') {
    if (o.stdin.isTTY) throw new UsageError('stdin is a terminal: pipe data in, or give a FILE (see --help)');
    // A pipe (or a file) on fd 0 is read straight into the part buffers (fd-reader.ts), each read told to
    // `onRead`; anything else as a stream.
    const direct = (o.stdin as { fd?: number }).fd === 0 ? fdFiller(0, o.onRead) : null;
    if (direct) return { kind: 'stdin', filler: direct, close: async () => direct.close() };
    return { kind: 'stdin', filler: streamFiller(new ByteReader(o.stdin)), close: async () => {} };
  }
  const cannot = (e: NodeJS.ErrnoException) => new UsageError(`cannot read ${name}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
  const st = await fsp.stat(name).catch((e: NodeJS.ErrnoException) => {
    throw cannot(e);
  });
  if (st.isDirectory()) {
    if (!o.folders) throw new UsageError(`cannot read ${name}: is a directory`);
    return { kind: 'spool', dir: name, close: async () => {} };
  }
  if (st.isFIFO()) {
    // Opened without waiting for a writer and read on the event loop, so a signal ends the run at once.
    try {
      const fifo = fifoFiller(name);
      return { kind: 'stream', path: name, filler: fifo, close: async () => fifo.close() };
    } catch (e) {
      throw cannot(e as NodeJS.ErrnoException);
    }
  }
  const fh = await fsp.open(name, 'r').catch((e: NodeJS.ErrnoException) => {
    throw cannot(e);
  });
  const close = () => fh.close().catch(() => {});
  const opened = await fh.stat();
  if (!opened.isFile()) return { kind: 'stream', path: name, filler: streamFiller(new ByteReader(fh.createReadStream({ highWaterMark: MiB }))), close };
  return { kind: 'file', path: name, size: opened.size, filler: checkedFileFiller(fh, name, opened.size, opened.mtimeMs), close };
}

/**
 * Reads a regular file from its start, never past the size it had when opened. Throws InputChangedError (exit 1)
 * when a part comes up short of that size, or when, at its end, the file has more bytes, another size or another
 * mtime than when opened ("file changed as we read it", as GNU tar says).
 */
export function checkedFileFiller(fh: fsp.FileHandle, name: string, size: number, mtimeMs: number): Filler {
  let pos = 0;
  let checked = false;
  const changed = (how: string) => new InputChangedError(`${name}: file changed as we read it (${how}); nothing was stored`);
  return {
    async fill(dst, n) {
      const want = Math.min(n, size - pos);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(dst, got, want - got, pos);
        if (bytesRead === 0) throw changed(`it ended at byte ${pos} of ${size}`);
        got += bytesRead;
        pos += bytesRead;
      }
      if (pos === size && !checked) {
        checked = true;
        const { bytesRead } = await fh.read(Buffer.alloc(1), 0, 1, size);
        const st = await fh.stat();
        if (bytesRead > 0 || st.size !== size) throw changed(`${size} bytes when opened, ${st.size} now`);
        if (st.mtimeMs !== mtimeMs) throw changed('it was written to');
      }
      return got;
    },
  };
}
