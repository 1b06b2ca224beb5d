// glacier-put: stdin, a file, a chunk stream or a spool folder into a vault, as one JSON result line.
import { resolve } from 'node:path';
import { archiveName, CatalogueWriter, cataloguePath, thisHost } from '../catalogue/catalogue.js';
import { checkDescription } from '../core/description.js';
import { ServiceError, UsageError } from '../core/errors.js';
import { directlyReadable } from '../core/fd-reader.js';
import { shellCommand } from '../core/shell.js';
import { existsSync, readdirSync } from 'node:fs';
import { pipeline, Transform, type Readable } from 'node:stream';
import { openInput, type Input } from '../upload/input.js';
import type { Filler } from '../upload/sources.js';
import { journalDir } from '../upload/journal.js';
import { putArchive } from '../upload/put.js';
import { common, COMMON_HELP, rateHelp, RATE_STRINGS, sizeOption, withCommon } from './common.js';
import { Progress } from './progress.js';
import { startProducer, type Producer } from './producer.js';
import { interruption, run } from './runtime.js';

const usage = `Usage: glacier-put -v VAULT [-d DESC] [-p SIZE] [-c N] [--expected-size SIZE] [--resume[=UPLOAD_ID]] [--dry-run] [FILE|DIR|-]
       glacier-put -v VAULT [OPTIONS] [--from-command] -- CMD [ARGS...]

Uploads stdin (or FILE) to a vault and prints one JSON line: vault, archiveId, checksum (the tree hash),
size, parts, partSize, uploadId, location, description. Input may be raw bytes, a glacier-chunk stream
(detected from its first line) or a glacier-chunk -o folder. Input that fits in one part goes up in one
request; larger input as a multipart upload with parts in parallel, each retried on throttling and errors.

Options:
  -d, --description DESC   archive description: printable ASCII, at most 1024 characters, no outer spaces
                           (default for a FILE: its base name, non-ASCII as \\uXXXX and a space at either
                           end as \\u0020, decoded again in Name; for stdin, /dev/fd/N: none). --arc-desc is
                           the same. A FILE whose name is not valid UTF-8 cannot be opened by name: give it
                           on stdin (glacier-put -v VAULT -d NAME < FILE).
  -p, --part-size SIZE     part size, rounded up to 1 MiB x 2^n (default 8M; for input of unknown size 64M,
                           which holds archives up to 625 GiB); a bare number is MiB (-p 64)
  --expected-size SIZE     size of a piped input, to choose a part size that fits it in 10,000 parts and
                           show progress; a bare number is bytes, as in aws s3 cp (200G, 3000000000)
  -c, --concurrency N      parts in flight (default 5; -t/--num-threads is the same)
  --resume [UPLOAD_ID]     continue an interrupted upload from the same input: parts already in Glacier
                           are checked against the input, only the missing ones are sent (an id that
                           starts with '-': --resume=ID)
  --dry-run                read and hash the input, print the result it would give, send nothing
${rateHelp(27)}
  -- CMD [ARGS...]         run CMD (no shell) and upload its stdout; the archive is completed only if CMD
                           exits 0, else the upload is aborted, nothing is stored, and the exit status is 1.
                           --from-command says the same explicitly. A FILE that starts with '-': ./FILE
${COMMON_HELP}

Catalogue: every archive completed is recorded, before its result line is printed, as a JSON line (archive
id, description, Name, size, tree hash, creation date, Source: file, stdin or command, Host) in the local
catalogue of its region and vault, mode 0600: \${XDG_STATE_HOME:-~/.local/state}/glacier-pipes/
catalogue/REGION.VAULT.jsonl (with and without --account-id alike). glacier-ls -v VAULT --archives lists
it; glacier-rm records deletions.
  --catalogue FILE         the catalogue to append to instead (or GLACIER_CATALOGUE); one file may hold
                           several vaults. An unwritable catalogue (or one others may write to, or one that
                           is not a regular file, or in a folder another user owns or others may write to
                           without the sticky bit) fails the run before anything is sent.

Journal: each multipart upload keeps a journal (mode 0600) in \${XDG_STATE_HOME:-~/.local/state}/glacier-pipes/
until it completes; on failure or Ctrl-C the command to resume is printed.

A FILE that changes while it is read (size or mtime) fails with "file changed as we read it": exit 1, the
upload aborted, nothing stored. A named pipe as FILE (mkfifo, <(CMD)) is read until its last writer closes it.

Exit: 0 done, 1 service/network/IO failure, 2 bad usage or input, 3 input differs from what was sent (or
Glacier's reply does not confirm it; the journal is kept), 129/130/143 interrupted.

Examples:
  glacier-put -v backups -d "mydb nightly" -- pg_dump mydb
  pg_dump mydb | glacier-put -v backups -d "mydb nightly"
  tar -cf - /srv | glacier-put -v backups --expected-size 200G --limit-rate 5M
  glacier-put -v backups photos-2026.tar.xz
  glacier-chunk -o /var/spool/gp < big.img && glacier-put -v backups /var/spool/gp
`;

const spec = withCommon({
  name: 'glacier-put',
  usage,
  string: ['catalogue', 'description', 'arc-desc', 'part-size', 'concurrency', 'num-threads', 'expected-size', 'resume', ...RATE_STRINGS],
  boolean: ['dry-run', 'from-command'],
  optionalValue: ['resume'],
  alias: { d: 'description', p: 'part-size', c: 'concurrency', t: 'num-threads' },
});

const ID_LIKE = /^[A-Za-z0-9_-]{40,}$/;

function intOption(v: unknown, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`invalid --${name} "${v}": a whole number from ${min} to ${max}`);
  return n;
}

/** Counts the bytes a filler hands out: progress follows the input as it is read, not as parts complete. */
function counted(filler: Filler, onRead: (n: number) => void): Filler {
  return {
    fill: async (dst, n) => {
      const got = await filler.fill(dst, n);
      onRead(got);
      return got;
    },
  };
}

/**
 * The pipe as it arrives, chunk by chunk (64 KiB), through a counter: the progress of a pipe then moves with the
 * producer rather than by whole parts. Errors of `src` (a failed producer) reach the reader.
 */
function tapped(src: Readable, onData: (n: number) => void): Readable {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      onData(chunk.length);
      done(null, chunk);
    },
  });
  pipeline(src, t, () => {});
  return t;
}

/** A folder that is neither a spool nor an interrupted one: the user meant to upload a folder. */
function notASpool(dir: string): boolean {
  const names = readdirSync(dir);
  return !names.includes('manifest.json') && !names.some((n) => /^part-\d{6}$/.test(n));
}

run(spec, async (argv) => {
  // Everything after -- is the producer to run: `glacier-put -v V -- pg_dump mydb`.
  const raw = process.argv.slice(2);
  const dashes = raw.indexOf('--');
  const command = dashes < 0 ? undefined : raw.slice(dashes + 1);
  if (command && command.length === 0) throw new UsageError('no command after --: glacier-put -v VAULT -- CMD [ARGS...] (a FILE that starts with - goes as ./FILE)');
  if (argv['from-command'] && !command) throw new UsageError('--from-command needs the command after --: glacier-put -v VAULT --from-command -- CMD [ARGS...]');
  // `--resume FILE` would otherwise swallow FILE as the upload id.
  const positional = argv._.map(String).slice(0, argv._.length - (command?.length ?? 0));
  let resume: true | string | undefined = argv.resume !== undefined ? true : undefined;
  if (resume && argv.resume !== '') {
    if (ID_LIKE.test(String(argv.resume))) resume = String(argv.resume);
    else positional.unshift(String(argv.resume));
  }
  if (command && positional.length) throw new UsageError(`give a FILE or a command after --, not both (${positional[0]})`);
  if (positional.length > 1) throw new UsageError(`one input at most (got ${positional.length}); to upload several files, pack them: glacier-pack ${positional.join(' ')} | glacier-put -v VAULT`);
  const rawDesc = argv.description ?? argv['arc-desc'];
  const description = rawDesc !== undefined ? checkDescription(String(rawDesc)) : undefined;
  const c = common('glacier-put', argv);
  // Node decodes argv as UTF-8, each invalid byte becoming U+FFFD: a file name that is not UTF-8 arrives as another
  // name, one no file has. Said so, with the way that works, rather than "no such file".
  if (positional[0]?.includes('\uFFFD') && !existsSync(positional[0])) {
    throw new UsageError(`the file name is not valid UTF-8 (it cannot be opened by name from Node): give it on stdin, ${shellCommand(['glacier-put', '-v', c.vault])} -d NAME < FILE`);
  }
  const concurrency = intOption(argv.concurrency ?? argv['num-threads'] ?? 5, 'concurrency', 1, 64);
  const partSize = sizeOption(argv, 'part-size');
  // Bytes, as `aws s3 cp --expected-size`, `stat -c %s` and `wc -c` give them (a bare number is bytes here, not MiB
  // as for part sizes); 200G and the like as everywhere.
  const rawExpected = argv['expected-size'] === undefined ? undefined : String(argv['expected-size']);
  let expectedSize: number | undefined;
  if (rawExpected !== undefined && /^[\d.\s-]*$/.test(rawExpected)) {
    expectedSize = Number(rawExpected);
    if (!/^\s*\d+\s*$/.test(rawExpected) || !Number.isSafeInteger(expectedSize) || expectedSize < 1) {
      throw new UsageError(`invalid --expected-size "${rawExpected}": bytes (a whole number, as aws s3 cp takes it), or a size with a unit: 200G, 64MiB, 2T`);
    }
  } else expectedSize = sizeOption(argv, 'expected-size');
  const dryRun = Boolean(argv['dry-run']);
  // Opened before anything is sent: a catalogue that cannot be written fails the run while nothing is stored.
  const where = { account: c.accountId, region: c.glacier.region ?? '', vault: c.vault };
  const catalogue = dryRun ? undefined : CatalogueWriter.open(cataloguePath(where, argv.catalogue === undefined ? undefined : String(argv.catalogue)), where);
  let producer: Producer | undefined;
  let input: Input;
  let onRead: (n: number) => void = () => {}; // set once the progress line exists, below
  const tap = (src: Readable) => tapped(src, (n) => onRead(n));
  if (command) {
    producer = startProducer(command);
    input = await openInput('-', { stdin: tap(producer.stdout), signal: interruption.signal });
  } else {
    // A pipe or file on fd 0 is read straight into the part buffers, each read counted as it lands; anything
    // else through the tap. (The tap would start process.stdin reading: only one reader may own fd 0, so it is
    // not set up when a FILE is named: that FILE may be stdin under another name, such as /dev/stdin.)
    const fromStdin = (positional[0] ?? '-') === '-';
    const direct = !process.stdin.isTTY && fromStdin && directlyReadable(0);
    const stdin = process.stdin.isTTY || direct || !fromStdin ? process.stdin : tap(process.stdin);
    input = await openInput(positional[0] ?? '-', { stdin, folders: true, onRead: (n) => onRead(n), signal: interruption.signal });
    if (input.kind === 'spool' && notASpool(input.dir)) {
      throw new UsageError(`${input.dir} is a folder: to upload a folder, pack it: ${shellCommand(['glacier-pack', ...(input.dir.startsWith('-') ? ['--'] : []), input.dir])} | ${shellCommand(['glacier-put', '-v', c.vault])} (glacier-put takes a FILE, stdin, or a glacier-chunk -o folder)`);
    }
  }
  // Progress counts bytes as they are read (a spool's parts as they go out); the total is the input's size, or
  // --expected-size for a pipe.
  const progress = new Progress('glacier-put', c.progress, input.kind === 'file' ? input.size : expectedSize, 'read');
  if (input.kind === 'stdin') onRead = (n) => progress.add(n);
  else if (input.kind !== 'spool') input = { ...input, filler: counted(input.filler, (n) => progress.add(n)) };
  try {
    const result = await putArchive(input, {
      glacier: c.glacier, vault: c.vault, description, partSize, expectedSize, concurrency, dryRun, resume,
      catalogue: argv.catalogue === undefined ? undefined : resolve(String(argv.catalogue)),
      journalDir: journalDir(), where: { endpoint: c.endpoint, region: c.region, profile: argv.profile, accountId: c.accountId }, command, warn: c.warn,
      onStart: (size) => progress.setTotal(size ?? expectedSize),
      onProgress: input.kind === 'spool' ? (bytes) => progress.add(bytes) : undefined,
    });
    progress.finish();
    // Recorded before the result is printed: whoever reads the id from stdout finds it in the catalogue too.
    let unrecorded: unknown;
    if (catalogue && result.archiveId) {
      const source = command ? 'command' : input.kind === 'file' || input.kind === 'spool' ? 'file' : 'stdin';
      try {
        catalogue.addArchives([{
          ArchiveId: result.archiveId, ArchiveDescription: result.description ?? '', CreationDate: new Date().toISOString(), Size: result.size,
          SHA256TreeHash: result.checksum, Name: archiveName(result.archiveId, result.description), Source: source, Host: thisHost(),
        }]);
      } catch (e) {
        unrecorded = e;
      }
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    // The archive is stored whatever the catalogue says: its line is printed, and the run fails naming what is missing.
    if (unrecorded) throw new ServiceError(`archive ${result.archiveId} is stored (line above) but not in the catalogue: ${(unrecorded as Error).message}`);
  } catch (e) {
    progress.finish(); // the error line then starts on a line of its own
    throw e;
  } finally {
    producer?.stop();
    catalogue?.close();
    await input.close();
  }
});
