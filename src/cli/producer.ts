// `glacier-put -- CMD [ARGS...]`: the producer run by glacier-put itself, so that its exit status decides whether
// an archive is made. A pipe cannot say that `pg_dump` died half-way; a child process can (restic's
// --stdin-from-command answers the same problem the same way).
import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { InputChangedError, UsageError } from '../core/errors.js';
import { shellCommand } from '../core/shell.js';

/** The producer failed: nothing may be stored. An InputChangedError, so an upload under way is aborted (exit 1). */
export class ProducerFailedError extends InputChangedError {}

export interface Producer {
  /**
   * The producer's stdout. Its end comes only once the producer has exited: with status 0 it ends; with any other
   * status, or killed by a signal, it fails with ProducerFailedError; a command that cannot be started fails it
   * with UsageError (exit 2). The last part of an archive is therefore never sent before the status is known.
   */
  stdout: Readable;
  /** Stops the producer if it still runs (the upload failed for another reason). */
  stop(): void;
}

/**
 * Starts argv[0] with argv[1...] (no shell: give `sh -c '...'` for one), stdin and stderr shared with this
 * process so that a password prompt or the producer's own errors reach the user.
 */
export function startProducer(argv: readonly string[]): Producer {
  const shown = shellCommand(argv.length > 3 ? [...argv.slice(0, 3), '...'] : argv);
  const child = spawn(argv[0], argv.slice(1), { stdio: ['inherit', 'pipe', 'inherit'] });
  let spawnError: NodeJS.ErrnoException | undefined;
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
      resolve({ code: null, signal: null });
    });
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  async function* bytes(): AsyncGenerator<Buffer> {
    if (child.stdout) for await (const chunk of child.stdout) yield chunk as Buffer;
    const { code, signal } = await closed;
    if (spawnError) throw new UsageError(`cannot run ${shown}: ${spawnError.code === 'ENOENT' ? 'command not found' : spawnError.code === 'EACCES' ? 'permission denied' : spawnError.message}`);
    if (code !== 0) throw new ProducerFailedError(`${shown} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}; nothing was stored`);
  }
  return {
    stdout: Readable.from(bytes(), { objectMode: false }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null && !spawnError) child.kill('SIGTERM');
    },
  };
}
