// --limit-rate: one token bucket per process, shared by every part upload and piece download in flight, so the
// archive bytes of all connections together go at the rate asked for (rsync's --bwlimit, curl's --limit-rate).
// The data plane (http-data.ts) asks it before writing each slice of a request body and before reading more of a
// response body; nothing else knows about it, and with no limit set it costs one null check per slice or read.

import { sleep } from './retry.js';

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

  /** Books `bytes` and resolves when they may move (a slice's wait: a fraction of a second). */
  async take(bytes: number): Promise<void> {
    const wait = this.reserve(bytes);
    if (wait > 0) await sleep(wait);
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

/**
 * The piece (ranged GET) size to use under the process's rate limit: `pieceSize` (bytes, 1 MiB x 2^n) cut to the
 * largest 1 MiB x 2^n within a quarter second of the rate, never below 1 MiB; unchanged with no limit. A download
 * books each piece in the bucket before asking for it (see prepayPiece), so with a few pieces in flight the server
 * holds at most about one second of the rate: a piece asked for is sent at once at full speed into the kernel's
 * socket buffers, and only small pieces keep those bursts small.
 */
export function pacedPieceSize(pieceSize: number): number {
  if (!limiter) return pieceSize;
  const MiB = 1024 * 1024;
  let cap = MiB;
  while (cap * 2 <= limiter.bytesPerSecond / 4) cap *= 2;
  return Math.min(pieceSize, cap);
}

/**
 * Books a piece's `bytes` in the process's bucket and resolves when its request may be sent (at once with no
 * limit), with the booked slot (null with no limit). The caller reads the response within that slot
 * (markPrepaid) and books nothing more: the bytes were paid for here, before the server was asked for them, so
 * the server never sends ahead of the rate. With `signal`, an abort ends the wait at once and rejects with the
 * signal's reason.
 */
export async function prepayPiece(bytes: number, signal?: AbortSignal): Promise<Prepaid | null> {
  if (!limiter) return null;
  const wait = limiter.reserve(bytes);
  const paid = { from: performance.now() + wait, bytesPerSecond: limiter.bytesPerSecond };
  // At a low rate a piece's slot can be minutes away: an interruption (SIGTERM, Ctrl-C) ends the wait at once.
  if (wait > 0) await sleep(wait, signal);
  else if (signal?.aborted) throw signal.reason;
  return paid;
}

/**
 * A piece's booking: its bytes may arrive from `from` (performance.now() ms) at `bytesPerSecond`, so reading its
 * body keeps to that slot (http-data.ts) rather than taking the whole piece at once.
 */
export interface Prepaid {
  from: number;
  bytesPerSecond: number;
}

/** The process's rate limiter, or null when no limit is set (the data plane's hook: see http-data.ts). */
export function rateLimiter(): RateLimiter | null {
  return limiter;
}
