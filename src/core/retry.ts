// Which failures a later attempt can cure, and a sleep that an interruption ends. The retry loop itself is
// `send` in glacier.ts; `withRetry` remains for code not yet on the request layer.
export interface RetryOptions {
  attempts?: number; // total tries, first included
  baseMs?: number;
  capMs?: number;
  signal?: AbortSignal;
  random?: () => number;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

const RETRYABLE_CODES = new Set(['ThrottlingException', 'RequestTimeoutException', 'ServiceUnavailableException', 'SlowDown', 'TooManyRequestsException', 'InternalError', 'RequestTimeout']);
const NETWORK_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ECONNREFUSED', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE']);

export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown; retryable?: boolean };
  if (!err) return false;
  if (err.name === 'AbortError') return false;
  if (err.retryable) return true;
  if (err.$retryable) return true;
  if (RETRYABLE_CODES.has(err.name ?? '') || err.name === 'TimeoutError') return true;
  const status = err.$metadata?.httpStatusCode;
  if (status !== undefined && (status === 408 || status === 429 || status >= 500)) return true;
  if (NETWORK_CODES.has(err.code ?? '')) return true;
  // Node's HTTP parser (HPE_*): the server sent bytes that are no response (leftovers on a reused connection): the
  // connection is dropped, and the request goes again on a new one, as after a reset.
  if (/^HPE_/.test(err.code ?? '')) return true;
  return /socket hang up|ECONNRESET|EPIPE|timed? ?out|premature close|aborted/i.test(err.message ?? '') && err.name !== 'AbortError';
}

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, o: RetryOptions = {}): Promise<T> {
  const attempts = o.attempts ?? 10;
  const random = o.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (e) {
      if (attempt >= attempts || !isRetryable(e) || o.signal?.aborted) throw e;
      const delay = Math.floor(random() * Math.min(o.capMs ?? 20_000, (o.baseMs ?? 250) * 2 ** (attempt - 1)));
      o.onRetry?.(e, attempt, delay);
      await sleep(delay, o.signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
