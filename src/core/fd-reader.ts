// Reads an input descriptor (stdin) straight into the caller's buffers. A pipe or socket is read by a
// net.Socket with `onread`, which reads(2) on the event loop into the buffer we name for each read: no
// intermediate chunks, no copies (read(2) on a pipe through the thread pool costs a thread hop per 64 KiB).
// A regular file is read with fs.read into the buffer, as large as the caller asks.
import { closeSync, constants, fstatSync, openSync, read } from 'node:fs';
import net from 'node:net';

export interface FdFiller {
  /** Writes up to n bytes into dst from its start; fewer only at end of input. */
  fill(dst: Buffer, n: number): Promise<number>;
  close(): void;
}

/** Whether fdFiller reads `fd` itself: a pipe, a socket or a regular file. */
export function directlyReadable(fd = 0): boolean {
  const st = fstatSync(fd);
  return st.isFile() || st.isFIFO() || st.isSocket();
}

/**
 * A filler for descriptor `fd` (default 0), or null when it is neither a pipe, a socket nor a regular file
 * (a terminal, a character device: read those as a stream). `onRead(n)` hears of every read as it lands (progress).
 * Read errors reject `fill` with Node's error.
 */
export function fdFiller(fd = 0, onRead?: (n: number) => void): FdFiller | null {
  if (!directlyReadable(fd)) return null;
  const f = fstatSync(fd).isFile() ? fileFdFiller(fd) : socketFdFiller(fd, onRead);
  if (!onRead || !fstatSync(fd).isFile()) return f;
  return {
    fill: async (dst, n) => {
      const got = await f.fill(dst, n);
      onRead(got);
      return got;
    },
    close: () => f.close(),
  };
}

/**
 * Opens the named FIFO `path` for reading without waiting for a writer, and reads it on the event loop as
 * fdFiller reads a pipe on stdin: a signal then ends the binary at once even while no writer has come
 * (open(2) of a FIFO blocks until one does, and reads through the thread pool cannot be cut short).
 * Input starts when a writer opens the FIFO and ends when the last writer closes it. Throws Node's error
 * when the path cannot be opened.
 */
export function fifoFiller(path: string, onRead?: (n: number) => void): FdFiller {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFIFO()) throw Object.assign(new Error(`${path}: not a FIFO`), { code: 'EINVAL' });
    return socketFdFiller(fd, onRead);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

function fileFdFiller(fd: number): FdFiller {
  return {
    async fill(dst, n) {
      let got = 0;
      while (got < n) {
        // position null: from the descriptor's own offset (stdin redirected from a file may not start at 0).
        const k = await new Promise<number>((res, rej) => read(fd, dst, got, n - got, null, (e, b) => (e ? rej(e) : res(b))));
        if (k === 0) break;
        got += k;
      }
      return got;
    },
    close() {},
  };
}

function socketFdFiller(fd: number, onRead?: (n: number) => void): FdFiller {
  let target: Buffer | null = null;
  let want = 0;
  let got = 0;
  let given: Uint8Array | null = null;
  // Bytes read while no fill was waiting (the read armed before the socket paused); at most one read's worth.
  const spare = Buffer.allocUnsafe(64 * 1024);
  let held: Buffer | null = null;
  let ended = false;
  let failure: Error | null = null;
  let settle: (() => void) | null = null;

  const socket = new net.Socket({
    fd,
    readable: true,
    writable: false,
    onread: {
      buffer: () => (given = target && got < want ? target.subarray(got, want) : spare),
      callback: (n: number, buf: Uint8Array) => {
        onRead?.(n);
        if (target && buf === given && buf !== spare) got += n;
        else if (target) {
          const k = Math.min(n, want - got);
          target.set(buf.subarray(0, k), got);
          got += k;
          if (k < n) held = Buffer.from(buf.subarray(k, n));
        } else held = held ? Buffer.concat([held, buf.subarray(0, n)]) : Buffer.from(buf.subarray(0, n));
        if (!target || got >= want) {
          settle?.();
          return false; // pause until the next fill
        }
        return true;
      },
    },
  } as net.SocketConstructorOpts);
  socket.on('end', () => {
    ended = true;
    settle?.();
  });
  socket.on('error', (e) => {
    failure = e;
    settle?.();
  });
  socket.pause();

  return {
    async fill(dst, n) {
      got = 0;
      if (held) {
        const k = Math.min(n, held.length);
        held.copy(dst, 0, 0, k);
        held = k < held.length ? held.subarray(k) : null;
        got = k;
      }
      if (got >= n || ended || failure) {
        if (failure && got === 0) throw failure;
        return got;
      }
      target = dst;
      want = n;
      await new Promise<void>((resolve) => {
        settle = resolve;
        socket.resume();
      });
      settle = null;
      target = null;
      if (failure && got === 0) throw failure;
      return got;
    },
    close() {
      socket.destroy();
    },
  };
}
