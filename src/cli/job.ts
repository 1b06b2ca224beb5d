// glacier-job: retrieval and inventory jobs, and their output streamed to stdout, verified.
import type { GlacierJobDescription, JobParameters } from '@aws-sdk/client-glacier';
import { NotReadyError, ServiceError, UsageError } from '../core/errors.js';
import { MiB } from '../core/tree-hash.js';
import { durationArg, formatBytes } from '../core/units.js';
import { formatTable, shortDate, type Column } from './table.js';
import { GlacierError } from '../core/glacier.js';
import { describe, initiate, listJobs, waitFor, type JobTarget } from '../retrieve/jobs.js';
import { writeJobOutput } from '../retrieve/output.js';
import { startRetrieval, type RetrievalRequest } from '../retrieve/retrieval.js';
import { checkDescription, common, COMMON_BOOLEANS, COMMON_HELP, COMMON_STRINGS, explain, rateHelp, RATE_STRINGS, sizeOption, withCommon, type Common } from './common.js';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Progress, WaitLine } from './progress.js';
import { nearest, run, type Argv } from './runtime.js';

const usage = `Usage: glacier-job SUBCOMMAND -v VAULT [options]

  retrieve ARCHIVE_ID [--tier Expedited|Standard|Bulk] [--range FIRST-LAST [--archive-size N]] [-d DESC] [--sns TOPIC]
  inventory [--format JSON|CSV] [--start-date DATE] [--end-date DATE] [--limit N]
            start a job; print it as one JSON line
  describe JOB_ID                  the job as one JSON line
  list [--completed true|false] [--status InProgress|Succeeded|Failed]
                                   every job of the vault, one JSON line each (all pages)
  wait JOB_ID [--interval 60s] [--timeout 48h]
                                   poll until the job ends: exit 0 succeeded, 1 failed, 4 still running
  output JOB_ID [--wait] [--range FIRST-LAST] [-o FILE] [-c N] [--archives] [--unverified]
                                   the job's output to stdout (or FILE): parallel ranged GETs written in
                                   order, each piece checked against Glacier's tree hash before it is written
                                   and fetched again if it fails or is not the piece asked for (its
                                   Content-Range, length or status says so); the whole is checked too. With -o,
                                   an interrupted download resumes (FILE.partial, 0600, locked), by this job or
                                   any other for the same archive bytes, its kept bytes checked again; FILE
                                   appears only when complete (a whole that does not match: the next run starts
                                   over). An inventory cut short is continued from the next byte, until the size
                                   its job gives. --archives: an inventory (streamed, any size) as
                                   one JSON line per archive, with "Name": the name glacier-restore gives it
                                   (decoded from the description, before de-duplication).
  get ARCHIVE_ID [--tier ...] [--range FIRST-LAST] [-o FILE] [--interval 60s] [-d DESC] [--sns TOPIC]
                                   retrieve, wait and output in one command

Options:
  --tier T          retrieval tier (default Standard; Expedited minutes, Bulk hours)
  --range A-B       retrieve: a megabyte-aligned byte range of the archive; one that is not tree-hash aligned
                    is retrieved as the smallest aligned range covering it (said on stderr) and output gives
                    exactly A-B (recorded in $XDG_STATE_HOME/glacier-pipes/jobs/). output: a byte range of the output
  --archive-size N  retrieve --range: the archive's size in bytes, when the aligned range could pass its end
  --unverified      output: take bytes Glacier sends no tree hash for (a job not tree-hash aligned), with a
                    warning, instead of refusing them (exit 3)
  -c, --concurrency N   ranged GETs in flight (default 4)
  --piece-size SIZE     bytes per ranged GET, 1 MiB x 2^n (default 16M; 64M with -o FILE)
${rateHelp()}
  -o FILE               output/get: write FILE (via FILE.partial) instead of stdout; -o - is stdout. Pieces
                        of 4 MiB or more go past the page cache (O_DIRECT) where the file system allows it,
                        from 8 MiB of buffers per GET, 64 MiB at most (a GET past that: through it);
                        GLACIER_NO_DIRECT=1 writes through it
  --interval D, --timeout D   polling of wait/get/--wait (durations: 30s, 15m, 4h, 1h30m); the first poll
                        is at once; with progress on, a line shows the job's status and the time waited
${COMMON_HELP}

Exit: 0 done, 1 failed (service, network, job failed), 2 bad usage, 3 integrity failure (data could not be
verified; nothing unverified is written), 4 job not ready yet, 129/130/143 interrupted.

Examples:
  glacier-job get -v backups ARCHIVE_ID --tier Expedited --interval 30s | tar -xJf -
  glacier-job retrieve -v backups ARCHIVE_ID          # then later:
  glacier-job output -v backups JOB_ID --wait -o restore.tar.xz --limit-rate 5M
  glacier-job inventory -v backups | jq -r .JobId
  glacier-job output -v backups JOB_ID --archives | jq -r .ArchiveId
`;

const SUBCOMMANDS: Record<string, string[]> = {
  retrieve: ['tier', 'range', 'archive-size', 'description', 'sns'],
  inventory: ['format', 'start-date', 'end-date', 'limit', 'description', 'sns'],
  describe: [],
  list: ['completed', 'status'],
  wait: ['interval', 'timeout'],
  output: ['wait', 'range', 'out', 'concurrency', 'archives', 'piece-size', 'interval', 'timeout', 'unverified', ...RATE_STRINGS],
  get: ['tier', 'range', 'archive-size', 'out', 'concurrency', 'interval', 'timeout', 'piece-size', 'description', 'sns', 'unverified', ...RATE_STRINGS],
};

const spec = withCommon({
  name: 'glacier-job',
  usage,
  string: ['tier', 'range', 'archive-size', 'description', 'sns', 'format', 'start-date', 'end-date', 'limit', 'completed', 'status', 'interval', 'timeout', 'out', 'concurrency', 'piece-size', ...RATE_STRINGS],
  boolean: ['wait', 'archives', 'unverified'],
  alias: { d: 'description', o: 'out', c: 'concurrency' },
});

const TIERS = ['Expedited', 'Standard', 'Bulk'];

const JOB_COLUMNS: Column<GlacierJobDescription>[] = [
  { title: 'JOB ID', value: (j) => j.JobId },
  { title: 'ACTION', value: (j) => j.Action },
  { title: 'STATUS', value: (j) => j.StatusCode },
  { title: 'TIER', value: (j) => j.Tier },
  { title: 'SIZE', value: (j) => (j.ArchiveSizeInBytes ?? j.InventorySizeInBytes) === undefined ? undefined : formatBytes(Number(j.ArchiveSizeInBytes ?? j.InventorySizeInBytes)), right: true },
  { title: 'CREATED', value: (j) => shortDate(j.CreationDate) },
  { title: 'DESCRIPTION', value: (j) => j.JobDescription },
];

function jobLine(job: GlacierJobDescription): void {
  process.stdout.write(`${JSON.stringify(job)}\n`);
}

function duration(argv: Argv, name: string, dflt: string): number {
  return durationArg(`--${name}`, argv[name] ?? dflt, { positive: true });
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

/** Starts a retrieval from argv; a range widened to a tree-hash-aligned one is said on stderr. */
async function retrieve(c: Common, t: JobTarget, argv: Argv, archiveId: string): Promise<GlacierJobDescription> {
  const tier = String(argv.tier ?? 'Standard');
  if (!TIERS.includes(tier)) throw new UsageError(`unknown --tier "${tier}": Expedited, Standard or Bulk`);
  // Bytes, as an inventory's Size gives it (a bare number is bytes here, not MiB as for part sizes).
  const rawSize = argv['archive-size'] === undefined ? undefined : String(argv['archive-size']);
  const size = rawSize === undefined ? undefined : /^\d+$/.test(rawSize) ? Number(rawSize) : sizeOption(argv, 'archive-size');
  if (size !== undefined && (!Number.isSafeInteger(size) || size < 1)) throw new UsageError(`invalid --archive-size "${rawSize}": the archive's size in bytes`);
  const range = argv.range === undefined ? undefined : parseRange(String(argv.range));
  const { job, widened: w } = await startRetrieval(t, {
    archiveId, tier: tier as RetrievalRequest['tier'], range: range && { first: range[0], last: range[1] }, archiveSize: size,
    description: argv.description === undefined ? undefined : checkDescription(String(argv.description)),
    snsTopic: argv.sns === undefined ? undefined : String(argv.sns),
  });
  if (w && !c.quiet) {
    const { asked: a, retrieved: r } = w;
    process.stderr.write(
      `glacier-job: --range ${a.first}-${a.last} is not tree-hash aligned, so Glacier could not verify it; retrieving ${r.first}-${r.last} instead, ${w.extraBytes} bytes more (${(w.extraBytes / MiB).toFixed(1)} MiB). ` +
        `output gives exactly ${a.first}-${a.last} (recorded in ${w.recordedIn}; elsewhere use: output --range ${a.first - r.first}-${a.last - r.first})\n`,
    );
  }
  return job;
}

function downloadOptions(argv: Argv): { pieceSize?: number; concurrency: number } {
  const pieceSize = argv['piece-size'] === undefined ? undefined : sizeOption(argv, 'piece-size')!;
  if (pieceSize !== undefined && (pieceSize < MiB || (pieceSize / MiB) & (pieceSize / MiB - 1) || pieceSize > 4096 * MiB)) throw new UsageError(`invalid --piece-size: 1 MiB x 2^n`);
  const concurrency = Number(argv.concurrency ?? 4);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new UsageError(`invalid --concurrency "${argv.concurrency}"`);
  return { pieceSize, concurrency };
}

/** Bad options of output and get are refused before any request: get must not start a retrieval it then drops. */
function checkOutputOptions(argv: Argv): void {
  downloadOptions(argv);
  outFile(argv);
  duration(argv, 'interval', '60s');
  duration(argv, 'timeout', '48h');
  if (argv.range !== undefined) parseRange(String(argv.range));
}

/** Polls until the job is done (the first poll at once), with a line giving its status and the time waited. */
async function waitShown(c: Common, t: JobTarget, argv: Argv, jobId: string): Promise<GlacierJobDescription> {
  const line = new WaitLine('glacier-job', c.progress, `job ${jobId.length > 16 ? `${jobId.slice(0, 12)}...` : jobId}`);
  try {
    return await waitFor(t, jobId, duration(argv, 'interval', '60s'), duration(argv, 'timeout', '48h'), (j) => line.update(j.StatusCode ?? 'unknown'));
  } finally {
    line.finish();
  }
}

/** -o FILE: '-' is stdout; a FILE whose folder does not exist is refused before any request (exit 2). */
function outFile(argv: Argv): string | undefined {
  if (argv.out === undefined || argv.out === '-') return undefined;
  const out = String(argv.out);
  const dir = dirname(out);
  if (!existsSync(dir)) throw new UsageError(`cannot write -o ${out}: no such folder ${dir}`);
  if (!statSync(dir).isDirectory()) throw new UsageError(`cannot write -o ${out}: ${dir} is not a folder`);
  const st = statSync(out, { throwIfNoEntry: false });
  if (st?.isDirectory()) throw new UsageError(`cannot write -o ${out}: is a folder`);
  // FILE appears by a rename of FILE.partial over it: a device or a pipe (-o /dev/null) would be replaced by a file.
  if (st && !st.isFile()) throw new UsageError(`cannot write -o ${out}: not a regular file (FILE is replaced by the verified download); for a device or a pipe write to stdout: glacier-job output ... > ${out}`);
  return out;
}

async function output(c: Common, t: JobTarget, argv: Argv, job: GlacierJobDescription): Promise<void> {
  const jobId = job.JobId!;
  if (job.StatusCode === 'InProgress') {
    if (!argv.wait && argv._[0] === 'output') throw new NotReadyError(`job ${jobId} is still in progress; wait with: glacier-job wait -v ${c.vault} ${jobId} (or add --wait)`);
    job = await waitShown(c, t, argv, jobId);
  }
  if (job.StatusCode === 'Failed') throw new ServiceError(`job ${jobId} failed: ${job.StatusMessage}`);
  const out = outFile(argv);
  if (!out && process.stdout.isTTY && !argv.archives && job.Action === 'ArchiveRetrieval') throw new UsageError('refusing to write an archive to a terminal: pipe it, or use -o FILE');
  // For get, --range is the retrieval's (recorded by startRetrieval); for output, a range of the job's output.
  const range = argv._[0] === 'output' && argv.range !== undefined ? parseRange(String(argv.range)) : undefined;
  const progress = new Progress('glacier-job', c.progress, 0, 'received');
  await writeJobOutput({
    target: t, job,
    to: out ? { file: out } : { stream: process.stdout },
    archives: Boolean(argv.archives),
    range: range && { from: range[0], to: range[1] },
    ...downloadOptions(argv),
    unverified: Boolean(argv.unverified),
    onTotal: (bytes, resumed) => {
      progress.setTotal(bytes);
      progress.add(resumed);
    },
    onBytes: (n) => progress.add(n),
    warn: c.warn,
    info: c.quiet ? undefined : (m) => process.stderr.write(`glacier-job: ${m}\n`),
  });
  progress.finish();
}

run(spec, async (argv) => {
  const sub = String(argv._[0] ?? '');
  if (!(sub in SUBCOMMANDS)) throw new UsageError(sub ? `unknown subcommand "${sub}"${nearest(sub, Object.keys(SUBCOMMANDS)) ? `; did you mean ${nearest(sub, Object.keys(SUBCOMMANDS))}?` : ' (see --help)'}` : 'no subcommand: retrieve, inventory, describe, list, wait, output or get (see --help)');
  const allowed = new Set([...SUBCOMMANDS[sub], ...COMMON_STRINGS, ...COMMON_BOOLEANS, 'debug', 'help', 'version']);
  for (const k of Object.keys(argv)) {
    if (k === '_' || k.length === 1 || argv[k] === undefined || argv[k] === false) continue;
    if (!allowed.has(k)) throw new UsageError(`--${k} does not apply to "${sub}"`);
  }
  const c = common('glacier-job', argv);
  const t: JobTarget = { glacier: c.glacier, vault: c.vault };
  try {
    switch (sub) {
      case 'retrieve':
        return jobLine(await retrieve(c, t, argv, one(argv, 'archive id')));
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
        if (argv.json || !process.stdout.isTTY) {
          for await (const j of listJobs(t, filter)) jobLine(j);
          return;
        }
        // On a terminal, an aligned table (as glacier-ls prints); --json or a pipe gets JSON lines.
        const jobs: GlacierJobDescription[] = [];
        for await (const j of listJobs(t, filter)) jobs.push(j);
        process.stdout.write(formatTable(jobs, JOB_COLUMNS));
        return;
      }
      case 'wait': {
        const jobId = one(argv, 'job id');
        return jobLine(await waitShown(c, t, argv, jobId));
      }
      case 'output': {
        const jobId = one(argv, 'job id');
        checkOutputOptions(argv);
        return await output(c, t, argv, await describe(t, jobId));
      }
      case 'get': {
        const archiveId = one(argv, 'archive id');
        checkOutputOptions(argv);
        const job = await retrieve(c, t, argv, archiveId);
        if (!c.quiet) process.stderr.write(`glacier-job: job ${job.JobId} started (${job.Tier}); waiting for it\n`);
        return await output(c, t, argv, job);
      }
    }
  } catch (e) {
    const err = explain(e, { vault: c.vault, endpoint: c.endpoint });
    const name = e instanceof GlacierError ? e.code : (e as Error)?.name;
    if (name === 'InvalidParameterValueException' || name === 'MissingParameterValueException') throw new UsageError(err.message);
    if (name === 'ResourceNotFoundException' && /job ID/i.test((e as Error).message)) throw new ServiceError(`${(e as Error).message} (in vault "${c.vault}": a job belongs to the vault it was started in, and is forgotten about 24 hours after it finished)`);
    throw err;
  }
});
