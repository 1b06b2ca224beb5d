// glacier-rm: deletes archives by id, from arguments or stdin (ids or JSON lines), N at a time; one JSON line per
// archive, each deletion recorded in the catalogue.
import { setMaxListeners } from 'node:events';
import { createInterface } from 'node:readline';
import { ServiceError, UsageError } from '../core/errors.js';
import { CatalogueWriter, cataloguePath, readCatalogue } from '../catalogue/catalogue.js';
import { deleteArchives, EARLY_DELETION_DAYS } from '../manage/delete.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { interruption, itemError, run } from './runtime.js';

const usage = `Usage: glacier-rm -v VAULT [-c N] [--dry-run] [--] ARCHIVE_ID...
       ... | glacier-rm -v VAULT [-c N] [--dry-run] [-]      (ids or JSON lines on stdin, one a line)

Deletes archives from a vault. With no ARCHIVE_ID, reads stdin as it arrives (blank lines are skipped): bare
ids, or JSON lines with ArchiveId or archiveId (as glacier-ls --archives, glacier-job output --archives and
glacier-restore print them), so a listing can be piped in as it is. Prints one JSON line per archive, as each
finishes: {"archiveId","deleted":true,"ageDays"} or {"archiveId","deleted":false,"error"}; with --dry-run
{"archiveId","deleted":false,"dryRun":true} and nothing is deleted. ageDays is there when the creation date is
known. Archive ids can start with '-': put them after --.

Each deletion is recorded in the local catalogue (see glacier-put --help), so glacier-ls --archives no longer
lists it. An archive younger than 90 days (by the catalogue, or the line's CreationDate) is deleted with a
warning naming its age: Glacier charges an archive deleted early for the rest of its 90 days.

A malformed id or one the service refuses (unknown, or not an archive id of this vault) is reported, naming
the id, and the rest
are still deleted. Deleting an archive that is already gone succeeds, as the service says.

Options:
  -c, --concurrency N   deletes in flight at once (default 1, at most 100)
  --catalogue FILE      the catalogue to record deletions in (else GLACIER_CATALOGUE, else the default one,
                        the same with and without --account-id)
  --dry-run             check the ids and that the vault exists; delete nothing
${COMMON_HELP}

Exit: 0 all deleted, 1 an archive could not be deleted (service, network), 2 bad usage or a malformed id
(and none failed), 129/130/143 interrupted.

Examples:
  jq -r '.ArchiveList[].ArchiveId' inventory.json | glacier-rm -v backups
  jq -r '.ArchiveList[] | select(.CreationDate < "2024") | .ArchiveId' inventory.json | glacier-rm -v backups --dry-run
  glacier-rm -v backups -- "$ARCHIVE_ID"
  glacier-ls -v backups --archives --older-than 35d --name 'mydb-[0-9]*' --json | glacier-rm -v backups -
  glacier-job output -v backups "$INVENTORY_JOB" --archives | glacier-rm -v backups -c 16 -
`;

const spec = withCommon({ name: 'glacier-rm', usage, boolean: ['dry-run'], string: ['concurrency', 'catalogue'], alias: { c: 'concurrency' } });

const WARNINGS_SHOWN = 10;

// Read from the first pull on: readline drops lines that arrive before anyone iterates.
async function* stdinLines(): AsyncGenerator<string> {
  yield* createInterface({ input: process.stdin, crlfDelay: Infinity });
}

run(spec, async (argv) => {
  // '-' is stdin, as wherever a FILE is taken: `glacier-rm -v V -` reads the ids one a line.
  let ids = argv._.map(String);
  if (ids.includes('-')) {
    if (ids.length > 1) throw new UsageError("'-' (ids from stdin) goes alone, not with ARCHIVE_IDs");
    ids = [];
  }
  if (!ids.length && process.stdin.isTTY) throw new UsageError('no ARCHIVE_ID given and stdin is a terminal: give ids, or pipe them in one a line (see --help)');
  const concurrency = argv.concurrency === undefined ? 1 : Number(argv.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 100) throw new UsageError(`invalid --concurrency "${argv.concurrency}": a whole number from 1 to 100`);
  // Every delete in flight (up to -c 100) listens to the one interruption signal: no MaxListenersExceededWarning.
  setMaxListeners(0, interruption.signal);
  const c = common('glacier-rm', argv);
  const dryRun = Boolean(argv['dry-run']);
  const key = { account: c.accountId, region: c.glacier.region ?? '', vault: c.vault };
  const path = cataloguePath(key, argv.catalogue === undefined ? undefined : String(argv.catalogue));
  // Opened before the first delete: a deletion that cannot be recorded would leave the catalogue listing it.
  const catalogue = dryRun ? undefined : CatalogueWriter.open(path, key);
  const known = (await readCatalogue(path, key)).archives;
  let failed = 0;
  let malformed = 0;
  let total = 0;
  let young = 0;
  const lines = ids.length ? ids : stdinLines();
  try {
    for await (const { error, ...line } of deleteArchives(lines, { glacier: c.glacier, vault: c.vault, dryRun, concurrency, creationDateOf: (id) => known.get(id)?.CreationDate })) {
      total++;
      if (error !== undefined) {
        if (error instanceof UsageError) malformed++;
        else failed++;
        process.stdout.write(`${JSON.stringify({ ...line, error: itemError('glacier-rm', error, error instanceof UsageError ? undefined : { what: 'archive', id: line.archiveId }) })}\n`);
        continue;
      }
      if (line.deleted) {
        try {
          catalogue!.addDeletions([line.archiveId]);
        } catch (e) {
          process.stdout.write(`${JSON.stringify(line)}\n`);
          throw e; // deleted, but the catalogue would still list it: stop here, saying so
        }
      }
      if (line.ageDays !== undefined && line.ageDays < EARLY_DELETION_DAYS && ++young <= WARNINGS_SHOWN) {
        c.warn(`archive ${line.archiveId} is ${line.ageDays} day(s) old: Glacier charges its early deletion (${EARLY_DELETION_DAYS - line.ageDays} day(s) left of its ${EARLY_DELETION_DAYS}-day minimum)${dryRun ? ' if deleted' : ''}`);
      }
      process.stdout.write(`${JSON.stringify(line)}\n`);
    }
  } finally {
    catalogue?.close();
    if (young > WARNINGS_SHOWN) c.warn(`${young - WARNINGS_SHOWN} more archive(s) younger than ${EARLY_DELETION_DAYS} days ${dryRun ? 'would be' : 'were'} deleted (early deletion charge)`);
  }
  // One id that failed was already told in its own line: a summary would be a second line for one error.
  if (total === 1 && failed + malformed === 1) return failed ? 1 : 2;
  if (failed) throw new ServiceError(`${failed} of ${total} archive(s) not deleted${malformed ? ` (and ${malformed} malformed id(s))` : ''}`);
  if (malformed) throw new UsageError(`${malformed} of ${total} line(s) were not archive ids${total > malformed ? `; the others were ${dryRun ? 'checked' : 'deleted'}` : ''}`);
});
