// The pacer: when glacier-restore may start its next retrieval job. Two limits: --max-jobs outstanding at once,
// and --max-bytes-per-day of retrievals started per window (counted by the journal, so a rerun inside the window
// keeps counting), plus a hold after InitiateJob was refused for now (throttled, a limit of the account). A job
// that expires before its turn to download lowers the jobs allowed out, so a run whose downloads drain fewer jobs
// than --max-jobs within a job's life (AWS: 24 hours) stops paying for jobs that expire unused; once jobs drain
// again for a job's life, the limit rises back a step at a time.
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
  /**
   * A job expired before its output was downloaded: more jobs are out than downloads drain within a job's life.
   * Halves the jobs allowed out (never below `floor`), so the number outstanding drops and the pace converges on
   * what the downloads drain. `ageMs`: how long the job lived (started to expired); no rise for that long after
   * (a quiet period: default 24 hours, a job's life on AWS). Returns the new limit when it changed.
   */
  expired(ageMs?: number): number | undefined;
  /**
   * A job's output was downloaded whole within its life. Once a quiet period has passed since the last expiry,
   * the jobs allowed out rise by one for every `limit` jobs drained (one step a round, never above --max-jobs),
   * so a limit lowered by a passing slowness comes back. Returns the new limit when it rose.
   */
  drained(): number | undefined;
  /** The jobs allowed out at once now (--max-jobs until a job expired unused). */
  readonly limit: number;
}

export interface PacerOptions {
  /** --max-jobs: jobs outstanding at most. */
  maxJobs: number;
  /** --max-bytes-per-day: bytes of retrievals started per window at most (the window is the journal's). */
  maxBytesPerDay?: number;
  journal: Pick<Journal, 'startedInWindow'>;
  /** The fewest jobs `expired` lowers the limit to (the downloads at once, -c). */
  floor?: number;
  now: () => number;
}

/** The quiet period after an expiry when the job's life is not known: a job's life on AWS (24 hours). */
export const DEFAULT_QUIET_MS = 24 * 3600 * 1000;

/** The pacer of a run (see Pacer). */
export function makePacer(o: PacerOptions): Pacer {
  let blockedUntil = 0;
  let limit = o.maxJobs;
  let quietUntil = 0; // no rise before (ms since the epoch): a job's life after the last expiry
  let credit = 0; // jobs drained since the last step
  const floor = Math.min(o.maxJobs, Math.max(1, o.floor ?? 1));
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
    expired(ageMs) {
      quietUntil = o.now() + (ageMs !== undefined && Number.isFinite(ageMs) && ageMs > 0 ? ageMs : DEFAULT_QUIET_MS);
      credit = 0;
      const next = Math.max(floor, Math.floor(limit / 2));
      if (next === limit) return undefined;
      limit = next;
      return limit;
    },
    drained() {
      if (limit >= o.maxJobs || o.now() < quietUntil) return undefined;
      if (++credit < limit) return undefined;
      credit = 0;
      limit++;
      return limit;
    },
    nextTry(outstanding) {
      return outstanding < limit ? blockedUntil : Infinity;
    },
  };
}
