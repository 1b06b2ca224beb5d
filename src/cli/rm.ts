// glacier-rm: deletes archives by id, from arguments or stdin one a line; one JSON line per archive.
import { createInterface } from 'node:readline';
import { ServiceError, UsageError } from '../core/errors.js';
import { deleteArchives } from '../manage/delete.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { itemError, run } from './runtime.js';

const usage = `Usage: glacier-rm -v VAULT [--dry-run] [--] ARCHIVE_ID...
       ... | glacier-rm -v VAULT [--dry-run]          (ids on stdin, one a line)

Deletes archives from a vault. With no ARCHIVE_ID, reads ids from stdin as they arrive (blank lines are
skipped), so an inventory can be piped in. Prints one JSON line per archive:
{"archiveId","deleted":true} or {"archiveId","deleted":false,"error"}; with --dry-run {"archiveId",
"deleted":false,"dryRun":true} and nothing is deleted. Archive ids can start with '-': put them after --.

A malformed id or one the service refuses (unknown, or of another vault) is reported on stderr and the rest
are still deleted. Deleting an archive that is already gone succeeds, as the service says.

Options:
  --dry-run     check the ids and that the vault exists; delete nothing
${COMMON_HELP}

Exit: 0 all deleted, 1 an archive could not be deleted (service, network), 2 bad usage or a malformed id
(and none failed), 130/143 interrupted.

Examples:
  jq -r '.ArchiveList[].ArchiveId' inventory.json | glacier-rm -v backups
  jq -r '.ArchiveList[] | select(.CreationDate < "2024") | .ArchiveId' inventory.json | glacier-rm -v backups --dry-run
  glacier-rm -v backups -- "$ARCHIVE_ID"
`;

const spec = withCommon({ name: 'glacier-rm', usage, boolean: ['dry-run'] });

// Read from the first pull on: readline drops lines that arrive before anyone iterates.
async function* stdinLines(): AsyncGenerator<string> {
  yield* createInterface({ input: process.stdin, crlfDelay: Infinity });
}

run(spec, async (argv) => {
  const ids = argv._.map(String);
  if (!ids.length && process.stdin.isTTY) throw new UsageError('no ARCHIVE_ID given and stdin is a terminal: give ids, or pipe them in one a line (see --help)');
  const c = common('glacier-rm', argv);
  const dryRun = Boolean(argv['dry-run']);
  let failed = 0;
  let malformed = 0;
  let total = 0;
  const lines = ids.length ? ids : stdinLines();
  for await (const { error, ...line } of deleteArchives(lines, { glacier: c.glacier, vault: c.vault, dryRun })) {
    total++;
    if (error !== undefined) {
      if (error instanceof UsageError) malformed++;
      else failed++;
      process.stdout.write(`${JSON.stringify({ ...line, error: itemError('glacier-rm', error, error instanceof UsageError ? undefined : { what: 'archive', id: line.archiveId }) })}\n`);
      continue;
    }
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  // One id that failed was already told in its own line: a summary would be a second line for one error.
  if (total === 1 && failed + malformed === 1) return failed ? 1 : 2;
  if (failed) throw new ServiceError(`${failed} of ${total} archive(s) not deleted${malformed ? ` (and ${malformed} malformed id(s))` : ''}`);
  if (malformed) throw new UsageError(`${malformed} of ${total} line(s) were not archive ids${total > malformed ? `; the others were ${dryRun ? 'checked' : 'deleted'}` : ''}`);
});
