// The pacer: when glacier-restore may start its next retrieval job. Two limits: --max-jobs outstanding at once,
// and --max-bytes-per-day of retrievals started per window (counted by the journal, so a rerun inside the window
// keeps counting), plus a hold after InitiateJob was refused for now (throttled, a limit of the account).
import type { Journal } from './journal.js';

/**
 * Decides when a job may start. Times are ms since the epoch, from the `now` it was made with. Never throws.
 */
export interface Pacer {
  /** Whether a start may be tried now with `outstanding` jobs out: fewer than the limit, and no hold in force. */
  canTry(outstanding: number): boolean;
  /**
   * Whether the byte budget allows a job of `size` bytes now. When not, starts are held until the window frees
   * room. An archive bigger than a whole window's budget starts alone, when nothing else started in the window.
   */
  allows(size: number): boolean;
  /** Holds every start until `until` (InitiateJob refused for now). */
  holdUntil(until: number): void;
  /** When a start may next be tried: the end of the hold, or Infinity while `outstanding` is at the limit. */
  nextTry(outstanding: number): number;
  /** The jobs allowed out at once now (at most --max-jobs). */
  readonly limit: number;
}

export interface PacerOptions {
  /** --max-jobs: jobs outstanding at most. */
  maxJobs: number;
  /** --max-bytes-per-day: bytes of retrievals started per window at most (the window is the journal's). */
  maxBytesPerDay?: number;
  journal: Pick<Journal, 'startedInWindow'>;
  now: () => number;
}

/** The pacer of a run (see Pacer). */
export function makePacer(o: PacerOptions): Pacer {
  let blockedUntil = 0;
  const limit = o.maxJobs;
  return {
    get limit() {
      return limit;
    },
    canTry(outstanding) {
      return outstanding < limit && o.now() >= blockedUntil;
    },
    allows(size) {
      if (!o.maxBytesPerDay) return true;
      const w = o.journal.startedInWindow();
      if (w.bytes + size <= o.maxBytesPerDay || w.bytes === 0) return true;
      blockedUntil = Math.max(blockedUntil, w.frees);
      return false;
    },
    holdUntil(until) {
      blockedUntil = Math.max(blockedUntil, until);
    },
    nextTry(outstanding) {
      return outstanding < limit ? blockedUntil : Infinity;
    },
  };
}
