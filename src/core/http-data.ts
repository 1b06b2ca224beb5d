// The data plane: the SDK builds, signs and parses every request (endpoint, SigV4, credential chain,
// errors), and this request handler moves the bytes of the three data operations (UploadArchive,
// UploadMultipartPart, GetJobOutput) over our own HTTP/1.1 connections: part buffers are written to the socket
// as they are, and response bodies are read by the socket straight into the piece buffers (`onread`), with no
// intermediate chunks. Every other request goes to the SDK's NodeHttpHandler.
import { Readable } from 'node:stream';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions } from '@smithy/types';
import { rawConnect, sdkAgents, type TransportOptions } from './transport.js';
import { rateLimiter, type Prepaid, type RateLimiter } from './rate.js';

interface SdkRequest {
  method: string;
  protocol: string;
  hostname: string;
  port?: number;
  path: string;
  query?: Record<string, string | string[] | null>;
  headers: Record<string, string>;
  body?: unknown;
}

interface SdkResponse {
  statusCode: number;
  reason?: string;
  headers: Record<string, string>;
  body: Readable;
}

const DATA_OPS: [string, RegExp][] = [
  ['PUT', /\/multipart-uploads\/[^/]+$/], // UploadMultipartPart
  ['POST', /\/archives$/], // UploadArchive
  ['GET', /\/jobs\/[^/]+\/output$/], // GetJobOutput
];

const HEAD_SIZE = 64 * 1024;
const MAX_HEAD = 1024 * 1024;
const TLS_SLICE = 256 * 1024;

function netError(message: string, code = 'ECONNRESET'): Error {
  return Object.assign(new Error(message), { code });
}

/** Thrown by readBodyInto when the body is longer than the buffer it is read into. */
export class BodyOverflow extends Error {
  readonly retryable = true;
}

/**
 * Reads a response body into `dst` from its start and returns how many bytes it held (≤ dst.length). A body
 * from our connections is read by the socket straight into `dst`; any other stream is copied chunk by chunk.
 * `onFill(filled)`, when given, is called as bytes land, with how many of `dst` are filled so far (in order,
 * growing, the last call with the total), while the bytes just landed are still in the CPU's caches.
 * Throws BodyOverflow when the body is longer than `dst`, and network errors (code ECONNRESET, ...) when it stops.
 */
export async function readBodyInto(body: unknown, dst: Uint8Array, onFill?: (filled: number) => void): Promise<number> {
  if (body instanceof RawBody) return body.fillInto(dst, onFill);
  let got = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    if (got + chunk.length > dst.length) throw new BodyOverflow(`more bytes than asked for (${dst.length})`);
    dst.set(chunk, got);
    got += chunk.length;
    onFill?.(got);
  }
  return got;
}

/** The length a response body declares (Content-Length) when it comes from our connections; undefined otherwise. */
export function declaredLength(body: unknown): number | undefined {
  return body instanceof RawBody && 'length' in body.kind ? body.kind.length : undefined;
}

/** Reads a body a slice at a time into buffers of the caller's choosing (see bodyReader). */
export interface BodyReader {
  /**
   * Fills `dst` with the body's next bytes; fewer only where the body ends (0: it has ended). `onFill` as
   * readBodyInto's, counted from `dst`'s start. Network errors as readBodyInto.
   */
  read(dst: Uint8Array, onFill?: (filled: number) => void): Promise<number>;
}

/**
 * A reader of a response body in slices, so that a long body passes through small buffers reused while they are
 * still in the CPU's caches. A body from our connections with a Content-Length is read by the socket straight into
 * each slice; any other stream is copied into them.
 */
export function bodyReader(body: unknown): BodyReader {
  if (body instanceof RawBody && 'length' in body.kind) return { read: (dst, onFill) => body.fillSome(dst, onFill) };
  const it = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let left: Uint8Array | null = null;
  let ended = false;
  return {
    read: async (dst, onFill) => {
      let got = 0;
      while (got < dst.length) {
        if (!left || left.length === 0) {
          if (ended) break;
          const r = await it.next();
          if (r.done) {
            ended = true;
            break;
          }
          left = r.value;
        }
        const n = Math.min(left.length, dst.length - got);
        dst.set(left.subarray(0, n), got);
        left = left.subarray(n);
        got += n;
        onFill?.(got);
      }
      return got;
    },
  };
}

interface HeadResult {
  status: number;
  reason: string;
  headers: Record<string, string>;
  body: RawBody;
}

/**
 * --limit-rate: marks a response body whose bytes were booked in the bucket before its request was sent
 * (rate.ts prepayPiece), so reading it books nothing more. Bodies from another handler are left alone (only
 * this data plane paces reads).
 */
export function markPrepaid(body: unknown, paid: Prepaid): void {
  if (body instanceof RawBody) body.prepaid(paid);
}

type BodyKind = { length: number } | { chunked: true } | { untilClose: true };

/** A response body still on its connection: either filled into a buffer (fillInto) or read as a stream. */
export class RawBody extends Readable {
  private started = false;
  /** Body bytes not yet handed out by fillSome (bodies with a Content-Length); -1 before the first. */
  private left = -1;
  constructor(
    private readonly conn: Connection,
    readonly kind: BodyKind,
  ) {
    super({ highWaterMark: HEAD_SIZE });
  }

  /** The body straight into dst (see readBodyInto). */
  fillInto(dst: Uint8Array, onFill?: (filled: number) => void): Promise<number> {
    if (this.started) throw new Error('body already being read');
    this.started = true;
    if (!('length' in this.kind)) {
      // No length known up front: read it as a stream.
      this.started = false;
      return readBodyInto(Readable.from(this), dst, onFill);
    }
    // An empty body is already whole: nothing to wait for (the connection may be back in the pool).
    if (this.kind.length === 0) return Promise.resolve(0);
    if (this.kind.length > dst.length) {
      this.conn.destroy(new BodyOverflow(`more bytes than asked for (${this.kind.length} > ${dst.length})`));
      return Promise.reject(new BodyOverflow(`more bytes than asked for (${this.kind.length} > ${dst.length})`));
    }
    return this.conn.fillInto(dst.subarray(0, this.kind.length), true, onFill);
  }

  /** The body's next min(dst.length, bytes left) bytes straight into dst (see bodyReader); 0 once it has ended. */
  async fillSome(dst: Uint8Array, onFill?: (filled: number) => void): Promise<number> {
    if (!('length' in this.kind)) throw new Error('fillSome needs a Content-Length');
    if (this.left < 0) {
      if (this.started) throw new Error('body already being read');
      this.started = true;
      this.left = this.kind.length;
    }
    const n = Math.min(dst.length, this.left);
    if (n === 0) return 0;
    this.left -= n;
    return this.conn.fillInto(dst.subarray(0, n), this.left === 0, onFill);
  }

  /**
   * --limit-rate: this body's bytes were booked in the bucket before its request was sent (rate.ts
   * prepayPiece), so reading it books nothing more: it is read within the slot booked.
   */
  prepaid(paid: Prepaid): void {
    this.conn.paid = { ...paid, got: 0 };
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.conn.streamTo(this);
    } else this.conn.resume();
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    // A body dropped before its end leaves the connection mid-response: it cannot be reused.
    if (!this.conn.idle) this.conn.destroy(err ?? netError('response body abandoned'));
    cb(err);
  }
}

/** One HTTP/1.1 connection, one request at a time (keep-alive, no pipelining). */
class Connection {
  /** The body being read was paid for before its request (RawBody.prepaid), and how much of it came; reset when the response ends. */
  paid: (Prepaid & { got: number }) | null = null;
  private readonly head = Buffer.allocUnsafe(HEAD_SIZE);
  private bigHead: Buffer | null = null;
  private headLen = 0;
  private readonly scratch = Buffer.allocUnsafe(HEAD_SIZE);
  private state: 'idle' | 'head' | 'pending' | 'into' | 'stream' | 'dead' = 'idle';
  private given: Uint8Array = this.head;
  // body in progress
  private target: Uint8Array | null = null;
  /** Whether the body ends where `target` is full (else the rest waits, paused, for the next fillInto). */
  private last = true;
  private got = 0;
  private remaining = 0; // -1: until close
  private chunked: { buf: Buffer; left: number; done: boolean } | null = null;
  private leftover: Buffer | null = null;
  private stream: RawBody | null = null;
  private keepAlive = true;
  /** A response was read whole on this connection before: bytes that are no response head now are the server's leftovers. */
  private reused = false;
  private onHead: ((r: HeadResult) => void) | null = null;
  private onFail: ((e: Error) => void) | null = null;
  private onFilled: (() => void) | null = null;
  private onFill: ((filled: number) => void) | null = null;
  /** Resolves once bytes that followed the last body have had a turn of the event loop to arrive (complete()). */
  settling: Promise<void> | null = null;
  /** Undoes what tied this request to an abort signal; called when the response ends either way. */
  detach: (() => void) | null = null;
  socket!: import('node:net').Socket;
  absoluteForm = false;
  private direct = true;
  private readonly onread = {
    buffer: () => (this.given = this.nextBuffer()),
    callback: (n: number, buf: Uint8Array) => {
      // A body read into its target, where nextBuffer put it: counted, not looked at (no view made per read: over TLS
      // a read is one record, some 131,000 of them per 2 GiB).
      const t = this.target;
      if (this.state === 'into' && t !== null && buf.buffer === t.buffer && buf.byteOffset === t.byteOffset + this.got && n <= t.length - this.got) {
        this.paceRead(n);
        return this.intoLanded(n) !== false;
      }
      return this.received(buf.subarray(0, n), buf === this.given && this.state !== 'pending' && this.given !== this.scratch) !== false;
    },
  };

  constructor(readonly key: string, private readonly release: (c: Connection) => void) {}

  get idle() {
    return this.state === 'idle';
  }

  async open(origin: URL, t: TransportOptions, timeoutMs?: number): Promise<void> {
    const c = await rawConnect(origin, t, this.onread, timeoutMs);
    this.socket = c.socket;
    this.absoluteForm = c.absoluteForm;
    this.direct = c.direct;
    if (!this.direct) this.socket.on('data', (d: Buffer) => this.received(d, false));
    this.socket.on('error', (e) => this.fail(e));
    this.socket.on('end', () => this.ended());
    this.socket.on('close', () => this.fail(netError('connection closed')));
    this.socket.on('timeout', () => this.destroy(netError('no data from the server within the timeout', 'ETIMEDOUT')));
  }

  private nextBuffer(): Uint8Array {
    // --limit-rate: a read no larger than one slice, so that pacing (paceRead) stays even.
    if (this.state === 'into' && this.target) return this.target.subarray(this.got, this.got + (rateLimiter()?.slice ?? this.target.length));
    if (this.state === 'stream' || this.state === 'pending') return this.scratch;
    if (this.headLen >= HEAD_SIZE) return this.scratch;
    return this.head.subarray(this.headLen);
  }

  /** Sends one request and resolves with its status and headers once they arrived; the body follows. */
  request(head: string, body: Uint8Array | null, timeoutMs: number): Promise<HeadResult> {
    this.state = 'head';
    this.paid = null;
    this.headLen = 0;
    this.bigHead = null;
    this.socket.ref();
    this.socket.setTimeout(timeoutMs);
    return new Promise((resolve, reject) => {
      this.onHead = resolve;
      this.onFail = reject;
      const pace = rateLimiter();
      if (pace && body && body.length) {
        this.socket.write(head, 'latin1');
        paceWrite(this.socket, body, pace);
      } else if (!(this.socket as { encrypted?: boolean }).encrypted || !body || body.length <= TLS_SLICE) {
        // Plain TCP: the kernel takes the part straight from its buffer (no copy on our side).
        this.socket.cork();
        this.socket.write(head, 'latin1');
        if (body && body.length) this.socket.write(body);
        this.socket.uncork();
      } else {
        // TLS encrypts a whole write at once into a buffer of its own: slices keep that to one slice per part.
        this.socket.write(head, 'latin1');
        const socket = this.socket;
        const next = (off: number) => {
          if (off >= body.length || socket.destroyed) return;
          socket.write(body.subarray(off, off + TLS_SLICE), () => next(off + TLS_SLICE));
        };
        next(0);
      }
      this.socket.resume();
    });
  }

  private received(bytes: Uint8Array, inPlace: boolean): boolean | void {
    if (this.state === 'into' || this.state === 'stream') this.paceRead(bytes.length);
    switch (this.state) {
      case 'head':
        return this.headBytes(bytes, inPlace);
      case 'into':
        return this.intoBytes(bytes, inPlace);
      case 'stream':
        return this.streamBytes(Buffer.from(bytes)); // scratch is reused: the stream gets a copy
      case 'pending': {
        // Arrived before the consumer said where the body goes (the read was already set up): keep it. Body bytes
        // count toward --limit-rate here, once: they are not counted again when the next slice takes them.
        if (this.stream) this.paceRead(bytes.length);
        const b = Buffer.from(bytes);
        this.leftover = this.leftover ? Buffer.concat([this.leftover, b]) : b;
        return false;
      }
      default:
        if (bytes.length) this.destroy(netError('the server sent bytes outside a response'));
    }
  }

  private headBytes(bytes: Uint8Array, inPlace: boolean): boolean | void {
    let buf: Buffer;
    // In place only if the read landed where the next header byte goes (the read may have been armed earlier).
    if (inPlace && !this.bigHead && bytes.byteOffset === this.head.byteOffset + this.headLen) {
      this.headLen += bytes.length;
      buf = this.head.subarray(0, this.headLen);
    } else {
      const prev = this.bigHead ?? this.head.subarray(0, this.headLen);
      this.bigHead = Buffer.concat([prev, bytes]);
      this.headLen = this.bigHead.length;
      buf = this.bigHead;
    }
    const end = buf.indexOf('\r\n\r\n', Math.max(0, this.headLen - bytes.length - 3), 'latin1');
    if (end < 0) {
      if (this.headLen > MAX_HEAD) this.destroy(this.leftovers('response headers too large'));
      return;
    }
    const lines = buf.toString('latin1', 0, end).split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3}) ?(.*)$/.exec(lines[0]);
    if (!m) return void this.destroy(this.leftovers(`not an HTTP response: ${JSON.stringify(lines[0].slice(0, 40))}`));
    const status = Number(m[2]);
    if (status === 100) {
      // 100 Continue: the real response follows.
      const rest = Buffer.from(buf.subarray(end + 4));
      this.headLen = 0;
      this.bigHead = null;
      return rest.length ? this.headBytes(rest, false) : undefined;
    }
    const headers: Record<string, string> = {};
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
    }
    const conn = (headers.connection ?? '').toLowerCase();
    this.keepAlive = m[1] === '1' ? conn !== 'close' : conn === 'keep-alive';
    // Body bytes that came with the head stay where they landed (no copy, no new memory per request): the head
    // buffer is not read into again before the next request, and fillInto copies them out first; streamTo copies.
    const rest = buf.subarray(end + 4, this.headLen);
    this.leftover = rest.length ? rest : null;
    let kind: BodyKind;
    if (status === 204 || status === 304) kind = { length: 0 };
    else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) kind = { chunked: true };
    else if (headers['content-length'] !== undefined) kind = { length: Number(headers['content-length']) };
    else kind = { untilClose: true };
    if ('length' in kind && !(Number.isSafeInteger(kind.length) && kind.length >= 0)) return void this.destroy(netError('invalid Content-Length', 'EPROTO'));
    if ('untilClose' in kind) this.keepAlive = false;
    this.remaining = 'length' in kind ? kind.length : -1;
    this.chunked = 'chunked' in kind ? { buf: Buffer.alloc(0), left: -1, done: false } : null;
    this.state = 'pending';
    const onHead = this.onHead!;
    this.onHead = null;
    this.stream = new RawBody(this, kind);
    const r = { status, reason: m[3], headers, body: this.stream };
    if (this.remaining === 0) {
      // Bytes after an empty body, in the same read: the connection, out of step, is closed rather than reused.
      if (this.leftover) this.keepAlive = false;
      this.stream.push(null);
      this.complete();
    }
    onHead(r);
    return (this.state as string) === 'idle' ? undefined : false; // wait for the consumer to say where the body goes
  }

  /**
   * --limit-rate (rate.ts) on a response body: books the bytes just read in the process's bucket and, when the
   * bucket is ahead, stops reading this socket until their time (TCP's window then slows the server).
   */
  private paceRead(n: number): void {
    let wait: number;
    if (this.paid) {
      this.paid.got += n;
      wait = this.paid.from + (this.paid.got * 1000) / this.paid.bytesPerSecond - performance.now();
    } else wait = rateLimiter()?.reserve(n) ?? 0;
    if (wait <= 0) return;
    this.socket.pause();
    setTimeout(() => {
      if (this.state === 'into' || this.state === 'stream') this.socket.resume();
    }, wait);
  }

  /**
   * Fills dst with the body's next bytes; `last`: the body ends there (the connection is then free). `onFill`: told
   * how many bytes of dst are filled each time some land (see readBodyInto).
   */
  fillInto(dst: Uint8Array, last: boolean, onFill?: (filled: number) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.state === 'dead') return reject(netError('connection closed before the body was read'));
      if (dst.length === 0) return resolve(0);
      this.target = dst;
      this.onFill = onFill ?? null;
      this.last = last;
      this.got = 0;
      this.state = 'into';
      this.onFail = reject;
      this.onFilled = () => resolve(dst.length);
      if (this.leftover) {
        const l = this.leftover;
        this.leftover = null;
        this.intoBytes(l, false);
      }
      if (this.state === 'into') this.socket.resume();
    });
  }

  private intoBytes(bytes: Uint8Array, inPlace: boolean): boolean | void {
    const t = this.target!;
    const room = t.length - this.got;
    if (bytes.length > room) {
      if (this.last) {
        // Bytes after a complete body: the body is whole; the connection, out of step, is closed once it is read.
        bytes = bytes.subarray(0, room);
        this.keepAlive = false;
      } else {
        // The rest belongs to the next slice: kept until the consumer gives one.
        this.leftover = Buffer.from(bytes.subarray(room));
        bytes = bytes.subarray(0, room);
      }
    }
    if (!inPlace) t.set(bytes, this.got);
    return this.intoLanded(bytes.length);
  }

  /** `n` more bytes of the body are in `target` after the `got` already there (at most what is left of it). */
  private intoLanded(n: number): boolean | void {
    const t = this.target!;
    this.got += n;
    if (this.onFill && n) this.onFill(this.got);
    if (this.got === t.length) {
      const done = this.onFilled!;
      this.target = null;
      this.onFilled = null;
      this.onFill = null;
      if (this.last) {
        this.stream?.push(null);
        this.complete();
      } else {
        // More body follows: wait, paused, for the consumer's next slice.
        this.state = 'pending';
        this.socket.pause();
      }
      done();
      return false;
    }
  }

  streamTo(s: RawBody): void {
    if (this.state === 'dead') return void s.destroy(netError('connection closed before the body was read'));
    this.stream = s;
    this.state = 'stream';
    this.onFail = (e) => s.destroy(e);
    if (this.leftover) {
      // A stream may hold its chunks past the end of this response: they must not be views of the head buffer.
      const l = Buffer.from(this.leftover);
      this.leftover = null;
      if (this.streamBytes(l) === false) return;
    }
    if (this.state === 'stream') this.socket.resume();
  }

  resume(): void {
    if (this.state === 'stream') this.socket.resume();
  }

  private streamBytes(b: Buffer): boolean | void {
    const s = this.stream!;
    if (this.chunked) return this.chunkedBytes(b);
    if (this.remaining >= 0) {
      if (b.length > this.remaining) {
        b = b.subarray(0, this.remaining); // bytes after a complete body: the connection is closed at its end
        this.keepAlive = false;
      }
      this.remaining -= b.length;
    }
    const more = s.push(b);
    if (this.remaining === 0) {
      s.push(null);
      this.complete();
      return false;
    }
    if (!more) {
      this.socket.pause();
      return false;
    }
  }

  // Transfer-Encoding: chunked (RFC 9112 §7.1), for streamed bodies only; trailers are skipped.
  private chunkedBytes(b: Buffer): boolean | void {
    const c = this.chunked!;
    c.buf = c.buf.length ? Buffer.concat([c.buf, b]) : b;
    const s = this.stream!;
    for (;;) {
      if (c.left < 0) {
        const nl = c.buf.indexOf('\r\n');
        if (nl < 0) return;
        const size = parseInt(c.buf.toString('latin1', 0, nl).split(';')[0], 16);
        if (!Number.isFinite(size)) return void this.destroy(netError('bad chunk size', 'EPROTO'));
        c.buf = c.buf.subarray(nl + 2);
        c.left = size;
        if (size === 0) c.done = true;
      }
      if (c.done) {
        const end = c.buf.indexOf('\r\n') === 0 ? 0 : c.buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        s.push(null);
        this.complete();
        return false;
      }
      if (c.buf.length < c.left + 2) {
        if (c.buf.length > c.left) return;
        s.push(Buffer.from(c.buf));
        c.left -= c.buf.length;
        c.buf = Buffer.alloc(0);
        return;
      }
      s.push(Buffer.from(c.buf.subarray(0, c.left)));
      c.buf = c.buf.subarray(c.left + 2);
      c.left = -1;
    }
  }

  private ended(): void {
    if (this.state === 'stream' && this.remaining < 0 && !this.chunked) {
      this.stream!.push(null);
      this.keepAlive = false;
      this.complete();
    }
  }

  private complete(): void {
    this.paid = null;
    this.headLen = 0;
    this.bigHead = null;
    this.detach?.();
    this.detach = null;
    this.state = 'idle';
    this.onFail = null;
    this.onFill = null;
    this.leftover = null;
    this.stream = null;
    this.socket.setTimeout(0);
    if (this.keepAlive) {
      this.reused = true;
      this.socket.unref();
      // Read while idle, so bytes the server sends after a body close the connection before it is reused: it is
      // handed out again only after a turn of the event loop has read what had arrived (see DataPlaneHandler.connection).
      this.settling = new Promise((settled) =>
        setImmediate(() => {
          if (this.state === 'idle') this.socket.resume();
          setImmediate(settled);
        }),
      );
      this.release(this);
    } else this.destroy();
  }

  /**
   * The error for bytes that are no response head: on a connection that served a response before, they are
   * leftovers of that response (a server out of step), and the request is retried on a new connection
   * (ECONNRESET); on a new connection, the server does not speak HTTP (EPROTO).
   */
  private leftovers(message: string): Error {
    return this.reused ? netError(`${message}: the server sent bytes after a complete response on a reused connection`) : netError(message, 'EPROTO');
  }

  private fail(e: Error): void {
    if (this.state === 'dead') return;
    const wasIdle = this.state === 'idle';
    this.state = 'dead';
    this.detach?.();
    this.detach = null;
    const f = this.onFail;
    this.onFail = null;
    this.release(this);
    if (!wasIdle) f?.(e instanceof BodyOverflow || (e as { code?: string }).code ? e : netError(e.message));
  }

  destroy(e?: Error): void {
    if (e) this.fail(e);
    else this.state = 'dead';
    this.socket?.destroy();
  }

  get dead() {
    return this.state === 'dead';
  }
}

/**
 * --limit-rate (rate.ts) on a request body: written in slices, each once the process's bucket lets it go and
 * the previous one has been handed to the socket. Stops when the socket is destroyed (its error fails the request).
 */
function paceWrite(socket: import('node:net').Socket, body: Uint8Array, pace: RateLimiter): void {
  const next = async (off: number): Promise<void> => {
    if (off >= body.length || socket.destroyed) return;
    const slice = body.subarray(off, off + pace.slice);
    await pace.take(slice.length);
    if (socket.destroyed) return;
    socket.write(slice, () => void next(off + slice.length));
  };
  void next(0);
}

export interface DataPlaneConfig {
  transport: () => Promise<TransportOptions>;
  endpoint?: string;
  /** Milliseconds to wait for a connection (proxy and TLS handshakes included); undefined: 30 s. */
  connectionTimeout?: number;
  /** Milliseconds a connection may sit idle waiting for bytes; undefined: no limit. */
  socketTimeout?: number;
}

/**
 * The SDK request handler every client uses (RequestHandler shape of @smithy/types): data operations over our
 * connections, the rest through NodeHttpHandler with the same CA bundle and proxy settings.
 * `requestTimeout` (ms, from the SDK's handler options) bounds each wait for bytes; 0 waits forever.
 */
export class DataPlaneHandler {
  readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly sdk: NodeHttpHandler;
  private readonly idle = new Map<string, Connection[]>();
  private transport: Promise<TransportOptions> | null = null;

  constructor(private readonly config: DataPlaneConfig) {
    this.sdk = new NodeHttpHandler(async () => {
      const t = await this.options();
      return { ...sdkAgents(config.endpoint, t), connectionTimeout: config.connectionTimeout, socketTimeout: config.socketTimeout };
    });
  }

  private options(): Promise<TransportOptions> {
    this.transport ??= this.config.transport();
    return this.transport;
  }

  async handle(request: SdkRequest, options: HttpHandlerOptions = {}): Promise<{ response: SdkResponse }> {
    const raw = request.body === undefined || request.body instanceof Uint8Array || typeof request.body === 'string';
    if (!raw || !DATA_OPS.some(([m, re]) => m === request.method && re.test(request.path)) || (request.query && Object.keys(request.query).length)) {
      return this.sdk.handle(request as never, options) as never;
    }
    const origin = new URL(`${request.protocol}//${request.hostname}${request.port ? `:${request.port}` : ''}`);
    const key = origin.href;
    const conn = await this.connection(origin, key);
    const body = typeof request.body === 'string' ? Buffer.from(request.body) : ((request.body as Uint8Array | undefined) ?? null);
    const headers = { ...request.headers };
    for (const k of Object.keys(headers)) if (/^(expect|transfer-encoding|connection)$/i.test(k)) delete headers[k];
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) headers.host = origin.host;
    if (body && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) headers['content-length'] = String(body.length);
    const target = conn.absoluteForm ? `${origin.protocol}//${origin.host}${request.path}` : request.path;
    let head = `${request.method} ${target} HTTP/1.1\r\n`;
    for (const [k, v] of Object.entries(headers)) {
      if (/[\r\n]/.test(`${k}${v}`)) throw new Error(`header ${k} holds a line break`);
      head += `${k}: ${v}\r\n`;
    }
    head += 'connection: keep-alive\r\n\r\n';
    const signal = options.abortSignal as AbortSignal | undefined;
    if (signal?.aborted) {
      this.release(conn);
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    }
    const onAbort = () => conn.destroy(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
    // The signal stays tied to the connection until the body is read: an abort cuts a fill in progress too.
    signal?.addEventListener?.('abort', onAbort, { once: true });
    conn.detach = () => signal?.removeEventListener?.('abort', onAbort);
    const r = await conn.request(head, body, options.requestTimeout || this.config.socketTimeout || 0);
    return { response: { statusCode: r.status, reason: r.reason, headers: r.headers, body: r.body } };
  }

  private async connection(origin: URL, key: string): Promise<Connection> {
    const list = this.idle.get(key);
    while (list?.length) {
      const c = list.pop()!;
      // A connection freed this very moment: bytes the server sent after its body (which close it) are read first,
      // so they are never taken for the answer to the next request.
      if (c.settling) await c.settling;
      if (!c.dead && !c.socket.destroyed) return c;
    }
    const c = new Connection(key, (x) => this.release(x));
    await c.open(origin, await this.options(), this.config.connectionTimeout);
    return c;
  }

  private release(c: Connection): void {
    const list = this.idle.get(c.key) ?? [];
    const i = list.indexOf(c);
    if (c.dead) {
      if (i >= 0) list.splice(i, 1);
      return;
    }
    if (i < 0) list.push(c);
    this.idle.set(c.key, list);
  }

  updateHttpClientConfig(key: never, value: never): void {
    this.sdk.updateHttpClientConfig(key, value);
  }

  httpHandlerConfigs() {
    return this.sdk.httpHandlerConfigs();
  }

  destroy(): void {
    for (const list of this.idle.values()) for (const c of list) c.destroy();
    this.idle.clear();
    this.sdk.destroy();
  }
}
