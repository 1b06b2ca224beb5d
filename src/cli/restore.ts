// glacier-restore: every archive of a vault to a folder, a command or S3, paced, resumable, verified.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../core/errors.js';
import { formatBytes, parseDuration } from '../core/units.js';
import { checked, checkInventory, inventoryArchives, inventoryFromJob, jsonLines } from '../restore/input.js';
import { describeVault } from '../core/operations.js';
import { Journal } from '../restore/journal.js';
import { Namer } from '../restore/names.js';
import { plan } from '../restore/plan.js';
import { restore, type Stats } from '../restore/restore.js';
import { parseS3Url, S3Sink, STORAGE_CLASSES } from '../restore/s3-sink.js';
import { parseShard } from '../restore/shard.js';
import { DirSink, ExecSink, type ArchiveSink } from '../restore/sinks.js';
import { common, COMMON_HELP, explain, sizeOption, withCommon } from './common.js';
import { interruption, run, type Argv } from './runtime.js';

const usage = `Usage: glacier-restore -v VAULT (--to DIR | --to s3://BUCKET/PREFIX | --exec CMD) [options]

Restores every archive of a vault (or those given on stdin) over days: starts retrieval jobs at the pace set,
downloads each completed job verified piece by piece against Glacier's tree hashes and whole, and hands it to
the destination. Stop it at any moment (even kill -9) and run the same command again: it continues; nothing done
is retrieved twice.

Input (one of):
  stdin                 archives as JSON lines, as glacier-job output --archives prints them (filter with jq)
  --inventory JOB_ID|FILE   an inventory job's output, or an inventory file (JSON or CSV); one of another
                        vault (its VaultARN) is refused
  (neither)             an inventory job is started, waited for, and its output kept next to the state file;
                        reruns use the kept one (warned about when the vault has a newer inventory)
  --refresh-inventory   start a new inventory job instead of using the kept one

Destination (one of):
  --to DIR              DIR/NAME, written as NAME.partial and renamed when verified; mtime from the description
  --to s3://BUCKET/PREFIX   one S3 multipart upload per archive, a SHA-256 per part that S3 checks; the archive
                        id, description and tree hash in the object's metadata (x-amz-meta-glacier-*); the
                        endpoint from AWS_ENDPOINT_URL_S3 or the profile. Parts are streamed (memory does not
                        grow with --part-size); an upload stopped part way is continued by the next run, its
                        parts checked against the bytes re-read; an object of another archive is never replaced
  --exec CMD            CMD run by /bin/sh per archive with its bytes on stdin and GLACIER_ARCHIVE_ID,
                        GLACIER_NAME, GLACIER_SIZE, GLACIER_TREE_HASH, GLACIER_DESCRIPTION, GLACIER_CREATION_DATE
                        in its environment; done when it exits 0 (its stdout goes to stderr); when the run
                        is stopped it gets SIGTERM, then SIGKILL 10 s later

Options:
  --tier T              Bulk (default), Standard or Expedited
  --max-jobs N          retrieval jobs outstanding at most (default 100)
  --max-bytes-per-day SIZE  bytes of retrievals started per 24 h at most (e.g. 500G)
  --pace-window D       the window --max-bytes-per-day counts over (default 24h)
  -c, --concurrency N   archives downloading at once (default 2)
  --interval D          how often to ask about jobs (default 15m; the first time at once)
  --state FILE          the journal (default $XDG_STATE_HOME/glacier-pipes/restore-VAULT-HASH.jsonl, mode 0600)
  --names CSV           ArchiveId,FileName lines naming archives (overrides descriptions)
  --shard K/N           only archives whose id hashes to K of N (0 <= K < N): N hosts split a vault
  --storage-class C     S3 storage class (default DEEP_ARCHIVE)
  --part-size SIZE      S3 part size (default 16M; 5M to 5G; raised to fit 10,000 parts; a continued
                        upload keeps its own)
  --dry-run             print the plan (names, totals, days at the pace set); start nothing
${COMMON_HELP}

Names: decoded from the descriptions mt-aws-glacier (mt1, mt2), FastGlacier and CloudBerry write, else the
description itself (glacier-put's default is the file name), else the archive id. A name never leaves DIR or
PREFIX ('..', absolute paths, NUL and control characters are made safe); a name taken twice gets ~HASH.

Jobs: retrieval jobs already in progress or succeeded in the vault for these archives (ListJobs) are taken up,
and the destination is asked before a job starts: nothing is paid for twice, even with the state file lost. A
verified NAME.partial outlives its job: the next job continues it. Jobs that expire before their download make
the run keep fewer outstanding (stderr names the --max-jobs to use). A job whose size or tree hash disagrees with
the input line is refused before anything is written (status integrity).

Output: one JSON line per archive {"archiveId","name","size","status","to",...} (status done, failed,
integrity, or missing: deleted from the vault since the inventory, not retried), then a summary line; progress
on stderr.
Exit: 0 every archive done (or missing), 1 some failed (each named on stderr), 2 bad usage, 3 integrity
failure, 130/143 interrupted (run it again to continue).

Examples:
  glacier-restore -v photos --to ~/restored --max-bytes-per-day 200G
  glacier-job output -v photos JOB_ID --archives | jq -c 'select(.Size > 0)' | glacier-restore -v photos --to s3://bucket/photos/
  glacier-restore -v photos --inventory inv.json --shard 1/3 --exec 'gpg -d > "/data/$GLACIER_NAME"'
`;

const spec = withCommon({
  name: 'glacier-restore',
  usage,
  string: ['to', 'exec', 'inventory', 'tier', 'max-jobs', 'max-bytes-per-day', 'pace-window', 'concurrency', 'interval', 'state', 'names', 'shard', 'storage-class', 'part-size'],
  boolean: ['dry-run', 'refresh-inventory'],
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

function progressLine(s: Stats): string {
  const secs = (Date.now() - s.startedAt) / 1000;
  const rate = secs > 0 ? (s.bytesDone - 0) / secs : 0;
  const left = s.bytes - s.bytesDone;
  const eta = rate > 0 && s.inputDone ? `, ETA ${Math.round(left / rate)} s` : '';
  return `${s.done + s.doneBefore}/${s.archives}${s.inputDone ? '' : '+'} archives, ${formatBytes(s.bytesDone)} of ${formatBytes(s.bytes)}, jobs waiting ${s.waiting} ready ${s.ready}, downloading ${s.downloading}, ${formatBytes(rate)}/s${eta}`;
}

run(spec, async (argv) => {
  if (argv._.length) throw new UsageError(`unexpected argument "${argv._[0]}" (see --help)`);
  const targets = [argv.to, argv.exec].filter((v) => v !== undefined);
  if (targets.length !== 1) throw new UsageError('give one destination: --to DIR, --to s3://BUCKET/PREFIX or --exec CMD');
  const c = common('glacier-restore', argv);
  // Every request in flight (polls, ranged GETs of several archives) listens to the one interruption signal.
  setMaxListeners(0, interruption.signal);
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
  const overrides = argv.names === undefined ? new Map<string, string>() : readNames(String(argv.names));

  let sink: ArchiveSink;
  let target: string;
  if (argv.exec !== undefined) {
    if (!String(argv.exec).trim()) throw new UsageError('--exec needs a command');
    sink = new ExecSink(String(argv.exec));
    target = `exec:${argv.exec}`;
  } else if (String(argv.to).startsWith('s3://')) {
    const t = parseS3Url(String(argv.to));
    sink = new S3Sink(t, { storageClass, partSize, region: argv.region, signal: interruption.signal });
    target = `s3://${t.bucket}/${t.prefix}`;
  } else {
    if (!String(argv.to)) throw new UsageError('--to needs a folder or s3://BUCKET/PREFIX');
    const dir = resolve(String(argv.to));
    sink = new DirSink(dir);
    target = dir;
  }
  const stateDir = join(process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'glacier-pipes');
  const statePath = argv.state !== undefined ? resolve(String(argv.state)) : join(stateDir, `restore-${c.vault}-${createHash('sha256').update(`${target}\n${argv.shard ?? ''}\n${c.endpoint ?? process.env.AWS_ENDPOINT_URL_GLACIER ?? ''}`).digest('hex').slice(0, 12)}.jsonl`);
  const dryRun = Boolean(argv['dry-run']);
  const journal = await Journal.open(statePath, { vault: c.vault, target }, { windowMs, readOnly: dryRun });
  // Waits for a slow reader (a pipe), so millions of records are not queued in memory.
  // A promise that never settles leaves no handle, and node would exit 0 with work undone: say so instead.
  let settled = false;
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write('glacier-restore: stopped with work pending (a bug); run the same command again to continue\n');
    process.exitCode = 1;
  });
  const emit = (r: object): void | Promise<void> => {
    // Each archive that failed is named on stderr too (--help says so), not only in its record on stdout.
    const f = r as { status?: string; archiveId?: string; name?: string; error?: string };
    if (f.status === 'failed' || f.status === 'integrity') process.stderr.write(`glacier-restore: ${f.archiveId} (${f.name}): ${f.error ?? f.status}\n`);
    if (!process.stdout.write(`${JSON.stringify(r)}\n`)) return new Promise((res) => process.stdout.once('drain', () => res()));
  };
  const info = (m: string) => (c.quiet ? undefined : process.stderr.write(`glacier-restore: ${m}\n`));
  /** An inventory file in use: refused when of another vault; said on stderr with its date; warned about when the vault has a newer one. */
  const useInventory = async (path: string, kept: boolean) => {
    const head = await checkInventory(path, c.vault);
    info(`using the inventory ${path}${head.date ? ` taken ${head.date}` : ''}${kept ? ' (kept from an earlier run)' : ''}`);
    if (!dryRun && head.date) {
      const last = await describeVault({ ...c.glacier, signal: interruption.signal }, c.vault).then((v) => v.LastInventoryDate, () => undefined);
      // To the second: an inventory says its date to the second, the vault its LastInventoryDate to the millisecond.
      if (last && Math.floor(Date.parse(last) / 1000) > Math.floor(Date.parse(head.date) / 1000)) {
        c.warn(`the inventory ${path} (${head.date}) is older than the vault's last inventory (${last}): archives added or deleted since are not in it; ${argv.inventory === undefined ? '--refresh-inventory takes a new one' : 'fetch a newer one, or run without --inventory'}`);
      }
    }
    return inventoryArchives(path);
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
    const namer = new Namer(overrides);
    if (dryRun) {
      const p = await plan({ input, namer, sink, journal, shard, tier, maxJobs, maxBytesPerDay, windowMs, emit });
      emit({ ...p, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
      return 0;
    }
    if (sink instanceof S3Sink) {
      // Upload ids live in the journal; uploads a killed run left open are continued, or aborted at start when
      // their id was never recorded.
      sink.keepRecords(journal);
      await sink.recover();
    }
    let last = 0;
    const showProgress = c.progress;
    const stats = await restore({
      glacier: { ...c.glacier, signal: interruption.signal }, vault: c.vault, input, sink, journal, namer, shard, tier, maxJobs, maxBytesPerDay,
      concurrency, intervalMs, signal: interruption.signal, emit, warn: c.warn, info,
      progress: showProgress
        ? (s) => {
            if (Date.now() - last < 1000) return;
            last = Date.now();
            process.stderr.write(`glacier-restore: ${progressLine(s)}\n`);
          }
        : undefined,
    });
    emit({ summary: true, archives: stats.archives, done: stats.done + stats.doneBefore, doneBefore: stats.doneBefore, failed: stats.failed, integrity: stats.integrity, missing: stats.missing, bytes: stats.bytes, jobsStarted: stats.jobsStarted, jobsAdopted: stats.jobsAdopted, found: stats.found, seconds: Math.round((Date.now() - stats.startedAt) / 100) / 10 });
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
    settled = true;
    await journal.close();
  }
});

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
