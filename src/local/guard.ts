// What glacier-local does before trusting a request, and what it answers when something breaks: the signature is
// checked before any body byte is read, bodies of refused requests are discarded (never buffered) and cut off,
// and failures of the server's own disk are answered without server paths, as errors the SDKs retry.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GlacierError, invalidParam, missingParam } from './glacier-error.js';
import { contentHashMismatch, header } from './context.js';
import { checkSigV4 } from './sigv4.js';

/** The most a non-upload request body may hold: the API's JSON bodies (job parameters, policies) are a few KiB. */
export const SMALL_BODY_MAX = 64 * 1024;
/** A small body must arrive within this long once its headers did. */
const SMALL_BODY_TIMEOUT_MS = 10_000;
/** After a refusal, the rest of a body is discarded for at most this long or this many bytes, then the socket closes. */
const DISCARD_MS = 2_000;
const DISCARD_MAX = 4 * 1024 * 1024;

const EMPTY_SHA256 = createHash('sha256').digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');


/** True when the request carries a body (a Content-Length above 0, or chunked). */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (header(req, 'content-length') ?? '0') !== '0';
}

export interface Authenticated {
  region: string;
  /** The body of a non-streamed request (empty when none); null when the caller streams it. */
  body: Buffer | null;
}

/**
 * Authenticates a request with SigV4 against one key pair, reading its body only once that is safe:
 * - streamed bodies (uploads) need x-amz-content-sha256, and are left unread for the caller;
 * - other bodies are read (at most SMALL_BODY_MAX bytes) after the signature over the declared payload hash is
 *   verified, or, when the client did not declare one (curl, botocore), after every other part of SigV4 checked
 *   out (known access key, fresh date, glacier scope), and then verified over the body read.
 * Throws GlacierError: the SigV4 errors (400/403), 400 for a missing x-amz-content-sha256 on a streamed body or a
 * body too large, 408 for a body that stalls, 403 for a body that does not match its declared hash.
 */
export async function authenticate(
  req: IncomingMessage,
  o: { streamsBody: boolean; lookupSecret: (id: string) => string | undefined; now: Date },
): Promise<Authenticated> {
  const signed = { method: req.method ?? 'GET', rawUrl: req.url ?? '/', headers: req.headers };
  const declared = header(req, 'x-amz-content-sha256');
  // An upload's body is streamed, so its payload hash can only come from this (required) header; without it
  // the signature would be checked against the empty body's hash and fail with a misleading mismatch.
  if (o.streamsBody && !declared) throw missingParam('Required parameter missing: x-amz-content-sha256');
  const pre = checkSigV4(signed, o.lookupSecret, o.now);
  if (!pre.ok) throw new GlacierError(pre.status, pre.code, pre.message);
  const check = (payloadHash: string) => {
    const auth = pre.verify(payloadHash);
    if (!auth.ok) throw new GlacierError(auth.status, auth.code, auth.message);
    return auth.region;
  };
  if (o.streamsBody) return { region: check(declared!), body: null };
  if (declared !== undefined || !hasBody(req)) {
    const region = check(declared ?? EMPTY_SHA256);
    const body = await readSmallBody(req);
    if (declared !== undefined && sha256(body) !== declared.toLowerCase()) throw contentHashMismatch(sha256(body), declared);
    return { region, body };
  }
  const body = await readSmallBody(req);
  return { region: check(sha256(body)), body };
}

/**
 * A small request body read whole. Errors: 400 InvalidParameterValueException beyond `max` bytes (checked on the
 * Content-Length first, so nothing is read), 408 RequestTimeoutException when it does not arrive in time.
 */
export async function readSmallBody(req: IncomingMessage, max = SMALL_BODY_MAX): Promise<Buffer> {
  const tooLarge = () => invalidParam(`The request body is too large for this operation (over ${max} bytes)`);
  if (Number(header(req, 'content-length') ?? 0) > max) throw tooLarge();
  const chunks: Buffer[] = [];
  let n = 0;
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    req.destroy(new Error('body timeout'));
  }, SMALL_BODY_TIMEOUT_MS);
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      n += chunk.length;
      if (n > max) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (e) {
    if (timedOut) throw new GlacierError(408, 'RequestTimeoutException', 'Request timed out.');
    throw e instanceof GlacierError ? e : new GlacierError(400, 'IncompleteBody', 'The connection closed before the whole body arrived');
  } finally {
    clearTimeout(timer);
  }
  return Buffer.concat(chunks);
}

/**
 * After an error answer: the rest of the request body is read and dropped, never kept, and the socket is cut if
 * it keeps coming (over DISCARD_MAX bytes or DISCARD_MS). With `close` (a request that failed authentication)
 * the connection is then closed too, once the body is drained (a FIN, so the client reads the answer first):
 * an unauthenticated client holds neither memory nor a connection slot for long.
 */
export function discardRest(req: IncomingMessage, res: ServerResponse, close = false): void {
  const socket = req.socket;
  const end = () => {
    if (!close) return;
    if (res.writableFinished) socket?.end();
    else res.once('finish', () => socket?.end());
  };
  if (req.complete || req.destroyed) return end();
  let n = 0;
  const cut = () => socket?.destroy();
  const timer = setTimeout(cut, DISCARD_MS);
  timer.unref();
  const stop = () => clearTimeout(timer);
  req.on('data', (c: Buffer) => {
    n += c.length;
    if (n > DISCARD_MAX) cut();
  });
  req.once('end', () => (stop(), end()));
  req.once('close', stop);
  req.on('error', () => {});
  req.resume();
}

const STORAGE_FULL = new Set(['ENOSPC', 'EDQUOT', 'EFBIG']);
const STORAGE_BUSY = new Set(['EMFILE', 'ENFILE', 'EIO', 'EAGAIN', 'EBUSY', 'ENOMEM']);

/**
 * The error a client is answered for `e`: a GlacierError as it is; the server's own I/O failures as 503
 * ServiceUnavailableException (which the SDKs retry) naming the kind of failure; anything else as 500. Never a
 * server path or an internal message: those go to `detail` (for the request log of the admin API).
 */
export function answerFor(e: unknown): { err: GlacierError; detail?: string } {
  if (e instanceof GlacierError) return { err: e };
  const code = (e as NodeJS.ErrnoException)?.code ?? '';
  const detail = code || (e as Error)?.name || 'Error';
  if (STORAGE_FULL.has(code)) return { err: new GlacierError(503, 'ServiceUnavailableException', "Service is temporarily unavailable: the server's storage is full. Please try again later."), detail };
  if (STORAGE_BUSY.has(code)) return { err: new GlacierError(503, 'ServiceUnavailableException', "Service is temporarily unavailable: the server's storage failed. Please try again later."), detail };
  return { err: new GlacierError(500, 'ServiceUnavailableException', 'Internal error. Please try again later.'), detail };
}
