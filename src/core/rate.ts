// --limit-rate: one token bucket per process, shared by every part upload and piece download in flight, so the
// archive bytes of all connections together go at the rate asked for (rsync's --bwlimit, curl's --limit-rate).
// The data plane (http-data.ts) asks it before writing each slice of a request body and before reading more of a
// response body; nothing else knows about it, and with no limit set it costs one null check per slice or read.

/** A clock in milliseconds; performance.now by default (monotonic). */
export type Clock = () => number;

/**
 * A token bucket in virtual time (GCRA): `reserve(n)` books n bytes at `bytesPerSecond` after those already
 * booked, and says how long the caller must wait before they may move. Idle time earns at most `burstMs` of
 * credit, so a pause is not followed by a burst longer than that, while a process that fell behind for a moment
 * (a busy CPU, a slow read) catches up: 500 ms by default, 5% of a 10-second window. Over any window of T ms, at most
 * bytesPerSecond × (T + burstMs) / 1000 bytes (plus one slice) are let through.
 */
export class RateLimiter {
  private next = -Infinity;
  /** The largest slice of a body moved at once (bytes): about 1/16 s of the rate, from 1 KiB to 256 KiB. */
  readonly slice: number;

  constructor(
    readonly bytesPerSecond: number,
    private readonly burstMs = 500,
    private readonly clock: Clock = () => performance.now(),
  ) {
    if (!(bytesPerSecond > 0) || !Number.isFinite(bytesPerSecond)) throw new RangeError(`rate must be a positive number of bytes per second, got ${bytesPerSecond}`);
    this.slice = Math.max(1024, Math.min(256 * 1024, Math.floor(bytesPerSecond / 16)));
  }

  /** Books `bytes` and returns the milliseconds to wait before moving them (0: at once). */
  reserve(bytes: number): number {
    const now = this.clock();
    // The first booking starts now: a transfer begins at the rate, not with a burst of credit.
    const start = this.next === -Infinity ? now : Math.max(this.next, now - this.burstMs);
    this.next = start + (bytes * 1000) / this.bytesPerSecond;
    return Math.max(0, start - now);
  }

  /** Books `bytes` and resolves when they may move. */
  async take(bytes: number): Promise<void> {
    const wait = this.reserve(bytes);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

let limiter: RateLimiter | null = null;

/**
 * Sets (or with undefined, removes) the process's rate limit for archive bytes, in bytes per second. Called once
 * by a binary from --limit-rate / --bwlimit before its first request.
 */
export function setRateLimit(bytesPerSecond: number | undefined): void {
  limiter = bytesPerSecond === undefined ? null : new RateLimiter(bytesPerSecond);
}

/** The process's rate limiter, or null when no limit is set (the data plane's hook: see http-data.ts). */
export function rateLimiter(): RateLimiter | null {
  return limiter;
}
