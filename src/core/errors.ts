// Typed failures. The library throws these and never exits or prints; the CLI runtime maps them to exit codes
// (src/cli/runtime.ts): each class names the exit code SPEC.md gives its kind of failure.
export class GlacierPipesError extends Error {
  /** The process's exit code when this error ends a binary. */
  readonly exitCode: number = 1;
}

/** Bad options or input: exit 2. */
export class UsageError extends GlacierPipesError {
  override readonly exitCode: number = 2;
}

/** A tree hash or size does not match: exit 3. */
export class IntegrityError extends GlacierPipesError {
  override readonly exitCode: number = 3;
}

/** The job is still in progress: exit 4. */
export class NotReadyError extends GlacierPipesError {
  override readonly exitCode: number = 4;
}

/** The service, the network or local I/O failed: exit 1. */
export class ServiceError extends GlacierPipesError {}

/** The signals that stop a binary cleanly (each binary's `run`), with the exit status of each: 128 + its number. */
export const STOP_SIGNALS = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof STOP_SIGNALS;

/**
 * Interrupted by a signal: exit 129 (SIGHUP: the terminal hung up), 130 (SIGINT) or 143 (SIGTERM), as a shell
 * reports a process killed by it (128 + the signal's number).
 */
export class InterruptedError extends GlacierPipesError {
  override readonly exitCode: number;
  constructor(readonly signal: StopSignal) {
    super(`interrupted by ${signal}`);
    this.exitCode = STOP_SIGNALS[signal];
  }
}

/** A file changed while it was read (GNU tar's "file changed as we read it"): exit 1, nothing stored. */
export class InputChangedError extends ServiceError {}
