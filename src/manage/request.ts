// How the management commands (ls, abort, rm) sort a failed request: failures of one item (the run goes on)
// and failures of the whole run.
import { GlacierError } from '../core/glacier.js';

/**
 * Whether an error concerns only the upload or archive it was about (unknown id, id of another vault), so the
 * others can still be tried. A missing vault, refused credentials or an unreachable service would fail every
 * item the same way: those end the run at once rather than print one error per id.
 */
export function isItemError(e: unknown): boolean {
  if (!(e instanceof GlacierError)) return false;
  const cause = e.cause as { message?: string } | undefined;
  if (e.code === 'ResourceNotFoundException') return !/vault not found/i.test(cause?.message ?? e.message);
  return e.code === 'InvalidParameterValueException' || e.code === 'MissingParameterValueException';
}

export function throwIfInterrupted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason;
}
