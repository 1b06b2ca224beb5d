// Putting one archive into a vault from any input: raw bytes (stdin, a FILE, a FIFO), a glacier-chunk stream
// (told apart by its first line) or a glacier-chunk spool folder; new, dry-run or resumed. The one function
// glacier-put calls.
import { resolve } from 'node:path';
import { basename } from 'node:path';
import { BufferPool } from '../core/buffer-pool.js';
import { ByteReader } from '../core/byte-reader.js';
import { escapeDescription } from '../core/description.js';
import { InterruptedError, UsageError } from '../core/errors.js';
import type { Glacier } from '../core/glacier.js';
import { HashPool } from '../core/hash-pool.js';
import { shellCommand, whereArgs, type Where } from '../core/shell.js';
import { MiB } from '../core/tree-hash.js';
import { chunkStreamParts, CHUNK_MAGIC, readChunkHeader, readManifest, spoolParts } from './chunks.js';
import type { Input } from './input.js';
import { Journal, type JournalHeader } from './journal.js';
import { choosePartSize, MAX_PARTS } from './part-size.js';
import { fillerChunks, prefixedFiller, rawParts, type SourcePart } from './sources.js';
import { listUpload, ResumableError, upload, type ListedUpload, type UploadResult } from './upload.js';

export interface PutOptions {
  glacier: Glacier;
  vault: string;
  /** Checked already (core/description.ts); undefined: a FILE's base name, else none. */
  description?: string;
  /** -p in bytes (rounded up to 1 MiB × 2^n); --expected-size for a pipe. */
  partSize?: number;
  expectedSize?: number;
  concurrency: number;
  dryRun?: boolean;
  /** Continue an interrupted upload: true finds it by its journal, a string is its upload id. */
  resume?: true | string;
  journalDir: string;
  /** --profile, --region, --endpoint and --account-id as given, for the journal and for the commands printed in messages. */
  where: Where;
  /** `--catalogue FILE` as given (absolute), repeated in the resume command so the resumed upload is recorded there. */
  catalogue?: string;
  /** The producer glacier-put runs (`glacier-put -- CMD ARGS...`), for the resume command printed on failure. */
  command?: readonly string[];
  /** Bytes hashed (dry run, resumed parts) or sent, as they go. */
  onProgress?: (bytes: number) => void;
  /** Called once the input's size (when known) and the part size are settled. */
  onStart?: (knownSize: number | undefined) => void;
  warn?: (message: string) => void;
}

/**
 * Uploads `input` as one archive and resolves with its result line. Throws UsageError for bad input or a resume
 * that does not fit, IntegrityError (exit 3) when the input or Glacier's reply disagrees with what we hashed,
 * InputChangedError when a FILE changes while read, and, when the upload fails after parts landed, an error
 * whose message gives the command that resumes it.
 */
export async function putArchive(input: Input, o: PutOptions): Promise<UploadResult> {
  const path = input.kind === 'spool' ? input.dir : input.kind === 'stdin' ? undefined : input.path;
  // A FILE's base name describes it; a descriptor's name (/dev/fd/63 from <(CMD), /dev/stdin) says nothing.
  const describes = path !== undefined && input.kind !== 'spool' && !/^\/(dev\/(fd\/\d+|stdin)|proc\/(self|\d+)\/fd\/\d+)$/.test(path);
  let description: string | null = o.description ?? (describes ? escapeDescription(basename(path)) : null);

  // A raw input and a chunk stream are told apart by their first bytes, which go back in front afterwards.
  let chunks: ByteReader | undefined;
  let filler = input.kind === 'spool' ? undefined : input.filler;
  if (filler) {
    const sniff = Buffer.alloc(CHUNK_MAGIC.length);
    const n = await filler.fill(sniff, sniff.length);
    filler = prefixedFiller(sniff.subarray(0, n), filler);
    if (sniff.toString('latin1', 0, n) === CHUNK_MAGIC) chunks = new ByteReader(fillerChunks(filler));
  }
  const kind: JournalHeader['source']['kind'] = input.kind === 'spool' ? 'spool' : chunks ? 'chunks' : input.kind === 'stdin' ? 'stdin' : 'file';

  // Resume: Glacier's ListParts, fetched once, says the part size and description the upload was started with.
  let resume: { uploadId: string; journal?: Journal; listed: ListedUpload } | undefined;
  if (o.resume !== undefined) {
    const src = path === undefined ? undefined : resolve(path);
    const found = Journal.find(o.journalDir, (h) => h.vault === o.vault && (typeof o.resume === 'string' ? h.uploadId === o.resume : !src || h.source.path === src));
    if (typeof o.resume !== 'string' && found.length === 0) {
      throw new UsageError(`no journal of an interrupted upload to vault "${o.vault}"${src ? ` from ${src}` : ''}; give the upload id: --resume UPLOAD_ID (see glacier-ls -v ${o.vault})`);
    }
    const journal = found[0] ? new Journal(found[0].path, found[0].header) : undefined;
    const uploadId = typeof o.resume === 'string' ? o.resume : journal!.header.uploadId;
    const listed = await listUpload(o.glacier, o.vault, uploadId);
    description = listed.description;
    resume = { uploadId, journal, listed };
  }

  const concurrency = o.concurrency;
  let source: AsyncIterable<SourcePart>;
  let partSize: number;
  let knownSize = input.kind === 'file' ? input.size : undefined;
  let unknownSize = false;
  if (input.kind === 'spool') {
    const m = await readManifest(input.dir);
    partSize = m.partSize;
    knownSize = m.size;
    source = spoolParts(input.dir, m, new BufferPool(partSize, concurrency + 2));
  } else if (chunks) {
    const h = await readChunkHeader(chunks);
    partSize = h.partSize;
    source = chunkStreamParts(chunks, h, new BufferPool(partSize, concurrency + 2));
  } else {
    const choice = choosePartSize({ requested: o.partSize, size: knownSize ?? o.expectedSize });
    if (choice.roundedFrom !== undefined) o.warn?.(`part size ${choice.roundedFrom} rounded up to ${choice.partSize / MiB} MiB (parts are 1 MiB x 2^n)`);
    partSize = resume?.listed.partSize ?? choice.partSize;
    unknownSize = choice.unknownSize && !resume;
    source = rawParts(filler!, partSize, new BufferPool(partSize, concurrency + 2));
  }
  // The one check of a resumed upload's part size against this input's.
  if (resume && resume.listed.partSize !== partSize) throw new UsageError(`upload ${resume.uploadId} uses ${resume.listed.partSize}-byte parts but this input is cut in ${partSize}-byte parts`);
  o.onStart?.(knownSize);

  const pool = new HashPool();
  try {
    return await upload(source, {
      glacier: o.glacier, pool, vault: o.vault, description, partSize, concurrency, dryRun: o.dryRun, resume,
      journal: { dir: o.journalDir, header: { source: { kind, path: path === undefined ? undefined : resolve(path) }, endpoint: o.where.endpoint, region: o.where.region, profile: o.where.profile } },
      onPart: (bytes, sent) => (sent || o.dryRun || resume ? o.onProgress?.(bytes) : undefined),
      onMultipart: () => {
        if (unknownSize) o.warn?.(`input size unknown: ${partSize / MiB} MiB parts hold archives up to ${((partSize * MAX_PARTS) / 2 ** 30).toFixed(0)} GiB; for larger input give --expected-size SIZE or a larger -p`);
      },
    });
  } catch (e) {
    if (!(e instanceof ResumableError)) throw e;
    // Pasted back as printed, it must reach the same upload: every option that says where it went, each word
    // shell-quoted, the id as --resume=ID (one that starts with '-' is then never read as options), a FILE that
    // starts with '-' as ./FILE, and the producer after --.
    const input = o.command ? ['--', ...o.command] : path === undefined ? [] : [path.startsWith('-') ? `./${path}` : path];
    const cmd = shellCommand(['glacier-put', '-v', o.vault, `--resume=${e.uploadId}`, ...whereArgs(o.where), ...(o.catalogue ? ['--catalogue', o.catalogue] : []), ...input]);
    const how = path === undefined && !o.command ? `feed the same input again: ... | ${cmd}` : cmd;
    const err = e.cause instanceof InterruptedError ? e.cause : e.typed;
    err.message = `${e.cause instanceof InterruptedError ? 'interrupted' : e.typed.message}; the parts sent so far are kept. Resume with: ${how}`;
    throw err;
  } finally {
    await pool.close();
  }
}
