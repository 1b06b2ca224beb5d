// glacier-abort: aborts multipart uploads of a vault and removes their local journals; one JSON line per upload.
import { createInterface } from 'node:readline';
import { ServiceError, UsageError } from '../core/errors.js';
import { durationArg } from '../core/units.js';
import { abortUploads, type Selection } from '../manage/abort.js';
import { journalDir } from '../upload/journal.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { itemError, run } from './runtime.js';

const usage = `Usage: glacier-abort -v VAULT [--dry-run] [--] UPLOAD_ID...
       ... | glacier-abort -v VAULT [--dry-run] -      (ids on stdin, one a line)
       glacier-abort -v VAULT --all [--older-than DURATION] [--dry-run]

Aborts in-progress multipart uploads (the parts already sent are discarded by the service) and removes the
journals glacier-put kept for them in \${XDG_STATE_HOME:-~/.local/state}/glacier-pipes/. Prints one JSON line
per upload: {"uploadId","vault","aborted","journalRemoved","journal"?,"creationDate"?,"error"?,"dryRun"?}.
Upload ids can start with '-': put them after --, as in: glacier-abort -v VAULT -- -Xy3...

Options:
  --all                  every in-progress upload of the vault (see glacier-ls -v VAULT)
  --older-than DURATION  with --all: only uploads created more than DURATION ago (30m, 4h, 1d12h, 1w)
  --dry-run              abort nothing, remove nothing: print what would be aborted (ids given by hand are
                         checked to exist)
${COMMON_HELP}

An upload the service does not know (404) is reported on stderr, its journal is kept, and the others are
still aborted. Aborting an upload already aborted succeeds, as the service says.

Exit: 0 all aborted, 1 one failed (unknown upload, service, network), 2 bad usage, 129/130/143 interrupted.

Examples:
  glacier-abort -v backups --all --older-than 24h | jq -r 'select(.aborted) | .uploadId'
  glacier-ls -v backups | jq -r .MultipartUploadId | glacier-abort -v backups -
  glacier-abort -v backups --dry-run --all
`;

const spec = withCommon({ name: 'glacier-abort', usage, string: ['older-than'], boolean: ['all', 'dry-run'] });

async function stdinIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) if (line.trim()) ids.push(line.trim());
  return ids;
}

run(spec, async (argv) => {
  let ids = argv._.map(String);
  // '-' is stdin, as for glacier-rm: `glacier-abort -v V -` reads the upload ids one a line (blank lines skipped).
  if (ids.includes('-')) {
    if (ids.length > 1) throw new UsageError("'-' (ids from stdin) goes alone, not with UPLOAD_IDs");
    if (argv.all) throw new UsageError('give UPLOAD_IDs or --all, not both');
    if (process.stdin.isTTY) throw new UsageError("'-' reads upload ids from stdin, and stdin is a terminal: pipe them in one a line");
    ids = await stdinIds();
    if (!ids.length) return 0; // nothing listed, nothing to abort: as glacier-rm and xargs -r
  }
  let sel: Selection;
  if (argv.all) {
    if (ids.length) throw new UsageError('give UPLOAD_IDs or --all, not both');
    let olderThanMs: number | undefined;
    if (argv['older-than'] !== undefined) {
      olderThanMs = durationArg('--older-than', argv['older-than'], { age: true });
    }
    sel = { all: true, olderThanMs };
  } else {
    if (argv['older-than'] !== undefined) throw new UsageError('--older-than goes with --all');
    if (!ids.length) throw new UsageError('no upload to abort: give UPLOAD_ID... (after -- if one starts with -) or --all (see glacier-ls -v VAULT)');
    const bad = ids.find((id) => !/^[A-Za-z0-9_-]+$/.test(id));
    if (bad !== undefined) throw new UsageError(`malformed upload id ${JSON.stringify(bad)}: expected the characters A-Z a-z 0-9 _ -`);
    sel = { ids };
  }
  const c = common('glacier-abort', argv);
  let failed = 0;
  let total = 0;
  for await (const { error, ...line } of abortUploads({ glacier: c.glacier, vault: c.vault, journalDir: journalDir(), dryRun: Boolean(argv['dry-run']) }, sel)) {
    total++;
    if (error !== undefined) {
      failed++;
      process.stdout.write(`${JSON.stringify({ ...line, error: itemError('glacier-abort', error, { what: 'upload', id: line.uploadId }) })}\n`);
      continue;
    }
    if (line.journalError) c.warn(line.journalError);
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
  // One upload that failed was already told in its own line: a summary would be a second line for one error.
  if (failed) {
    if (total === 1) return 1;
    throw new ServiceError(`${failed} of ${total} upload(s) not aborted`);
  }
});
