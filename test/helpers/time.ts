// One place for how long a test may wait. Tests wait for the event they need (a line printed, a part landed,
// a lock taken); a time here is only the bound after which the wait counts as a failure, scaled for the whole
// suite by GLACIER_TEST_TIMEOUT_FACTOR (e.g. 3 on a machine busy with other work). Unset, the factor follows the
// machine's load when the test file starts: the 1-minute load average per core, from 1 (idle) up to 4.
import { cpus, loadavg } from 'node:os';

/** The factor taken when GLACIER_TEST_TIMEOUT_FACTOR is unset: load average per core, rounded up to a half, 1 to 4. */
export function loadFactor(load = loadavg()[0], cores = cpus().length || 1): number {
  return Math.min(4, Math.max(1, Math.ceil((load / cores) * 2) / 2));
}

/** The suite's timeout factor: GLACIER_TEST_TIMEOUT_FACTOR when it is a positive number, else loadFactor(). */
export const TIMEOUT_FACTOR = ((): number => {
  const f = Number(process.env.GLACIER_TEST_TIMEOUT_FACTOR);
  return Number.isFinite(f) && f > 0 ? f : loadFactor();
})();

/** A bound of `ms` milliseconds, scaled by the suite's factor: for `{ timeout: within(60_000) }` and the like. */
export const within = (ms: number): number => Math.round(ms * TIMEOUT_FACTOR);

/**
 * Resolves once `check()` returns a truthy value (resolving with it), asking every `everyMs` (default 20 ms);
 * rejects with an Error naming `what` when `within(timeoutMs)` passes first (default 30 s).
 */
export async function until<T>(check: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 20): Promise<NonNullable<T>> {
  const deadline = Date.now() + within(timeoutMs);
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${within(timeoutMs)} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
