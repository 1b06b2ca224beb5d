// glacier-pack: files and folders to a tar.xz stream on stdout (or one existing archive, unchanged).
import { createReadStream, fstatSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { UsageError } from '../core/errors.js';
import { readNameList } from '../pack/files-from.js';
import { pack } from '../pack/pack.js';
import { reason } from '../pack/fs.js';
import type { Problem } from '../pack/walk.js';
import { XZ_MODES, type XzMode } from '../pack/xz.js';
import { Progress } from './progress.js';
import { checkSettings } from './common.js';
import { interruption, redact, run, type CliSpec } from './runtime.js';

const cores = availableParallelism();

const usage = `Usage: glacier-pack [OPTIONS] PATH... | glacier-put -v VAULT [-d DESC]
       find DIR -print0 | glacier-pack [OPTIONS] --null --files-from - | glacier-put -v VAULT

Packs files and folders into a tar stream compressed with xz, on stdout: folders recursively, symlinks as
links, empty folders, modes, owners and mtimes; long and non-ASCII names and files over 8 GiB as GNU tar
reads them. Member names are the PATHs as given, without a leading '/' (as GNU tar makes them).
One PATH that is already an archive (.tar .tar.xz .txz .tgz .tar.gz .tar.zst .tar.bz2) is copied unchanged.
Restoring needs only GNU tar: ... | tar -xJf -

Options:
  -0 ... -9              xz level (default 6)
  -T, --threads N        compression threads (default and 0: all cores, as nproc counts them)
  --no-compress          plain tar, no xz (restore with tar -xf -)
  --xz=auto|native|program   compress with the xz program or in-process with lzma-native
                         (default auto: the program when it is on PATH, it is faster)
  --exclude GLOB         leave out every member whose name, or any tail of it after a '/', matches GLOB;
                         repeatable ('*.log', node_modules, 'cache/*'); an excluded folder is not entered
  -C, --directory DIR    find relative PATHs in DIR (member names stay relative)
  --files-from FILE      also pack the PATHs listed in FILE, one a line ('-': stdin), as GNU tar's
                         --files-from; blank lines are skipped; always makes a tar (no pass-through)
  --null                 the --files-from list is NUL-terminated (find -print0), names may hold newlines
  -q, --quiet            no warnings and no progress on stderr
  --progress, --no-progress   bytes read of the total on stderr (default: when stderr is a terminal)
  --debug                stack traces on errors
  --region, --profile NAME, --endpoint URL (--endpoint-url), --ca-bundle FILE, --no-verify-ssl
                         accepted and checked as by every glacier-* binary (a profile must exist, a CA
                         bundle be readable), so one set of settings fits every command of a pipe; no effect here
  -h, --help, --version

Exit status:
  0  done
  1  a file changed, shrank or vanished while it was read: warned, packed as GNU tar does (a shrunken file
     padded with zeros), the archive is valid
  2  usage error; a PATH that is missing or unreadable (nothing is written); or a file inside a folder that
     could not be read (warned and left out, the rest is packed)
  129/130/143  interrupted (SIGHUP/SIGINT/SIGTERM)

Examples:
  glacier-pack ~/photos ~/docs | glacier-put -v backups -d "home 2026-11"
  glacier-pack -C /srv www --exclude '*.log' -1 | glacier-put -v backups -d "www $(date +%F)"
  glacier-pack ~/photos > photos.tar.xz
  find ~/docs -type f -mtime -7 -print0 | glacier-pack --null --files-from - | glacier-put -v backups
  glacier-job output -v backups JOB_ID | tar -xJf -          # restore
`;

const LEVELS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

const spec: CliSpec = {
  name: 'glacier-pack',
  usage,
  string: ['threads', 'exclude', 'directory', 'xz', 'files-from', 'region', 'profile', 'endpoint', 'ca-bundle'],
  boolean: [...LEVELS, 'compress', 'quiet', 'progress', 'null', 'verify-ssl'],
  alias: { T: 'threads', C: 'directory', q: 'quiet' },
  default: { compress: true },
  repeatable: ['exclude', 'files-from'],
};

/** -0 ... -9, the last one given; minimist reads `-12` as -1 -2, so the raw words are checked here. */
function levelOf(args: readonly string[]): number {
  let level = 6;
  for (const a of args) {
    if (a === '--') break;
    if (!/^-\d/.test(a)) continue;
    if (!/^-\d$/.test(a)) throw new UsageError(`invalid level ${a}: use one of -0 ... -9`);
    level = Number(a[1]);
  }
  return level;
}

/** The last of --flag / --no-flag, or undefined (minimist turns an absent boolean into false). */
function lastFlag(args: readonly string[], name: string): boolean | undefined {
  let v: boolean | undefined;
  for (const a of args) {
    if (a === '--') break;
    if (a === `--${name}`) v = true;
    else if (a === `--no-${name}`) v = false;
  }
  return v;
}

run(spec, async (argv) => {
  checkSettings(argv);
  const args = process.argv.slice(2);
  const level = levelOf(args);
  const t = argv.threads === undefined ? '0' : String(argv.threads);
  if (!/^\d{1,4}$/.test(t)) throw new UsageError(`invalid --threads "${argv.threads}": a number of threads, 0 for all cores`);
  const threads = Number(t) || cores;
  const xz = String(argv.xz ?? 'auto') as XzMode;
  if (!XZ_MODES.includes(xz)) throw new UsageError(`invalid --xz "${argv.xz}": auto, native or program`);
  const cwd = argv.directory === undefined ? undefined : String(argv.directory);
  if (cwd !== undefined && !statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`-C ${cwd}: no such directory`);
  const lists = argv['files-from'] === undefined ? [] : [argv['files-from']].flat().map(String);
  if (argv.null && !lists.length) throw new UsageError('--null goes with --files-from FILE');
  if (lists.filter((l) => l === '-').length > 1) throw new UsageError('--files-from - given more than once: stdin can be read once');
  if (process.stdout.isTTY) throw new UsageError('refusing to write an archive to a terminal: pipe it into glacier-put, or redirect it to a file');

  const quiet = Boolean(argv.quiet);
  const showProgress = !quiet && (lastFlag(args, 'progress') ?? Boolean(process.stderr.isTTY));
  const progress = new Progress('glacier-pack', showProgress, undefined, 'read');
  let listStatus: 0 | 1 | 2 = 0;
  const problem = (p: Problem) => {
    if (p.status > listStatus) listStatus = p.status;
    if (quiet) return;
    progress.log(`glacier-pack: warning: ${redact(p.path ? `${p.path}: ${p.message}` : p.message)}`);
  };
  const inputs = argv._.map(String);
  for (const list of lists) {
    const source = list === '-' ? 'stdin' : list;
    let stream: Readable = process.stdin;
    if (list !== '-') {
      if (statSync(list, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--files-from ${list}: is a directory`);
      stream = createReadStream(list);
    }
    const names = await readNameList(stream, { nul: Boolean(argv.null), source, problem }).catch((e: unknown) => {
      throw new UsageError(`cannot read --files-from ${source}: ${reason(e)}`);
    });
    inputs.push(...names);
  }
  if (inputs.length === 0) throw new UsageError(lists.length ? `no PATH in --files-from ${lists.join(', ')}: nothing to pack` : 'no PATH given: glacier-pack PATH... (see --help)');
  const out = fstatSync(1);
  const result = await pack(inputs, process.stdout, {
    cwd,
    exclude: [...(argv.exclude === undefined ? [] : [argv.exclude].flat().map(String))],
    compress: argv.compress !== false,
    level,
    threads,
    xz,
    problem,
    passthrough: lists.length === 0,
    onTotal: (n) => progress.setTotal(n),
    onRead: (n) => progress.add(n),
    signal: interruption.signal,
    skip: out.isFile() ? { dev: out.dev, ino: out.ino } : undefined,
    outputFd: 1,
  }).finally(() => progress.finish()); // the error line, if any, then starts on a line of its own
  const status = Math.max(result.status, listStatus);
  if (argv.debug) process.stderr.write(`glacier-pack: debug: ${result.entries} entries, ${result.how}${result.how.startsWith('xz') ? ` -${level} -T${threads}` : ''}, exit status ${status}\n`);
  return status;
});
