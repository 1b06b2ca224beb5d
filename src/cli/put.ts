// glacier-put: stdin, a file, a chunk stream or a spool folder into a vault, as one JSON result line.
import { checkDescription } from '../core/description.js';
import { UsageError } from '../core/errors.js';
import { openInput } from '../upload/input.js';
import { journalDir } from '../upload/journal.js';
import { putArchive } from '../upload/put.js';
import { common, COMMON_HELP, sizeOption, withCommon } from './common.js';
import { Progress } from './progress.js';
import { run } from './runtime.js';

const usage = `Usage: glacier-put -v VAULT [-d DESC] [-p SIZE] [-c N] [--expected-size SIZE] [--resume [UPLOAD_ID]] [--dry-run] [FILE|DIR|-]

Uploads stdin (or FILE) to a vault and prints one JSON line: vault, archiveId, checksum (the tree hash),
size, parts, partSize, uploadId, location, description. Input may be raw bytes, a glacier-chunk stream
(detected from its first line) or a glacier-chunk -o folder. Input that fits in one part goes up in one
request; larger input as a multipart upload with parts in parallel, each retried on throttling and errors.

Options:
  -d, --description DESC   archive description: printable ASCII, at most 1024 characters
                           (default for a FILE: its base name; for stdin: none). --arc-desc is the same.
  -p, --part-size SIZE     part size, rounded up to 1 MiB x 2^n (default 8M; for input of unknown size 64M,
                           which holds archives up to 625 GiB)
  --expected-size SIZE     size of a piped input, to choose a part size that fits it in 10,000 parts
  -c, --concurrency N      parts in flight (default 5; -t/--num-threads is the same)
  --resume [UPLOAD_ID]     continue an interrupted upload from the same input: parts already in Glacier
                           are checked against the input, only the missing ones are sent
  --dry-run                read and hash the input, print the result it would give, send nothing
${COMMON_HELP}

Journal: each multipart upload keeps a journal (mode 0600) in \${XDG_STATE_HOME:-~/.local/state}/glacier-pipes/
until it completes; on failure or Ctrl-C the command to resume is printed.

A FILE that changes while it is read (size or mtime) fails with "file changed as we read it": exit 1, the
upload aborted, nothing stored.

Exit: 0 done, 1 service/network/IO failure, 2 bad usage or input, 3 input differs from what was sent (or
Glacier's reply does not confirm it; the journal is kept), 130/143 interrupted.

Examples:
  pg_dump mydb | glacier-put -v backups -d "mydb nightly"
  tar -cf - /srv | glacier-put -v backups --expected-size 200G
  glacier-put -v backups photos-2026.tar.xz
  glacier-chunk -o /var/spool/gp < big.img && glacier-put -v backups /var/spool/gp
`;

const spec = withCommon({
  name: 'glacier-put',
  usage,
  string: ['description', 'arc-desc', 'part-size', 'concurrency', 'num-threads', 'expected-size', 'resume'],
  boolean: ['dry-run'],
  alias: { d: 'description', p: 'part-size', c: 'concurrency', t: 'num-threads' },
});

const ID_LIKE = /^[A-Za-z0-9_-]{40,}$/;

function intOption(v: unknown, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`invalid --${name} "${v}": a whole number from ${min} to ${max}`);
  return n;
}

run(spec, async (argv) => {
  // `--resume FILE` would otherwise swallow FILE as the upload id.
  const positional = argv._.map(String);
  let resume: true | string | undefined = argv.resume !== undefined ? true : undefined;
  if (resume && argv.resume !== '') {
    if (ID_LIKE.test(String(argv.resume))) resume = String(argv.resume);
    else positional.unshift(String(argv.resume));
  }
  if (positional.length > 1) throw new UsageError(`one input at most (got ${positional.length}); to upload several files, pack them: glacier-pack ${positional.join(' ')} | glacier-put -v VAULT`);
  const rawDesc = argv.description ?? argv['arc-desc'];
  const description = rawDesc !== undefined ? checkDescription(String(rawDesc)) : undefined;
  const c = common('glacier-put', argv);
  const concurrency = intOption(argv.concurrency ?? argv['num-threads'] ?? 5, 'concurrency', 1, 64);
  const partSize = sizeOption(argv, 'part-size');
  const expectedSize = sizeOption(argv, 'expected-size');
  const dryRun = Boolean(argv['dry-run']);
  const input = await openInput(positional[0] ?? '-', { stdin: process.stdin, folders: true });
  let progress: Progress | undefined;
  try {
    const result = await putArchive(input, {
      glacier: c.glacier, vault: c.vault, description, partSize, expectedSize, concurrency, dryRun, resume,
      journalDir: journalDir(), where: { endpoint: c.endpoint, region: c.region }, warn: c.warn,
      onStart: (size) => (progress = new Progress('glacier-put', c.progress, size, dryRun ? 'hashed' : 'sent')),
      onProgress: (bytes) => progress?.add(bytes),
    });
    progress?.finish();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await input.close();
  }
});
