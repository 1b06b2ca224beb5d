// One request of the management commands (ls, abort, rm): retried like upload parts, ended by an interruption,
// and sorted into failures of one item (the run goes on) and failures of the whole run.
import type { GlacierClient } from '@aws-sdk/client-glacier';
import { withRetry } from '../core/retry.js';

export interface Target {
  client: GlacierClient;
  accountId: string;
  signal?: AbortSignal;
}

/** Sends with retries on throttling, 408, 5xx and dropped connections; an interruption rejects with its reason. */
export async function call<T>(t: Target, send: (abortSignal?: AbortSignal) => Promise<T>): Promise<T> {
  try {
    return await withRetry(() => send(t.signal), { signal: t.signal });
  } catch (e) {
    if (t.signal?.aborted) throw t.signal.reason;
    throw e;
  }
}

/**
 * Whether an error concerns only the upload or archive it was about (unknown id, id of another vault), so the
 * others can still be tried. A missing vault, refused credentials or an unreachable service would fail every
 * item the same way: those end the run at once rather than print one error per id.
 */
export function isItemError(e: unknown): boolean {
  const err = e as { name?: string; message?: string } | undefined;
  if (err?.name === 'ResourceNotFoundException') return !/vault not found/i.test(err.message ?? '');
  return err?.name === 'InvalidParameterValueException' || err?.name === 'MissingParameterValueException';
}

export function throwIfInterrupted(signal?: AbortSignal): void {
  if (signal?.aborted) throw signal.reason;
}
