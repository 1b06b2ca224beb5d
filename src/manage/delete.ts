// Deleting archives by id, from arguments or from lines on stdin (`jq -r .ArchiveId | glacier-rm`), one at a
// time as they arrive, so a long list streams and an interruption leaves a clear boundary.
import { UsageError } from '../core/errors.js';
import type { Glacier } from '../core/glacier.js';
import { deleteArchive, describeVault } from '../core/operations.js';
import { isItemError, throwIfInterrupted } from './request.js';

export interface DeleteOptions {
  glacier: Glacier;
  vault: string;
  dryRun?: boolean;
}

export interface DeleteOutcome {
  archiveId: string;
  deleted: boolean;
  dryRun?: true;
  /** A UsageError for an id that is not one, else the service's refusal for this id; the rest go on. */
  error?: unknown;
}

const ARCHIVE_ID = /^[A-Za-z0-9_-]+$/;

/** Why a line is not an archive id, with a hint for the usual pipe mistakes. */
function malformed(id: string): UsageError {
  const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id);
  const hint = id.startsWith('{') ? '; a JSON object: extract the id with jq -r .ArchiveId'
    : /^".*"$/.test(id) ? '; a quoted string: use jq -r (raw output)'
    : /\s/.test(id) ? '; one id a line, nothing else on it' : '';
  return new UsageError(`malformed archive id ${shown}: expected the characters A-Z a-z 0-9 _ -${hint}`);
}

/**
 * Deletes each archive id of `lines` as it arrives (blank lines skipped) and yields one outcome per id; with
 * dryRun, checks once that the vault exists and deletes nothing. Throws what would fail every id alike
 * (vault missing, credentials, network: classified GlacierError) and the signal's reason when interrupted.
 */
export async function* deleteArchives(lines: AsyncIterable<string> | Iterable<string>, o: DeleteOptions): AsyncGenerator<DeleteOutcome> {
  // A dry run sends no delete, so it asks once whether the vault is there at all.
  if (o.dryRun) await describeVault(o.glacier, o.vault);
  for await (const line of lines) {
    throwIfInterrupted(o.glacier.signal);
    const archiveId = line.trim(); // also drops the \r of CRLF input
    if (archiveId === '') continue;
    if (!ARCHIVE_ID.test(archiveId)) {
      yield { archiveId, deleted: false, ...(o.dryRun ? { dryRun: true as const } : {}), error: malformed(archiveId) };
      continue;
    }
    if (o.dryRun) {
      yield { archiveId, deleted: false, dryRun: true };
      continue;
    }
    try {
      await deleteArchive(o.glacier, o.vault, archiveId);
      yield { archiveId, deleted: true };
    } catch (e) {
      if (!isItemError(e)) throw e;
      yield { archiveId, deleted: false, error: e };
    }
  }
}
