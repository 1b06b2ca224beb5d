// glacier-job: retrieval and inventory jobs, and their output streamed to stdout, verified.
import { GetJobOutputCommand, type GlacierJobDescription, type JobParameters } from '@aws-sdk/client-glacier';
import { writeFile } from 'node:fs/promises';
import { IntegrityError, NotReadyError, ServiceError, UsageError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { withRetry } from '../core/retry.js';
import { MiB } from '../core/tree-hash.js';
import { parseDuration } from '../core/units.js';
import { download } from '../retrieve/download.js';
import { FileSink, stdoutSink } from '../retrieve/file-sink.js';
import { formatOf, readInventory } from '../retrieve/inventory.js';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { describe, initiate, listJobs, waitFor, type JobTarget } from '../retrieve/jobs.js';
import { jobIsVerifiable, planPieces } from '../retrieve/pieces.js';
import { checkDescription, common, COMMON_HELP, explain, sizeOption, withCommon, type Common } from './common.js';
import { Progress } from './progress.js';
import { interruption, run, type Argv } from './runtime.js';

const usage = `Usage: glacier-job SUBCOMMAND -v VAULT [options]

  retrieve ARCHIVE_ID [--tier Expedited|Standard|Bulk] [--range FIRST-LAST] [-d DESC] [--sns TOPIC]
  inventory [--format JSON|CSV] [--start-date DATE] [--end-date DATE] [--limit N]
            start a job; print it as one JSON line
  describe JOB_ID                  the job as one JSON line
  list [--completed true|false] [--status InProgress|Succeeded|Failed]
                                   every job of the vault, one JSON line each (all pages)
  wait JOB_ID [--interval 60s] [--timeout 48h]
                                   poll until the job ends: exit 0 succeeded, 1 failed, 4 still running
  output JOB_ID [--wait] [--range FIRST-LAST] [-o FILE] [-c N] [--archives]
                                   the job's output to stdout (or FILE): parallel ranged GETs written in
                                   order, each piece checked against Glacier's tree hash before it is written
                                   and fetched again if it fails; the whole is checked too. With -o, an
                                   interrupted download resumes (FILE.partial) and FILE appears only when
                                   complete. --archives: an inventory as one JSON line per archive.
  get ARCHIVE_ID [--tier ...] [-o FILE] [--interval 60s] [-d DESC] [--sns TOPIC]
                                   retrieve, wait and output in one command

Options:
  --tier T          retrieval tier (default Standard; Expedited minutes, Bulk hours)
  --range A-B       retrieve: a megabyte-aligned byte range of the archive; output: a byte range of the output
  -c, --concurrency N   ranged GETs in flight (default 4)
  --piece-size SIZE     bytes per ranged GET, 1 MiB x 2^n (default 16M)
  --interval D, --timeout D   polling of wait/get/--wait (durations: 30s, 15m, 4h)
${COMMON_HELP}

Exit: 0 done, 1 failed (service, network, job failed), 2 bad usage, 3 integrity failure (data could not be
verified; nothing unverified is written), 4 job not ready yet.

Examples:
  glacier-job get -v backups ARCHIVE_ID --tier Expedited --interval 30s | tar -xJf -
  glacier-job retrieve -v backups ARCHIVE_ID          # then later:
  glacier-job output -v backups JOB_ID --wait -o restore.tar.xz
  glacier-job inventory -v backups | jq -r .JobId
  glacier-job output -v backups JOB_ID --archives | jq -r .ArchiveId
`;

const SUBCOMMANDS: Record<string, string[]> = {
  retrieve: ['tier', 'range', 'description', 'sns'],
  inventory: ['format', 'start-date', 'end-date', 'limit', 'description', 'sns'],
  describe: [],
  list: ['completed', 'status'],
  wait: ['interval', 'timeout'],
  output: ['wait', 'range', 'out', 'concurrency', 'archives', 'piece-size', 'interval', 'timeout'],
  get: ['tier', 'out', 'concurrency', 'interval', 'timeout', 'piece-size', 'description', 'sns'],
};

const spec = withCommon({
  name: 'glacier-job',
  usage,
  string: ['tier', 'range', 'description', 'sns', 'format', 'start-date', 'end-date', 'limit', 'completed', 'status', 'interval', 'timeout', 'out', 'concurrency', 'piece-size'],
  boolean: ['wait', 'archives'],
  alias: { d: 'description', o: 'out', c: 'concurrency' },
});

const TIERS = ['Expedited', 'Standard', 'Bulk'];

function jobLine(job: GlacierJobDescription): void {
  process.stdout.write(`${JSON.stringify(job)}\n`);
}

function duration(argv: Argv, name: string, dflt: string): number {
  const ms = parseDuration(String(argv[name] ?? dflt));
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`invalid --${name} "${argv[name]}": use a duration like 30s, 15m, 4h`);
  return ms;
}

function parseRange(text: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(text);
  if (!m || Number(m[2]) < Number(m[1])) throw new UsageError(`invalid --range "${text}": FIRST-LAST, byte offsets, LAST >= FIRST`);
  return [Number(m[1]), Number(m[2])];
}

function one(argv: Argv, what: string): string {
  const rest = argv._.slice(1).map(String);
  if (rest.length !== 1) throw new UsageError(`${argv._[0]} takes one ${what}${rest.length ? ` (got ${rest.length}; ids starting with "-" go after --)` : ''}`);
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(rest[0])) throw new UsageError(`invalid ${what} "${rest[0]}"`);
  return rest[0];
}

function retrievalParams(argv: Argv, archiveId: string): JobParameters {
  const tier = String(argv.tier ?? 'Standard');
  if (!TIERS.includes(tier)) throw new UsageError(`unknown --tier "${tier}": Expedited, Standard or Bulk`);
  const p: JobParameters = { Type: 'archive-retrieval', ArchiveId: archiveId, Tier: tier };
  if (argv.range !== undefined) {
    const [a, b] = parseRange(String(argv.range));
    if (a % MiB) throw new UsageError(`--range must start on a megabyte boundary (a multiple of 1048576): ${a}`);
    if ((b + 1) % MiB) process.stderr.write(`glacier-job: warning: --range ends off a megabyte boundary; Glacier accepts that only at the end of the archive\n`);
    p.RetrievalByteRange = `${a}-${b}`;
  }
  if (argv.description !== undefined) p.Description = checkDescription(String(argv.description));
  if (argv.sns !== undefined) p.SNSTopic = String(argv.sns);
  return p;
}

function downloadOptions(argv: Argv): { pieceSize: number; concurrency: number } {
  const pieceSize = argv['piece-size'] === undefined ? 16 * MiB : sizeOption(argv, 'piece-size')!;
  if (pieceSize < MiB || (pieceSize / MiB) & (pieceSize / MiB - 1) || pieceSize > 4096 * MiB) throw new UsageError(`invalid --piece-size: 1 MiB x 2^n`);
  const concurrency = Number(argv.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`invalid --concurrency "${argv.concurrency}"`);
  return { pieceSize, concurrency };
}

/** Bad options of output and get are refused before any request: get must not start a retrieval it then drops. */
function checkOutputOptions(argv: Argv): void {
  downloadOptions(argv);
  duration(argv, 'interval', '60s');
  duration(argv, 'timeout', '48h');
  if (argv.range !== undefined) parseRange(String(argv.range));
}

async function output(c: Common, t: JobTarget, argv: Argv, job: GlacierJobDescription): Promise<void> {
  const jobId = job.JobId!;
  if (job.StatusCode === 'InProgress') {
    if (!argv.wait && argv._[0] === 'output') throw new NotReadyError(`job ${jobId} is still in progress; wait with: glacier-job wait -v ${c.vault} ${jobId} (or add --wait)`);
    job = await waitFor(t, jobId, duration(argv, 'interval', '60s'), duration(argv, 'timeout', '48h'));
  }
  if (job.StatusCode === 'Failed') throw new ServiceError(`job ${jobId} failed: ${job.StatusMessage}`);
  const out = argv.out === undefined ? undefined : String(argv.out);
  if (!out && process.stdout.isTTY && !argv.archives && job.Action === 'ArchiveRetrieval') throw new UsageError('refusing to write an archive to a terminal: pipe it, or use -o FILE');

  if (job.Action !== 'ArchiveRetrieval') {
    // Inventories carry no tree hash (Glacier sends none for them); they are streamed, never held whole.
    const r = await c.client.send(new GetJobOutputCommand({ accountId: c.accountId, vaultName: c.vault, jobId }), { abortSignal: interruption.signal });
    const body = r.body as Readable;
    if (argv.archives) {
      const format = formatOf(r.contentType, job.InventoryRetrievalParameters?.Format);
      const outStream = process.stdout;
      for await (const a of readInventory(body, format)) {
        if (!outStream.write(`${JSON.stringify(a)}\n`)) await once(outStream, 'drain');
      }
    } else if (out) {
      await pipeline(body, createWriteStream(out));
    } else await pipeline(body, process.stdout, { end: false });
    return;
  }
  if (argv.archives) throw new UsageError(`--archives needs an inventory job; ${jobId} is an archive retrieval`);

  const [rs, re] = (job.RetrievalByteRange ?? `0-${job.ArchiveSizeInBytes! - 1}`).split('-').map(Number);
  const geo = { rangeStart: rs, rangeEnd: re, archiveSize: Number(job.ArchiveSizeInBytes) };
  const total = re - rs + 1;
  if (!jobIsVerifiable(geo)) {
    throw new IntegrityError(`job ${jobId} retrieved bytes ${rs}-${re}, which is not a tree-hash-aligned range, so Glacier gives no hash to verify it; retrieve the whole archive or an aligned range`);
  }
  let [from, to] = [0, total - 1];
  if (argv.range !== undefined) {
    [from, to] = parseRange(String(argv.range));
    if (to >= total) throw new UsageError(`--range ${argv.range} goes past the end of the output (${total} bytes)`);
    if ((rs + from) % MiB) throw new UsageError(`--range must start on a megabyte boundary of the archive`);
  }
  const { pieceSize, concurrency } = downloadOptions(argv);
  let pieces;
  try {
    pieces = planPieces(geo, from, to, pieceSize);
  } catch (e) {
    throw new IntegrityError(`${(e as Error).message}: Glacier gives no hash for it; choose a range on tree-hash boundaries`);
  }
  const pool = new HashPool();
  const progress = new Progress('glacier-job', c.progress, to - from + 1, 'received');
  let file: FileSink | undefined;
  try {
    let combiner;
    if (out) {
      const opened = await FileSink.open(out, { jobId, vault: c.vault, from, to });
      file = opened.sink;
      if (opened.resumed > 0) {
        combiner = await file.rehashPrefix(pool);
        pieces = planPieces(geo, from + opened.resumed, to, pieceSize); // none when it was all verified already
        if (!c.quiet) process.stderr.write(`glacier-job: resuming ${out} after ${opened.resumed} verified bytes\n`);
        progress.add(opened.resumed);
      }
    }
    const done = await download({
      client: c.client, pool, vault: c.vault, accountId: c.accountId, jobId, pieces, pieceSize, concurrency, combiner,
      sink: file ?? stdoutSink(), signal: interruption.signal, onBytes: (n) => progress.add(n), warn: c.quiet ? undefined : c.warn,
    });
    progress.finish();
    // The whole is checked too: every piece matched already, so a mismatch here means Glacier disagrees with itself.
    const whole = from === 0 && to === total - 1 ? job.SHA256TreeHash : null;
    if (whole && done.treeHash !== whole) throw new IntegrityError(`the output's tree hash ${done.treeHash} does not match the job's ${whole}`);
    await file?.finish();
  } finally {
    await file?.close();
    await pool.close();
  }
}

run(spec, async (argv) => {
  const sub = String(argv._[0] ?? '');
  if (!(sub in SUBCOMMANDS)) throw new UsageError(sub ? `unknown subcommand "${sub}" (see --help)` : 'no subcommand: retrieve, inventory, describe, list, wait, output or get (see --help)');
  const allowed = new Set([...SUBCOMMANDS[sub], ...spec.string!.filter((s) => ['vault', 'region', 'profile', 'endpoint', 'account-id'].includes(s)), 'quiet', 'progress', 'debug', 'help', 'version']);
  for (const k of Object.keys(argv)) {
    if (k === '_' || k.length === 1 || argv[k] === undefined || argv[k] === false) continue;
    if (!allowed.has(k)) throw new UsageError(`--${k} does not apply to "${sub}"`);
  }
  const c = common('glacier-job', argv);
  const t: JobTarget = { client: c.client, vault: c.vault, accountId: c.accountId, signal: interruption.signal };
  try {
    switch (sub) {
      case 'retrieve':
        return jobLine(await initiate(t, retrievalParams(argv, one(argv, 'archive id'))));
      case 'inventory': {
        if (argv._.length > 1) throw new UsageError('inventory takes no arguments');
        const format = String(argv.format ?? 'JSON').toUpperCase();
        if (format !== 'JSON' && format !== 'CSV') throw new UsageError(`invalid --format "${argv.format}": JSON or CSV`);
        const ip: Record<string, string> = {};
        for (const [opt, key] of [['start-date', 'StartDate'], ['end-date', 'EndDate']] as const) {
          if (argv[opt] === undefined) continue;
          const d = new Date(String(argv[opt]));
          if (Number.isNaN(d.getTime())) throw new UsageError(`invalid --${opt} "${argv[opt]}": a date like 2026-01-31 or 2026-01-31T12:00:00Z`);
          ip[key] = d.toISOString().replace(/\.\d{3}Z$/, 'Z');
        }
        if (argv.limit !== undefined) {
          if (!/^[1-9]\d*$/.test(String(argv.limit))) throw new UsageError(`invalid --limit "${argv.limit}"`);
          ip.Limit = String(argv.limit);
        }
        const p: JobParameters = { Type: 'inventory-retrieval', Format: format, ...(Object.keys(ip).length ? { InventoryRetrievalParameters: ip } : {}) };
        if (argv.description !== undefined) p.Description = checkDescription(String(argv.description));
        if (argv.sns !== undefined) p.SNSTopic = String(argv.sns);
        return jobLine(await initiate(t, p));
      }
      case 'describe':
        return jobLine(await describe(t, one(argv, 'job id')));
      case 'list': {
        const filter: { completed?: string; statuscode?: string } = {};
        if (argv.completed !== undefined) {
          if (argv.completed !== 'true' && argv.completed !== 'false') throw new UsageError(`invalid --completed "${argv.completed}": true or false`);
          filter.completed = argv.completed;
        }
        if (argv.status !== undefined) {
          if (!['InProgress', 'Succeeded', 'Failed'].includes(argv.status)) throw new UsageError(`invalid --status "${argv.status}": InProgress, Succeeded or Failed`);
          filter.statuscode = argv.status;
        }
        for await (const j of listJobs(t, filter)) jobLine(j);
        return;
      }
      case 'wait': {
        const jobId = one(argv, 'job id');
        return jobLine(await waitFor(t, jobId, duration(argv, 'interval', '60s'), duration(argv, 'timeout', '48h')));
      }
      case 'output': {
        const jobId = one(argv, 'job id');
        checkOutputOptions(argv);
        return await output(c, t, argv, await describe(t, jobId));
      }
      case 'get': {
        const archiveId = one(argv, 'archive id');
        checkOutputOptions(argv);
        const job = await initiate(t, retrievalParams(argv, archiveId));
        if (!c.quiet) process.stderr.write(`glacier-job: job ${job.JobId} started (${job.Tier}); waiting for it\n`);
        return await output(c, t, argv, job);
      }
    }
  } catch (e) {
    const err = explain(e, { vault: c.vault, endpoint: c.endpoint });
    const name = (e as Error)?.name;
    if (name === 'InvalidParameterValueException' || name === 'MissingParameterValueException') throw new UsageError(err.message);
    if (name === 'ResourceNotFoundException' && /job ID/i.test((e as Error).message)) throw new ServiceError(`${(e as Error).message} (in vault "${c.vault}": a job belongs to the vault it was started in)`);
    throw err;
  }
});
