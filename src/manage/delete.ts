// Deleting archives by id, from arguments or from lines on stdin: bare ids (`jq -r .ArchiveId`) or JSON lines
// with ArchiveId/archiveId (`glacier-ls --archives`, `glacier-job output --archives`, glacier-restore's lines),
// N at a time as they arrive, so a long list streams and an interruption leaves a clear boundary.
import { UsageError } from '../core/errors.js';
import type { Glacier } from '../core/glacier.js';
import { deleteArchive, describeVault } from '../core/operations.js';
import { isItemError, throwIfInterrupted } from './request.js';

/** Glacier's minimum storage duration: an archive deleted younger is charged for the days left (AWS pricing). */
export const EARLY_DELETION_DAYS = 90;
const DAY_MS = 86_400_000;

export interface DeleteOptions {
  glacier: Glacier;
  vault: string;
  dryRun?: boolean;
  /** Deletes in flight at once (default 1). */
  concurrency?: number;
  /** The creation date (ISO 8601) of an archive the input line did not date, e.g. from the catalogue. */
  creationDateOf?: (archiveId: string) => string | undefined;
  now?: () => number;
}

export interface DeleteOutcome {
  archiveId: string;
  deleted: boolean;
  dryRun?: true;
  /** Whole days since the archive's creation, when known (from the line's CreationDate or creationDateOf). */
  ageDays?: number;
  /** A UsageError for a line that is not an id, else the service's refusal for this id; the rest go on. */
  error?: unknown;
}

const ARCHIVE_ID = /^[A-Za-z0-9_-]+$/;

/** Why a line is not an archive id, with a hint for the usual pipe mistakes. */
function malformed(id: string, why = 'expected the characters A-Z a-z 0-9 _ -'): UsageError {
  const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}...` : id);
  const hint = /^".*"$/.test(id) ? '; a quoted string: use jq -r (raw output)' : /\s/.test(id) && !id.startsWith('{') ? '; one id a line, nothing else on it' : '';
  return new UsageError(`malformed archive id ${shown}: ${why}${hint}`);
}

interface Item {
  archiveId: string;
  creationDate?: string;
  error?: UsageError;
}

/** One input line: a bare id, or a JSON object with ArchiveId (or archiveId) and maybe CreationDate. */
export function parseLine(line: string): Item {
  const text = line.trim(); // also drops the \r of CRLF input
  if (text.startsWith('{')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { archiveId: text, error: malformed(text, 'not valid JSON') };
    }
    const id = o?.ArchiveId ?? o?.archiveId;
    if (typeof id !== 'string' || !ARCHIVE_ID.test(id)) return { archiveId: typeof id === 'string' ? id : text, error: malformed(text, 'a JSON line without a valid ArchiveId or archiveId') };
    const created = o.CreationDate ?? o.creationDate;
    return { archiveId: id, creationDate: typeof created === 'string' ? created : undefined };
  }
  return ARCHIVE_ID.test(text) ? { archiveId: text } : { archiveId: text, error: malformed(text) };
}

type Settled = { key: number; outcome?: DeleteOutcome; fatal?: unknown };

/**
 * Deletes each archive of `lines` as it arrives (blank lines skipped), `o.concurrency` at a time through the
 * request layer, and yields one outcome per line as each finishes (so not in input order when concurrency > 1).
 * With dryRun, checks once that the vault exists and deletes nothing. Throws what would fail every id alike
 * (vault missing, credentials, network: classified GlacierError), after the deletes in flight have settled, and
 * the signal's reason when interrupted.
 */
export async function* deleteArchives(lines: AsyncIterable<string> | Iterable<string>, o: DeleteOptions): AsyncGenerator<DeleteOutcome> {
  // A dry run sends no delete, so it asks once whether the vault is there at all.
  if (o.dryRun) await describeVault(o.glacier, o.vault);
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const now = o.now ?? Date.now;
  const dry = o.dryRun ? { dryRun: true as const } : {};
  const ageOf = (item: Item): { ageDays?: number } => {
    const t = Date.parse(item.creationDate ?? o.creationDateOf?.(item.archiveId) ?? '');
    return Number.isFinite(t) ? { ageDays: Math.max(0, Math.floor((now() - t) / DAY_MS)) } : {};
  };
  const inflight = new Map<number, Promise<Settled>>();
  let next = 0;
  const start = (item: Item) => {
    const key = next++;
    const age = ageOf(item);
    inflight.set(key, deleteArchive(o.glacier, o.vault, item.archiveId).then(
      (): Settled => ({ key, outcome: { archiveId: item.archiveId, deleted: true, ...age } }),
      (e): Settled => (isItemError(e) ? { key, outcome: { archiveId: item.archiveId, deleted: false, ...age, error: e } } : { key, fatal: e }),
    ));
  };
  const it = (Symbol.asyncIterator in lines ? lines[Symbol.asyncIterator]() : (lines as Iterable<string>)[Symbol.iterator]()) as AsyncIterator<string> | Iterator<string>;
  let ended = false;
  let fatal: unknown;
  try {
    for (;;) {
      while (!ended && fatal === undefined && inflight.size < concurrency) {
        const r = await it.next();
        if (r.done) {
          ended = true;
          break;
        }
        if (r.value.trim() === '') continue;
        throwIfInterrupted(o.glacier.signal);
        const item = parseLine(r.value);
        if (item.error) yield { archiveId: item.archiveId, deleted: false, ...dry, error: item.error };
        else if (o.dryRun) yield { archiveId: item.archiveId, deleted: false, dryRun: true, ...ageOf(item) };
        else start(item);
      }
      if (!inflight.size) break;
      const s = await Promise.race(inflight.values());
      inflight.delete(s.key);
      // After a failure of the whole run, the deletes already sent are still told (and recorded) before it is thrown.
      if (s.fatal !== undefined) fatal ??= s.fatal;
      else yield s.outcome!;
    }
  } finally {
    // Nothing is left running behind the caller's back: a failure or an early return waits for the deletes sent.
    await Promise.all(inflight.values());
  }
  if (fatal !== undefined) throw fatal;
}
