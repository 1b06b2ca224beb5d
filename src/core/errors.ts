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

/** Interrupted by a signal: exit 130 (SIGINT) or 143 (SIGTERM). */
export class InterruptedError extends GlacierPipesError {
  override readonly exitCode: number;
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
    this.exitCode = signal === 'SIGINT' ? 130 : 143;
  }
}

/** A file changed while it was read (GNU tar's "file changed as we read it"): exit 1, nothing stored. */
export class InputChangedError extends ServiceError {}
