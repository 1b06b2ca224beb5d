// Typed failures. The library throws these and never exits or prints; the CLI runtime maps them to exit codes.
export class GlacierPipesError extends Error {
  get exitCode(): number {
    return 1;
  }
}

/** Bad options or input: exit 2. */
export class UsageError extends GlacierPipesError {
  override get exitCode(): number {
    return 2;
  }
}

/** A tree hash or size does not match: exit 3. */
export class IntegrityError extends GlacierPipesError {
  override get exitCode(): number {
    return 3;
  }
}

/** The job is still in progress: exit 4. */
export class NotReadyError extends GlacierPipesError {
  override get exitCode(): number {
    return 4;
  }
}

/** The service, the network or local I/O failed: exit 1. */
export class ServiceError extends GlacierPipesError {
  override get exitCode(): number {
    return 1;
  }
}

/** Interrupted by a signal: exit 130 (SIGINT) or 143 (SIGTERM). */
export class InterruptedError extends GlacierPipesError {
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }
  override get exitCode(): number {
    return this.signal === 'SIGINT' ? 130 : 143;
  }
}

/** A file changed while it was read (GNU tar's "file changed as we read it"): exit 1, nothing stored. */
export class InputChangedError extends ServiceError {}
