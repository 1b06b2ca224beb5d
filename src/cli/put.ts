// glacier-put: stdin, a file, a chunk stream or a spool folder into a vault, as one JSON result line.
import { promises as fsp } from 'node:fs';
import { basename, resolve } from 'node:path';
import { isatty } from 'node:tty';
import { BufferPool } from '../core/buffer-pool.js';
import { ByteReader } from '../core/byte-reader.js';
import { InterruptedError, UsageError } from '../core/errors.js';
import { fdFiller } from '../core/fd-reader.js';
import { HashPool } from '../core/hash-pool.js';
import { isValidPartSize, MiB } from '../core/tree-hash.js';
import { checkDescription, common, COMMON_HELP, explain, sizeOption, withCommon } from './common.js';
import { Progress } from './progress.js';
import { interruption, run } from './runtime.js';
import { Journal, journalDir, type JournalHeader } from '../upload/journal.js';
import { chunkStreamParts, CHUNK_MAGIC, fileFiller, fillerChunks, prefixedFiller, rawParts, readChunkHeader, readManifest, spoolParts, streamFiller, type Filler, type SourcePart } from '../upload/sources.js';
import { fitPartSize, listAllParts, ResumableError, upload, MAX_PARTS } from '../upload/upload.js';

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

Exit: 0 done, 1 service/network/IO failure, 2 bad usage or input, 3 input differs from what was sent, 130/143 interrupted.

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

export function escapeDescription(name: string): string {
  return [...name].map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`)).join('').slice(0, 1024);
}


function intOption(v: unknown, name: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`invalid --${name} "${v}": a whole number from ${min} to ${max}`);
  return n;
}

function roundPartSize(n: number): number {
  let ps = MiB;
  while (ps < n) ps *= 2;
  if (!isValidPartSize(ps)) throw new UsageError(`invalid --part-size: ${n} bytes is over the 4 GiB limit`);
  return ps;
}

run(spec, async (argv) => {
  // `--resume FILE` would otherwise swallow FILE as the upload id.
  let resumeId: string | undefined;
  const resuming = argv.resume !== undefined;
  const positional = argv._.map(String);
  if (resuming && argv.resume !== '') {
    if (ID_LIKE.test(String(argv.resume))) resumeId = String(argv.resume);
    else positional.unshift(String(argv.resume));
  }
  if (positional.length > 1) throw new UsageError(`one input at most (got ${positional.length}); to upload several files, pack them: glacier-pack ${positional.join(' ')} | glacier-put -v VAULT`);
  const input = positional[0] ?? '-';
  const rawDesc = argv.description ?? argv['arc-desc'];
  const c = common('glacier-put', argv);
  const concurrency = intOption(argv.concurrency ?? argv['num-threads'] ?? 5, 'concurrency', 1, 64);
  const requested = sizeOption(argv, 'part-size');
  const expected = sizeOption(argv, 'expected-size');
  let description: string | null = rawDesc !== undefined ? checkDescription(String(rawDesc)) : null;

  // What the input is: a spool folder, or a file or pipe holding raw bytes or a chunk stream.
  let kind: JournalHeader['source']['kind'] = 'stdin';
  let knownSize: number | undefined;
  let fh: fsp.FileHandle | undefined;
  let spoolDir: string | undefined;
  let filler: Filler | undefined;
  if (input !== '-') {
    const st = await fsp.stat(input).catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${input}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
    });
    if (st.isDirectory()) {
      kind = 'spool';
      spoolDir = input;
    } else {
      fh = await fsp.open(input, 'r').catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot read ${input}: ${e.code === 'EACCES' ? 'permission denied' : e.message}`);
      });
      kind = 'file';
      if (st.isFile()) {
        knownSize = st.size;
        filler = fileFiller(fh);
      } else filler = streamFiller(new ByteReader(fh.createReadStream({ highWaterMark: MiB })));
    }
    if (description === null && !spoolDir) description = escapeDescription(basename(input));
  } else {
    if (isatty(0)) throw new UsageError('stdin is a terminal: pipe data in, or give a FILE (see --help)');
    // Pipes and files are read straight into the part buffers; anything else (a device) as a stream.
    filler = fdFiller(0) ?? streamFiller(new ByteReader(process.stdin));
  }
  let isChunks = false;
  if (filler) {
    const sniff = Buffer.alloc(CHUNK_MAGIC.length);
    const n = await filler.fill(sniff, sniff.length);
    isChunks = sniff.toString('latin1', 0, n) === CHUNK_MAGIC;
    // A file is re-read from its start; a pipe gets the sniffed bytes back in front.
    filler = knownSize !== undefined ? fileFiller(fh!) : prefixedFiller(sniff.subarray(0, n), filler);
    if (isChunks) kind = 'chunks';
  }

  // Resume: the journal (if any) says how the upload was cut.
  let resume: { uploadId: string; journal?: Journal } | undefined;
  let resumePartSize: number | undefined;
  const jdir = journalDir();
  if (resuming) {
    const src = input === '-' ? undefined : resolve(input);
    const found = Journal.find(jdir, (h) => h.vault === c.vault && (resumeId ? h.uploadId === resumeId : !src || h.source.path === src));
    if (!resumeId && found.length === 0) throw new UsageError(`no journal of an interrupted upload to vault "${c.vault}"${src ? ` from ${src}` : ''}; give the upload id: --resume UPLOAD_ID (see glacier-ls -v ${c.vault})`);
    const journal = found[0] ? Journal.read(found[0].path).journal : undefined;
    const uploadId = resumeId ?? journal!.header.uploadId;
    try {
      const listed = await listAllParts(c.client, c.accountId, c.vault, uploadId);
      resumePartSize = listed.partSize;
      description = listed.description;
    } catch (e) {
      throw explain(e, { vault: c.vault, endpoint: c.endpoint });
    }
    resume = { uploadId, journal };
  }

  const pool = new HashPool();
  let source: AsyncIterable<SourcePart>;
  let partSize: number;
  let unknownSizeWarning: (() => void) | undefined;
  try {
    if (spoolDir) {
      const m = await readManifest(spoolDir);
      partSize = m.partSize;
      source = spoolParts(spoolDir, m, new BufferPool(partSize, concurrency + 2));
      knownSize = m.size;
    } else if (isChunks) {
      const reader = new ByteReader(fillerChunks(filler!));
      const h = await readChunkHeader(reader);
      partSize = h.partSize;
      source = chunkStreamParts(reader, h, new BufferPool(partSize, concurrency + 2));
    } else {
      const min = requested !== undefined ? roundPartSize(requested) : 8 * MiB;
      if (requested !== undefined && min !== requested) c.warn(`part size ${requested} rounded up to ${min / MiB} MiB (parts are 1 MiB x 2^n)`);
      const size = knownSize ?? expected;
      if (resumePartSize) partSize = resumePartSize;
      else if (size !== undefined) partSize = fitPartSize(size, min);
      else {
        partSize = requested !== undefined ? min : 64 * MiB;
        const ps = partSize;
        unknownSizeWarning = () => c.warn(`input size unknown: ${ps / MiB} MiB parts hold archives up to ${((ps * MAX_PARTS) / 2 ** 30).toFixed(0)} GiB; for larger input give --expected-size SIZE or a larger -p`);
      }
      source = rawParts(filler!, partSize, new BufferPool(partSize, concurrency + 2));
    }
    if (resumePartSize && partSize !== resumePartSize) throw new UsageError(`upload ${resume!.uploadId} uses ${resumePartSize}-byte parts but this input is cut in ${partSize}-byte parts`);

    const progress = new Progress('glacier-put', c.progress, knownSize, argv['dry-run'] ? 'hashed' : 'sent');
    const result = await upload(source, {
      client: c.client, pool, vault: c.vault, accountId: c.accountId, description, partSize, concurrency,
      dryRun: Boolean(argv['dry-run']), resume, signal: interruption.signal,
      journal: { dir: jdir, header: { source: { kind, path: input === '-' ? undefined : resolve(input) }, endpoint: c.endpoint, region: c.region } },
      onPart: (bytes, sent) => (sent || argv['dry-run'] || resume ? progress.add(bytes) : undefined),
      warn: c.debug ? c.warn : undefined,
      onMultipart: () => unknownSizeWarning?.(),
    }).catch((e) => {
      if (e instanceof ResumableError) {
        // An id that starts with '-' would be read as options: pass it as --resume=ID.
        const cmd = ['glacier-put', '-v', c.vault, ...(e.uploadId.startsWith('-') ? [`--resume=${e.uploadId}`] : ['--resume', e.uploadId]), ...(c.endpoint ? ['--endpoint', c.endpoint] : []), ...(c.region ? ['--region', c.region] : []), ...(input === '-' ? [] : [input])].join(' ');
        const how = input === '-' ? `feed the same input again: ... | ${cmd}` : cmd;
        const cause = explain(e.cause, { vault: c.vault, endpoint: c.endpoint });
        const err = e.cause instanceof InterruptedError ? e.cause : cause;
        err.message = `${e.cause instanceof InterruptedError ? 'interrupted' : cause.message}; the parts sent so far are kept. Resume with: ${how}`;
        throw err;
      }
      throw explain(e, { vault: c.vault, endpoint: c.endpoint });
    });
    progress.finish();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await pool.close();
    await fh?.close().catch(() => {});
  }
});
