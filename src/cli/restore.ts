// glacier-restore: every archive of a vault to a folder, a command or S3, paced, resumable, verified.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { growOldGenerationSlowly } from '../core/heap.js';
import { UsageError } from '../core/errors.js';
import { formatBytes, parseDuration } from '../core/units.js';
import { checked, checkInventory, inventoryArchives, inventoryFromJob, jsonLines } from '../restore/input.js';
import { describeVault } from '../core/operations.js';
import { lockDestination } from '../restore/dest-lock.js';
import { Journal, type RunSnapshot } from '../restore/journal.js';
import { readStatus } from '../restore/status.js';
import { oldestFirst } from '../restore/order.js';
import { Namer } from '../restore/names.js';
import { daysAt, paceFor, plan, type Plan } from '../restore/plan.js';
import { DEFAULT_PRICES, readPrices, priceOf, S3_OBJECT_OVERHEAD, type Cost } from '../restore/prices.js';
import { restore, type Stats } from '../restore/restore.js';
import { parseS3Url, S3Sink, STORAGE_CLASSES } from '../restore/s3-sink.js';
import { parseShard } from '../restore/shard.js';
import { DirSink, ExecSink, type ArchiveSink } from '../restore/sinks.js';
import { common, COMMON_HELP, explain, rateHelp, RATE_STRINGS, sizeOption, withCommon } from './common.js';
import { interruption, run, type Argv } from './runtime.js';

const usage = `Usage: glacier-restore -v VAULT (--to DIR | --to s3://BUCKET/PREFIX | --exec CMD) [options]

Restores every archive of a vault (or those given on stdin) over days: starts retrieval jobs at the pace set,
downloads each completed job verified piece by piece against Glacier's tree hashes and whole, and hands it to
the destination. Stop it at any moment (even kill -9) and run the same command again: it continues; nothing done
is retrieved twice.

Input (one of):
  stdin                 archives as JSON lines, as glacier-job output --archives prints them (filter with jq)
  --inventory JOB_ID|FILE   an inventory job's output, or an inventory file (JSON or CSV); one of another
                        vault (its VaultARN) is refused; a CSV inventory names no vault: when none of its
                        archives is in the vault, exit 2
  (neither)             an inventory job is started, waited for, and its output kept next to the state file;
                        reruns use the kept one (warned about when the vault has a newer inventory)
  --refresh-inventory   start a new inventory job instead of using the kept one
  From an inventory, archives are requested oldest first (CreationDate, then archive id; sorted in bounded
  memory through temp files under $TMPDIR); stdin keeps its order.

Destination (one of):
  --to DIR              DIR/NAME, written as NAME.partial and renamed when verified (an archive of up to 1 MiB:
                        written to a temp file .glacier-restore-HOSTHASH-PID-RANDOM.tmp, HOSTHASH the first 8
                        hex digits of the SHA-256 of the host name, RANDOM 12 hex digits, and linked to NAME
                        when verified); mtime from the description (an mt-aws-glacier mtime that is no time: the
                        CreationDate). Pieces of 4 MiB or more are written past the page cache (O_DIRECT),
                        64 MiB of buffers in all (a piece starting beyond that goes through it), where the
                        file system allows it; GLACIER_NO_DIRECT=1 writes through it
  --to s3://BUCKET/PREFIX   one S3 multipart upload per archive, a SHA-256 per part that S3 checks; the archive
                        id, description and tree hash in the object's metadata (x-amz-meta-glacier-*); the
                        endpoint from AWS_ENDPOINT_URL_S3 or the profile. Parts are streamed (memory does not
                        grow with --part-size; a part S3 holds up to 16M is kept while it is compared, a
                        foreign one sent again); an upload stopped part way (an expired job, a stopped run) is
                        continued by the next job after the parts S3 confirmed (recorded in the state); an
                        object of another archive is never replaced: the archive gets another name
  --exec CMD            CMD run by /bin/sh per archive with its bytes on stdin and GLACIER_ARCHIVE_ID,
                        GLACIER_NAME, GLACIER_SIZE, GLACIER_TREE_HASH, GLACIER_DESCRIPTION, GLACIER_CREATION_DATE
                        in its environment; done when it exits 0 (its stdout goes to stderr); when the run
                        is stopped its process group (CMD and what it started) gets SIGTERM, then SIGKILL
                        10 s later. A job that expires part way: CMD keeps its stdin open and the next job
                        writes on from where it stopped (the whole archive's tree hash checked at the end; a
                        mismatch gets CMD SIGTERM)

Options:
  --tier T              Bulk (default), Standard or Expedited
  --max-jobs N          retrieval jobs outstanding at most (default 100); fewer while jobs this run
                        started (or saw in progress) expire before their turn to download
  --max-bytes-per-day SIZE  bytes of retrievals started per 24 h at most (e.g. 500G)
  --pace-window D       the window --max-bytes-per-day counts over (default 24h)
  -c, --concurrency N   archives downloading at once (default 2)
  --interval D          how often to ask about jobs, by ListJobs pages (default 15m; the first time at once; a
                        job started later is first asked about at most 5 s, or D, after the last poll)
  --state FILE          the journal (default $XDG_STATE_HOME/glacier-pipes/restore-VAULT-HASH.jsonl, mode 0600)
  --names CSV           ArchiveId,FileName lines naming archives (overrides descriptions)
  --shard K/N           only archives whose id hashes to K of N (0 <= K < N): N hosts split a vault
  --storage-class C     S3 storage class (default DEEP_ARCHIVE)
  --part-size SIZE      S3 part size (default 16M; 5M to 5G; raised to fit 10,000 parts; a continued
                        upload keeps its own). A part cut by a job's expiry halves the archive's parts after
                        it (not below 5M, kept in the state); a job that gives no whole 5M part fails the
                        archive for this run (a higher --limit-rate, or fewer -c, is what helps)
  --dry-run             print the plan (names, totals, days at the pace set, cost: S3 storage with its 40 KB
                        per object in GLACIER and DEEP_ARCHIVE); start nothing; a plan
                        longer than 30 days warns with the --max-jobs that takes about a week
  --prices FILE         a price table (JSON) for --dry-run's cost instead of the project's (see README)
${rateHelp()}
${COMMON_HELP}

Names: decoded from the descriptions mt-aws-glacier (mt1, mt2), FastGlacier and CloudBerry (UTF-7 paths)
write, else the description itself (glacier-put's default is the file name), else (blank) the archive id; the
Name field of glacier-job output --archives lines. \\ separates folders only in Windows clients' paths
(FastGlacier, CloudBerry, a description C:\\..., \\\\server\\..., .\\... or ..\\...); elsewhere it is a character of
the name (we\\ird.txt is one file). A name never leaves DIR or PREFIX ('..' and absolute paths are made safe;
NUL, control characters (C0, C1) and bidirectional overrides and isolates become _; a name of the run's own
files, as NAME.partial or .glacier-restore-*, in any case, gets _ after it), is at most 255 bytes a component
(a cut name keeps its extensions, as .tar.gz), and belongs to its archive: recorded in the state before its job
starts, never changed, never given to another archive. A name another archive holds (in the state, or a file
of other bytes in DIR, compared case-insensitively when DIR is) gets ~HASH of the archive id; so does an archive
whose name another process took in DIR after it was recorded, or whose NAME.partial or NAME.partial.json is a
link or no file (that is left as it is, never followed; said on stderr, the new name recorded). Of archives
sharing a name the first named keeps it: from an inventory the oldest, whatever the file's order; from stdin the
first line seen. A folder marker ("photos/") becomes a folder. An archive stored compressed or encrypted by
FastGlacier or CloudBerry is restored as stored, with "encoding" in its line.
Files: complete files and folders get the umask's mode (.partial files, temp files and the state 0600); a temp
file a killed run left is removed by the next run writing into its folder; no symbolic link below DIR is
followed; an existing file is never replaced; --state may not lie inside DIR (exit 2). One run writes into DIR at a
time: a run holds DIR/.glacier-restore-run.lock (--shard K/N: .glacier-restore-run-K-of-N.lock, so the shards of
one N share a folder) until it ends; another run into DIR (by any path to it, with any --state, or of a shard that
shares archives with the holder's) exits 2 naming the holder's pid and host; a killed run's lock is taken over on
its host (another host's: remove it once that run is gone).

Jobs: retrieval jobs already in progress or succeeded in the vault for these archives (ListJobs) are taken up,
and the destination is asked before a job starts: nothing is paid for twice, even with the state file lost. A
verified NAME.partial (an S3 upload's confirmed parts, a command's open stdin) outlives its job: the next job
continues it. Jobs that expire before their download make the run keep fewer outstanding (stderr names the
--max-jobs to use), rising back a step a round once jobs drain in time again. A job whose size or tree hash
disagrees with the input line is refused before anything is written (status integrity); one already in the vault
for the archive is taken up for that even when the line's Size is wrong (no second job). That line is refused on
later runs with no job started; a corrected line takes up the job already paid for.

Status from another shell (reads the state only; no request to the vault):
  --status              where the run of this --state (or of these -v and --to) stands: archives done, failed,
                        missing, jobs waiting and ready, bytes done of the total, last update, ETA (a lower
                        bound until the input is read to its end), what holds the next job; a table on a
                        terminal, one JSON line otherwise or with --json; a -v or --to the state does not
                        record is warned about. Archives and bytes done are those the state records done
                        (the running one's too); jobs waiting, ready and downloading add up to the jobs
                        outstanding; the total is never below the bytes done
  glacier-restore --status --state FILE [--json]

Output: one JSON line per archive {"archiveId","name","size","status","to",...} (status done, failed,
integrity, or missing: deleted from the vault since the inventory, not retried, kept in the state; "refused":
true for an archive the destination can never take, e.g. a description with a NUL for --exec, reported failed on
every run but never given a job), then a summary line; progress on stderr (a line a second on a terminal; with
--progress off a terminal, as in cron, a line a minute starting with an ISO time; the rate counts this run's
bytes; the line says what holds the next job: --max-jobs, or the --max-bytes-per-day budget until a time).
Exit: 0 every archive done (or missing), 1 some failed (each named on stderr), 2 bad usage (or none of the
archives of a CSV inventory or of stdin is in the vault: another vault's), 3 integrity failure, 129/130/143
interrupted (run it again to continue).

Examples:
  glacier-restore -v photos --to ~/restored --max-bytes-per-day 200G
  glacier-job output -v photos JOB_ID --archives | jq -c 'select(.Size > 0)' | glacier-restore -v photos --to s3://bucket/photos/
  glacier-restore -v photos --inventory inv.json --shard 1/3 --exec 'mkdir -p "$(dirname "/data/$GLACIER_NAME")" && gpg -d > "/data/$GLACIER_NAME"'
`;

const spec = withCommon({
  name: 'glacier-restore',
  usage,
  string: ['to', 'exec', 'inventory', 'tier', 'max-jobs', 'max-bytes-per-day', 'pace-window', 'concurrency', 'interval', 'state', 'names', 'shard', 'storage-class', 'part-size', 'prices', ...RATE_STRINGS],
  boolean: ['dry-run', 'refresh-inventory', 'status'],
  alias: { c: 'concurrency' },
});

function int(argv: Argv, name: string, dflt: number, max: number): number {
  const v = argv[name] ?? String(dflt);
  if (!/^[1-9]\d*$/.test(String(v)) || Number(v) > max) throw new UsageError(`invalid --${name} "${v}": a whole number from 1 to ${max}`);
  return Number(v);
}

function duration(argv: Argv, name: string, dflt: string): number {
  const ms = parseDuration(String(argv[name] ?? dflt));
  if (!Number.isFinite(ms) || ms <= 0) throw new UsageError(`invalid --${name} "${argv[name]}": a duration like 30s, 15m, 4h`);
  return ms;
}

/** CSV of ArchiveId,FileName (RFC 4180 quoting; a header line is skipped). */
function readNames(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --names ${path}: ${(e as Error).message}`);
  }
  const map = new Map<string, string>();
  text.split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    const f = rfc4180(line);
    if (f.length < 2) throw new UsageError(`--names ${path} line ${i + 1}: expected ArchiveId,FileName`);
    if (i === 0 && f[0] === 'ArchiveId') return;
    map.set(f[0], f.slice(1).join(','));
  });
  return map;
}

function rfc4180(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    let f = '';
    if (line[i] === '"') {
      i++;
      for (; i < line.length; i++) {
        if (line[i] === '"' && line[i + 1] === '"') f += line[i++];
        else if (line[i] === '"') break;
        else f += line[i];
      }
      i++;
    } else while (i < line.length && line[i] !== ',') f += line[i++];
    out.push(f);
    if (line[i] !== ',') break;
    i++;
  }
  return out;
}

/** A byte budget as an option value, rounded up to whole MiB (or GiB past 10 GiB). */
const sizeArg = (b: number): string => (b > 10 * 2 ** 30 ? `${Math.ceil(b / 2 ** 30)}G` : `${Math.ceil(b / 2 ** 20)}M`);
const sizeArgBytes = (b: number): number => (b > 10 * 2 ** 30 ? Math.ceil(b / 2 ** 30) * 2 ** 30 : Math.ceil(b / 2 ** 20) * 2 ** 20);

/** The plan as a short table for a terminal (stderr): each cost line a total for the plan, with what it counts. */
function planTable(p: Plan, cost: Cost, storageClass: string | undefined): string {
  const $ = (n: number) => `$${n < 100 ? n.toFixed(2) : Math.round(n).toLocaleString('en-US')}`;
  const n = (x: number) => x.toLocaleString('en-US');
  const gb = (p.jobBytes / 2 ** 30).toLocaleString('en-US', { maximumFractionDigits: 1 });
  const rows: [string, string][] = [
    ['archives', `${n(p.archives)} (${n(p.alreadyDone)} done before)`],
    ['to retrieve', `${n(p.jobs)} jobs, ${formatBytes(p.jobBytes)}`],
    ['pace', `${p.tier}, --max-jobs ${p.maxJobs}${p.maxBytesPerDay ? `, --max-bytes-per-day ${formatBytes(p.maxBytesPerDay)}` : ''}`],
    ['takes', `about ${p.days} days`],
    ['retrieval', `${$(cost.retrieval)} in all for ${gb} GB (${p.tier})`],
    ['job requests', `${$(cost.requests)} in all for ${n(p.jobs)} jobs`],
    ['transfer out', `${$(cost.transfer)} in all${cost.transfer ? ` for ${gb} GB` : ''}`],
  ];
  if (storageClass !== undefined) {
    rows.push(['S3 requests', `${$(cost.s3Requests)} in all for ${n(p.s3Requests)} PUT-class requests`]);
    rows.push(['S3 storage', `${$(cost.s3StoragePerMonth)} a month (${storageClass}${S3_OBJECT_OVERHEAD[storageClass] ? ', with 40 KB of overhead per object' : ''})`]);
  }
  rows.push(['total', `${$(cost.total)} (${cost.region} list prices of ${cost.pricesAsOf}; S3 storage counted for one month)`]);
  return `${rows.map(([k, v]) => `  ${k.padEnd(14)}${v}`).join('\n')}\n`;
}

/**
 * One progress line. `bytesBefore`: bytes of archives done before this run (not counted in the rate). `held`: what
 * holds the next job. Off a terminal the line starts with an ISO time (cron logs).
 */
function progressLine(s: Stats, bytesBefore: number, o: { iso: boolean; maxJobs: number }): string {
  const secs = (Date.now() - s.startedAt) / 1000;
  const rate = secs > 0 ? Math.max(0, s.bytesDone - bytesBefore) / secs : 0;
  const left = s.bytes - s.bytesDone;
  const eta = rate > 0 && s.inputDone && left > 0 ? `, ETA ${new Date(Date.now() + (left / rate) * 1000).toISOString().replace(/\.\d+Z$/, 'Z')}` : '';
  const held = !s.heldUntil ? '' : s.heldUntil === Infinity ? `; next job held by --max-jobs ${o.maxJobs}` : `; next job held by the --max-bytes-per-day budget until ${new Date(s.heldUntil).toISOString().replace(/\.\d+Z$/, 'Z')}`;
  const line = `${s.done + s.doneBefore}/${s.archives}${s.inputDone ? '' : '+'} archives, ${formatBytes(s.bytesDone)} of ${formatBytes(s.bytes)}, jobs waiting ${s.waiting} ready ${s.ready}, downloading ${s.downloading}, ${formatBytes(rate)}/s this run${eta}${held}`;
  return o.iso ? `${new Date().toISOString()} ${line}` : line;
}

/** Where the run stands, for the state file (read by --status). */
function snapshotOf(s: Stats, bytesBefore: number, maxJobs: number, ended: boolean): RunSnapshot {
  return {
    at: Date.now(), pid: process.pid, startedAt: s.startedAt, archives: s.archives, inputDone: s.inputDone, bytes: s.bytes, bytesDone: s.bytesDone,
    bytesThisRun: Math.max(0, s.bytesDone - bytesBefore), done: s.done + s.doneBefore, failed: s.failed, integrity: s.integrity,
    missing: (s as { missing?: number }).missing ?? 0, waiting: s.waiting, ready: s.ready, downloading: s.downloading, jobsStarted: s.jobsStarted,
    held: !s.heldUntil ? undefined : s.heldUntil === Infinity ? `--max-jobs ${maxJobs}` : `budget until ${new Date(s.heldUntil).toISOString()}`,
    ...(ended ? { ended } : {}),
  };
}

/**
 * --status: the state's status as a table on a terminal, else (or with --json) one JSON line. `given`: the vault
 * and destination named on the command line, if any: a state recording others is shown with a warning on stderr.
 */
async function showStatus(path: string, json: boolean, given: { vault?: string; target?: string } = {}): Promise<number> {
  const st = await readStatus(path);
  // A folder named through a link is the same folder (as the run's folder lock takes it).
  const sameTarget = (a: string, b: string) => a === b || (!a.includes(':') && !b.includes(':') && realish(a) === realish(b));
  const differs = (given.vault !== undefined && given.vault !== st.vault) || (given.target !== undefined && !sameTarget(given.target, st.target));
  if (differs) {
    const asked = [given.vault !== undefined ? `vault "${given.vault}"` : '', given.target !== undefined ? `to ${given.target}` : ''].filter(Boolean).join(' ');
    process.stderr.write(`glacier-restore: warning: ${path} records a restore of vault "${st.vault}" to ${st.target}, not ${asked}; showing the state's own (drop -v/--to, or give the --state of that run)\n`.replace(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/g, '?'));
  }
  if (json || !process.stdout.isTTY) {
    process.stdout.write(`${JSON.stringify(st)}\n`);
    return 0;
  }
  const rows: [string, string][] = [
    ['state', st.state],
    ['restore', `${st.vault} -> ${st.target}`],
    ['run', st.running ? `running (pid ${st.running})` : 'not running'],
    ['archives', `${st.done} done of ${st.archives}${st.inputComplete ? '' : '+'}; ${st.failed} failed, ${st.integrity} integrity, ${st.missing} missing`],
    ['jobs', `${st.jobsOutstanding} outstanding: ${st.waiting} waiting, ${st.ready} ready, ${st.downloading} downloading`],
    ['bytes', `${formatBytes(st.bytesDone)} of ${formatBytes(st.bytes)}${st.inputComplete ? '' : '+'}`],
    ['rate', `${formatBytes(st.rateBytesPerSecond)}/s (the last run)`],
    ['ETA', st.eta ? `${st.eta}${st.etaLowerBound ? ' at the earliest (the input is not read to its end yet)' : ''}` : '-'],
    ['held by', st.heldBy ?? '-'],
    ['last update', st.lastUpdate ?? '-'],
  ];
  process.stdout.write(`${rows.map(([k, v]) => `${k.padEnd(12)}${v.replace(/[\x00-\x1f\x7f-\x9f]/g, '?')}`).join('\n')}\n`);
  return 0;
}

run(spec, async (argv) => {
  if (argv._.length) throw new UsageError(`unexpected argument "${argv._[0]}" (see --help)`);
  // A record per job outstanding lives for hours: old garbage is collected sooner (src/core/heap.ts).
  growOldGenerationSlowly();
  const targets = [argv.to, argv.exec].filter((v) => v !== undefined);
  // --status --state FILE needs nothing else: no vault, no destination, no request. A -v or --to given beside it
  // is only compared with the state's own (a warning when they differ).
  if (argv.status && argv.state !== undefined && targets.length <= 1) {
    const vault = argv.vault ?? process.env.GLACIER_VAULT;
    const target = targets.length && (argv.exec !== undefined || String(argv.to)) ? destinationOf(argv) : undefined;
    return showStatus(resolve(String(argv.state)), Boolean(argv.json), { vault: vault === undefined || vault === '' ? undefined : String(vault), target });
  }
  if (targets.length !== 1) throw new UsageError('give one destination: --to DIR, --to s3://BUCKET/PREFIX or --exec CMD');
  const c = common('glacier-restore', argv);
  const tier = String(argv.tier ?? 'Bulk');
  if (!['Expedited', 'Standard', 'Bulk'].includes(tier)) throw new UsageError(`unknown --tier "${tier}": Expedited, Standard or Bulk`);
  const maxJobs = int(argv, 'max-jobs', 100, 100_000);
  const concurrency = int(argv, 'concurrency', 2, 64);
  const maxBytesPerDay = sizeOption(argv, 'max-bytes-per-day');
  const windowMs = duration(argv, 'pace-window', '24h');
  const intervalMs = duration(argv, 'interval', '15m');
  const shard = argv.shard === undefined ? undefined : parseShard(String(argv.shard));
  const storageClass = String(argv['storage-class'] ?? 'DEEP_ARCHIVE').toUpperCase();
  if (!STORAGE_CLASSES.includes(storageClass)) throw new UsageError(`unknown --storage-class "${argv['storage-class']}": ${STORAGE_CLASSES.join(', ')}`);
  const partSize = sizeOption(argv, 'part-size') ?? 16 * 2 ** 20;
  if (partSize < 5 * 2 ** 20 || partSize > 5 * 2 ** 30) throw new UsageError(`invalid --part-size: 5M to 5G (S3's limits)`);
  if (argv['storage-class'] !== undefined && !String(argv.to ?? '').startsWith('s3://')) throw new UsageError('--storage-class applies to --to s3://... only');
  const prices = argv.prices === undefined ? DEFAULT_PRICES : readPrices(String(argv.prices));
  const overrides = argv.names === undefined ? new Map<string, string>() : readNames(String(argv.names));

  let sink: ArchiveSink;
  if (argv.exec !== undefined) {
    if (!String(argv.exec).trim()) throw new UsageError('--exec needs a command');
    sink = new ExecSink(String(argv.exec));
  } else if (String(argv.to).startsWith('s3://')) {
    sink = new S3Sink(parseS3Url(String(argv.to)), { storageClass, partSize, region: argv.region, signal: interruption.signal });
  } else {
    if (!String(argv.to)) throw new UsageError('--to needs a folder or s3://BUCKET/PREFIX');
    sink = new DirSink(resolve(String(argv.to)));
  }
  const target = destinationOf(argv);
  const stateDir = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'glacier-pipes');
  const statePath = argv.state !== undefined ? resolve(String(argv.state)) : join(stateDir, `restore-${c.vault}-${createHash('sha256').update(`${target}\n${argv.shard ?? ''}\n${c.endpoint ?? process.env.AWS_ENDPOINT_URL_GLACIER ?? ''}`).digest('hex').slice(0, 12)}.jsonl`);
  if (argv.status) return showStatus(statePath, Boolean(argv.json), { vault: c.vault, target });
  const dryRun = Boolean(argv['dry-run']);
  let unlockDir: (() => Promise<void>) | undefined;
  if (sink instanceof DirSink) {
    // An archive of the state's name would replace it, and with it the record of everything done.
    if (within(realish(statePath), realish(sink.dir))) {
      throw new UsageError(`the state file ${statePath} lies inside --to ${sink.dir}, where a restored archive could take its name; give --state a path outside that folder`);
    }
    if (!dryRun) {
      const dirSink = await DirSink.open(sink.dir);
      sink = dirSink;
      // Held for the run: a second run writing into this folder (by any path to it, with any --state) refuses.
      unlockDir = await lockDestination(dirSink.dir, shard);
    }
  }
  let journal: Journal;
  try {
    journal = await Journal.open(statePath, { vault: c.vault, target }, { windowMs, readOnly: dryRun });
  } catch (e) {
    await unlockDir?.();
    throw e;
  }
  // Waits for a slow reader (a pipe), so millions of records are not queued in memory.
  let ending = async (): Promise<void> => {};
  let bytesBefore = 0; // of archives done before this run: not counted in its rate
  const emit = (r: object): void | Promise<void> => {
    const d = r as { before?: boolean; found?: boolean; size?: number };
    if (d.before || d.found) bytesBefore += d.size ?? 0;
    // Each archive that failed is named on stderr too (--help says so), not only in its record on stdout.
    const f = r as { status?: string; archiveId?: string; name?: string; error?: string };
    if (f.status === 'failed' || f.status === 'integrity') process.stderr.write(`glacier-restore: ${f.archiveId} (${f.name}): ${f.error ?? f.status}\n`);
    if (!process.stdout.write(`${JSON.stringify(r)}\n`)) return new Promise((res) => process.stdout.once('drain', () => res()));
  };
  const info = (m: string) => (c.quiet ? undefined : process.stderr.write(`glacier-restore: ${m}\n`));
  /** An inventory file in use: refused when of another vault; said on stderr with its date; warned about when the vault has a newer one. */
  // What the input is, and whether it names its vault (a JSON inventory's VaultARN); a CSV inventory and lines on
  // stdin do not, so an input none of whose archives is in the vault is taken as another vault's (exit 2).
  let inputIs = 'the archives on stdin';
  let vaultNamed = false;
  const useInventory = async (path: string, kept: boolean) => {
    const head = await checkInventory(path, c.vault);
    inputIs = `the inventory ${path}`;
    vaultNamed = head.vault !== undefined;
    info(`using the inventory ${path}${head.date ? ` taken ${head.date}` : ''}${kept ? ' (kept from an earlier run)' : ''}`);
    if (!dryRun && head.date) {
      const last = await describeVault({ ...c.glacier, signal: interruption.signal }, c.vault).then((v) => v.LastInventoryDate, () => undefined);
      // To the second: an inventory says its date to the second, the vault its LastInventoryDate to the millisecond.
      if (last && Math.floor(Date.parse(last) / 1000) > Math.floor(Date.parse(head.date) / 1000)) {
        c.warn(`the inventory ${path} (${head.date}) is older than the vault's last inventory (${last}): archives added or deleted since are not in it; ${argv.inventory === undefined ? '--refresh-inventory takes a new one' : 'fetch a newer one, or run without --inventory'}`);
      }
    }
    return oldestFirst(inventoryArchives(path));
  };
  try {
    const inv = argv.inventory === undefined ? undefined : String(argv.inventory);
    const refresh = Boolean(argv['refresh-inventory']);
    if (refresh && (inv !== undefined || dryRun)) throw new UsageError('--refresh-inventory starts a new inventory job: give it without --inventory and --dry-run');
    let input;
    if (inv !== undefined) {
      const isFile = existsSync(inv);
      if (isFile) input = await useInventory(inv, false);
      else if (/^[A-Za-z0-9_-]{20,}$/.test(inv)) {
        if (dryRun && !journal.inventoryJob()?.file) throw new UsageError('--dry-run starts nothing and waits for nothing: fetch the inventory first (glacier-job output JOB_ID -o FILE) and give --inventory FILE');
        input = await useInventory(await inventoryFromJob({ glacier: { ...c.glacier, signal: interruption.signal }, vault: c.vault, journal, file: `${statePath}.inventory`, jobId: inv, intervalMs, signal: interruption.signal, warn: c.warn, info }), false);
      } else throw new UsageError(`--inventory "${inv}" is neither a file nor a job id`);
    } else if (!refresh && (await hasInput())) {
      input = checked(jsonLines(process.stdin), 'stdin');
    } else {
      if (dryRun && !journal.inventoryJob()?.file) throw new UsageError('--dry-run starts no inventory job: pipe archives in, or give --inventory FILE');
      const kept = !refresh && Boolean(journal.inventoryJob()?.file);
      input = await useInventory(await inventoryFromJob({ glacier: { ...c.glacier, signal: interruption.signal }, vault: c.vault, journal, file: `${statePath}.inventory`, refresh, intervalMs, signal: interruption.signal, warn: c.warn, info }), kept);
    }
    // Names recorded for archives by earlier runs stay theirs; compared as the destination compares names.
    const namer = new Namer(overrides, { fold: sink.fold, held: journal.allNames() });
    if (dryRun) {
      const isS3 = sink instanceof S3Sink;
      const p = await plan({ input, namer, sink, journal, shard, tier, maxJobs, maxBytesPerDay, windowMs, emit, s3PartSize: isS3 ? partSize : undefined });
      const region = c.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
      const cost = priceOf({ tier, jobs: p.jobs, jobBytes: p.jobBytes, destination: isS3 ? 's3' : argv.exec !== undefined ? 'exec' : 'dir', storageClass, s3Requests: p.s3Requests }, prices, region);
      if (region && cost.region !== region) c.warn(`the price table has no prices for ${region}; priced at ${cost.region} (give --prices FILE for ${region})`);
      emit({ ...p, cost, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
      if (process.stderr.isTTY && !c.quiet) process.stderr.write(planTable(p, cost, isS3 ? storageClass : undefined));
      if (p.days > 30 && !c.quiet) {
        const pace = paceFor(p.jobs, p.jobBytes, tier, windowMs, maxBytesPerDay !== undefined);
        const opts = `--max-jobs ${pace.maxJobs}${pace.maxBytesPerDay ? ` --max-bytes-per-day ${sizeArg(pace.maxBytesPerDay)}` : ''}`;
        const days = daysAt(p.jobs, p.jobBytes, tier, pace.maxJobs, pace.maxBytesPerDay && sizeArgBytes(pace.maxBytesPerDay), windowMs);
        c.warn(`this plan takes ${p.days} days at the pace set (--max-jobs ${maxJobs}${maxBytesPerDay ? `, --max-bytes-per-day ${formatBytes(maxBytesPerDay).replace(/ /g, '')}` : ''}); ${opts} would take about a week (${days} days)`);
      }
      return 0;
    }
    if (sink instanceof S3Sink) {
      // Upload ids live in the journal; uploads a killed run left open are continued, or aborted at start when
      // their id was never recorded.
      sink.keepRecords(journal);
      await sink.recover();
    }
    // Progress: on a terminal a line a second; off one (--progress in cron) a line a minute with an ISO time. The
    // state records where the run stands every 5 s and at its end, for --status from another shell.
    let lastLine = 0;
    let lastSnap = 0;
    let seen: Stats | undefined;
    const everyMs = process.stderr.isTTY ? 1000 : 60_000;
    const snapshot = (s: Stats, ended: boolean) => journal.recordStats(snapshotOf(s, bytesBefore, maxJobs, ended));
    ending = async () => {
      if (seen) await snapshot(seen, true).catch(() => {});
    };
    const progress = (s: Stats) => {
      seen = s;
      const t = Date.now();
      if (t - lastSnap >= 5_000) {
        lastSnap = t;
        snapshot(s, false).catch(() => {});
      }
      if (!c.progress || t - lastLine < everyMs) return;
      lastLine = t;
      process.stderr.write(`glacier-restore: ${progressLine(s, bytesBefore, { iso: !process.stderr.isTTY, maxJobs })}\n`);
    };
    // The run calls progress when something moves between its waits; a long download is one wait, during which
    // its bytes still count: the record (and the line) keep their pace from this tick.
    const tick = setInterval(() => seen && progress(seen), 1000);
    tick.unref();
    const stats = await restore({
      glacier: { ...c.glacier, signal: interruption.signal }, vault: c.vault, input, sink, journal, namer, shard, tier, maxJobs, maxBytesPerDay,
      concurrency, intervalMs, signal: interruption.signal, emit, warn: c.warn, info, progress,
    }).finally(() => clearInterval(tick));
    emit({ summary: true, archives: stats.archives, done: stats.done + stats.doneBefore, doneBefore: stats.doneBefore, failed: stats.failed, integrity: stats.integrity, missing: stats.missing, bytes: stats.bytes, jobsStarted: stats.jobsStarted, jobsAdopted: stats.jobsAdopted, found: stats.found, seconds: Math.round((Date.now() - stats.startedAt) / 100) / 10 });
    if (!vaultNamed && stats.missing > 0 && stats.missing === stats.archives) {
      throw new UsageError(
        `none of the ${stats.missing} archive(s) of ${inputIs} is in vault ${c.vault} (every one "missing"): it lists another vault's archives (a CSV inventory does not name its vault), or all were deleted since; give ${c.vault}'s inventory, or the -v of the vault it lists`,
      );
    }
    if (stats.missing) process.stderr.write(`glacier-restore: ${stats.missing} archive(s) are no longer in the vault (status "missing" on stdout: deleted since the inventory); not retried\n`);
    if (stats.integrity) {
      process.stderr.write(`glacier-restore: ${stats.integrity} archive(s) failed verification (status "integrity" on stdout); nothing unverified was kept\n`);
      return 3;
    }
    if (stats.failed) {
      process.stderr.write(`glacier-restore: ${stats.failed} archive(s) failed (status "failed" on stdout); run the same command again to retry them\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    throw explain(e, { vault: c.vault, endpoint: c.endpoint });
  } finally {
    await (sink as ArchiveSink).close?.().catch(() => {});
    await ending();
    try {
      await journal.close();
    } finally {
      await unlockDir?.();
    }
  }
});

/**
 * The destination as the state records it (its head's target, and part of the default state's name): `exec:CMD`,
 * `s3://BUCKET/PREFIX` as parsed, or the folder's absolute path. Throws UsageError for an s3:// URL that is none.
 */
function destinationOf(argv: Argv): string {
  if (argv.exec !== undefined) return `exec:${argv.exec}`;
  if (String(argv.to).startsWith('s3://')) {
    const t = parseS3Url(String(argv.to));
    return `s3://${t.bucket}/${t.prefix}`;
  }
  return resolve(String(argv.to));
}

/** `path` with its longest existing leading part resolved through links (realpath), the rest appended. */
function realish(path: string): string {
  const rest: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      return join(realpathSync(p), ...rest.reverse());
    } catch {
      const parent = dirname(p);
      if (parent === p) return resolve(path);
      rest.push(basename(p));
      p = parent;
    }
  }
}

/** Whether `path` is `dir` or lies below it. */
function within(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`);
}

/** Whether stdin is a pipe or file with something in it (not a terminal, not /dev/null). */
async function hasInput(): Promise<boolean> {
  const fs = await import('node:fs');
  try {
    const st = fs.fstatSync(0);
    if (st.isCharacterDevice()) return false; // a terminal or /dev/null
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}
