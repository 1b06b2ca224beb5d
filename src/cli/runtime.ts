// The one place that prints errors, handles EPIPE and signals, and turns outcomes into exit codes.
// Each binary's main() parses argv, calls one library function and returns (or throws).
import minimist from 'minimist';
import { setMaxListeners } from 'node:events';
import { closeSync, readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { GlacierPipesError, InterruptedError, STOP_SIGNALS, UsageError, type StopSignal } from '../core/errors.js';
import { classify } from '../core/glacier.js';

export interface CliSpec {
  name: string;
  usage: string; // the whole --help text
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, unknown>;
  /** Options that may be repeated (collected into arrays). */
  repeatable?: string[];
  /** String options whose value may be left out (`--resume` alone); every other one needs a value. */
  optionalValue?: string[];
}

export type Argv = minimist.ParsedArgs;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Parses argv strictly: an unknown option is a usage error, not silently ignored. */
export function parseArgs(spec: CliSpec, args: string[]): Argv {
  const known = new Set([...(spec.string ?? []), ...(spec.boolean ?? []), 'help', 'version', 'debug', 'h']);
  for (const [k, v] of Object.entries(spec.alias ?? {})) {
    known.add(k);
    known.add(v);
  }
  // minimist leaves a word like -5 or -1h after an option that takes a value for a flag of its own, so
  // `--older-than -1h` read as -1 -h (--help) and `-d -5` as an empty description: take it as the value, as getopt does.
  const strings = new Set(spec.string ?? []);
  const words: string[] = [];
  args = awsCliSpellings(spec, known, args);
  // Named in suggestions for a mistyped option (the words themselves are rewritten above).
  if (known.has('endpoint')) known.add('endpoint-url');
  if (known.has('json')) known.add('output');
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      words.push(...args.slice(i));
      break;
    }
    // minimist keeps options in a plain object: a name such as __proto__ or toString would reach Object.prototype.
    const optName = /^--?(?:no-)?([^=]+)/.exec(a)?.[1];
    if (optName !== undefined && a !== '-' && !known.has(optName) && (optName in Object.prototype || optName === '__proto__')) {
      throw unknownOption(a, known);
    }
    // An upload or archive id starting with '-' (base64url, 40 characters and more) would be read as a cluster of
    // short flags, and one such as -h-... as --help: say how to pass it, whatever letters it holds.
    if (/^-[A-Za-z0-9_-]{39,}$/.test(a) && !known.has(optName ?? '')) {
      throw new UsageError(`${a.slice(0, 24)}... is read as an option; an id that starts with '-' goes after --, as in: ${spec.name} -v VAULT -- ID`);
    }
    const name = /^--[^=]+$/.test(a) ? a.slice(2) : /^-[^-]$/.test(a) ? (spec.alias?.[a[1]] ?? a[1]) : undefined;
    // An upload, archive or job id may start with '-': after its option it would be read as an option itself.
    if (name !== undefined && strings.has(name) && /^-[A-Za-z0-9_-]{39,}$/.test(args[i + 1] ?? '')) {
      throw new UsageError(`${args[i + 1].slice(0, 24)}... after ${a} is read as an option; give an id that starts with '-' with '=': --${name}=${args[i + 1]}`);
    }
    // An empty value (-d '') is a value too: minimist would drop it and read the next word as an argument.
    if (name !== undefined && strings.has(name) && (/^-\d/.test(args[i + 1] ?? '') || args[i + 1] === '')) words.push(`--${name}=${args[++i]}`);
    else if (name !== undefined && strings.has(name) && !(spec.optionalValue ?? []).includes(name) && (i + 1 >= args.length || (/^-./.test(args[i + 1]) && args[i + 1] !== '-'))) {
      // As the AWS CLI says "argument --region: expected one argument": a value left out is a usage error (exit 2),
      // never an empty setting that fails later as if the service had refused it.
      throw new UsageError(`option ${a} needs a value (see --help)`);
    } else words.push(a);
  }
  const argv = minimist(words, {
    string: spec.string,
    boolean: [...(spec.boolean ?? []), 'help', 'version', 'debug'],
    alias: { h: 'help', ...spec.alias },
    default: spec.default,
    unknown: (arg) => {
      // Upload and archive ids are base64url and may start with '-': say how to pass one rather than "unknown option".
      if (/^-[A-Za-z0-9_-]{39,}$/.test(arg)) throw new UsageError(`${arg.slice(0, 24)}... is read as an option; an id that starts with '-' goes after --, as in: ${spec.name} -v VAULT -- ID`);
      if (arg.startsWith('-') && arg !== '-') {
        const name = arg.replace(/^--?(no-)?/, '').split('=')[0];
        if (!known.has(name)) throw unknownOption(arg, known);
      }
      return true;
    },
  });
  for (const k of spec.string ?? []) {
    if (!(spec.repeatable ?? []).includes(k) && Array.isArray(argv[k])) throw new UsageError(`--${k} given more than once`);
  }
  return argv;
}

/**
 * The AWS CLI's spellings of common options, as the words this binary knows: `--endpoint-url URL` is --endpoint
 * and `--output json` is --json (AWS CLI global options: https://docs.aws.amazon.com/cli/latest/reference/).
 * Words after `--` are left alone. Throws UsageError for an --output other than json.
 */
function awsCliSpellings(spec: CliSpec, known: Set<string>, args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.push(...args.slice(i));
      break;
    }
    const m = /^--(endpoint-url|output)(?:=(.*))?$/.exec(a);
    if (!m) {
      out.push(a);
      continue;
    }
    const value = m[2] ?? args[++i];
    if (value === undefined && known.has(m[1] === 'endpoint-url' ? 'endpoint' : 'json')) throw new UsageError(`option --${m[1]} needs a value (see --help)`);
    if (m[1] === 'endpoint-url') {
      if (!known.has('endpoint')) throw unknownOption(a, known);
      if (value === undefined) throw new UsageError(`option ${a} needs a value (see --help)`);
      out.push(`--endpoint=${value}`);
    } else {
      const file = known.has('out') ? '; to write a FILE, -o FILE' : '';
      if (!known.has('json')) throw new UsageError(`--output does not apply: ${spec.name} prints no JSON${file}`);
      if (value?.toLowerCase() !== 'json') throw new UsageError(`invalid --output "${value ?? ''}": json, the one format (as --json; a listing prints a table on a terminal)${file}`);
      out.push('--json');
    }
  }
  return out;
}

/**
 * The nearest of `names` to a mistyped `word` (at most 2 edits and fewer than half the word), or undefined: for
 * subcommands, as for options (`glacier-job retreive`: retrieve).
 */
export function nearest(word: string, names: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of names) {
    const d = distance(word, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= 2 && bestD * 2 < word.length ? best : undefined;
}

/** Edit distance (insert, delete, replace, swap of neighbours: optimal string alignment) between a and b. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The UsageError for an unknown option: names the nearest known long option when one is close (at most 2 edits,
 * and fewer than half the name), as git and the AWS CLI suggest: `unknown option --bwlimt; did you mean --bwlimit?`;
 * a short word that begins exactly one known option at most 2 letters longer names it too (`--al`: `--all`).
 */
export function unknownOption(arg: string, known: Iterable<string>): UsageError {
  const word = arg.split('=')[0];
  const negated = /^--no-/.test(word) ? 'no-' : '';
  const name = word.replace(/^--?/, '').slice(negated.length);
  let best: string | undefined;
  let bestD = Infinity;
  if (word.startsWith('--')) {
    for (const k of known) {
      if (k.length < 2 || k === name) continue;
      const d = distance(name, k);
      if (d < bestD || (d === bestD && best !== undefined && k < best)) [best, bestD] = [k, d];
    }
  }
  if (best !== undefined && bestD <= 2 && bestD * 2 < name.length) return new UsageError(`unknown option ${word}; did you mean --${negated}${best}?`);
  // A short word cut off (--al for --all): the one known option it begins, at most 2 letters short.
  const longer = word.startsWith('--') && name.length >= 2 ? [...known].filter((k) => k.startsWith(name) && k.length - name.length <= 2) : [];
  if (longer.length === 1) return new UsageError(`unknown option ${word}; did you mean --${negated}${longer[0]}?`);
  return new UsageError(`unknown option ${word} (see --help)`);
}

export function asList(v: unknown): string[] {
  if (v === undefined || v === null || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

/**
 * Aborted on the first SIGHUP, SIGINT or SIGTERM, with an InterruptedError as its reason; a second SIGINT or SIGTERM
 * exits at once (a second SIGHUP is ignored: see run()).
 */
export const interruption = new AbortController();
// Every request in flight (-c 64 pieces or parts, polls, the SDK's own) and an input's read listen to it: no
// "possible memory leak" warning for that.
setMaxListeners(0, interruption.signal);

/** Runs a binary's main function and exits with its code. */
export function run(spec: CliSpec, main: (argv: Argv) => Promise<number | void>): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const debug = process.argv.includes('--debug');
  let exiting = false;
  const fail = (e: unknown): never => {
    if (exiting) process.exit(process.exitCode ?? 1);
    exiting = true;
    const err = e as Error & { exitCode?: number; code?: string };
    if (err?.code === 'EPIPE') process.exit(0); // the reader went away (`| head`): stop quietly
    // An interruption wins over whatever error the cut request produced.
    const typed = interruption.signal.aborted && !(e instanceof InterruptedError) ? (interruption.signal.reason as GlacierPipesError) : classify(e);
    const code = typed.exitCode;
    const text = debug && err?.stack && !(e instanceof UsageError) ? redact(err.stack) : redact(oneLine(typed.message));
    process.stderr.write(`${spec.name}: ${text}\n`);
    process.exit(code);
  };
  // A terminal that went away (closed, its session gone): writes to it fail with EIO. A run detached from it
  // (setsid, disown) goes on without it, as a C program does: what it printed is in its state or journal too.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    if (!(e.code === 'EIO' && process.stdout.isTTY)) fail(e);
  });
  // Nothing can be told when stderr itself fails; the work goes on (unhandled, the error would end the run).
  process.stderr.on('error', () => {});
  let argv: Argv;
  try {
    argv = parseArgs(spec, process.argv.slice(2));
  } catch (e) {
    return fail(e);
  }
  if (argv.help) {
    process.stdout.write(spec.usage.endsWith('\n') ? spec.usage : `${spec.usage}\n`);
    return;
  }
  if (argv.version) {
    process.stdout.write(`${spec.name} ${version()}\n`);
    return;
  }
  // SIGHUP too (the terminal closed): unhandled it would kill the binary on the spot, its temp files and locks left
  // behind. Node resets an ignored SIGHUP to the default at start, so `nohup` cannot shield a binary: README says to
  // use setsid, tmux or systemd-run for a run that must outlive its terminal.
  // A hung-up terminal refuses its settings back, and node 20 then aborts as it exits (ResetStdio: tcsetattr fails
  // with EIO, an assertion: SIGABRT or SIGSEGV instead of the exit status, after the work and the clean-up, also
  // for a detached run that never wrote to it). It skips a descriptor already closed: a descriptor that was a
  // terminal at the start and is one no more (isatty fails with EIO once it hung up) is closed as the process exits.
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  if (terminals.length) {
    process.once('exit', () => {
      for (const fd of terminals) {
        if (isatty(fd)) continue;
        try {
          closeSync(fd);
        } catch {
          // already closed
        }
      }
    });
  }
  for (const sig of Object.keys(STOP_SIGNALS) as StopSignal[]) {
    process.on(sig, () => {
      // A second Ctrl-C or SIGTERM means "now". A second SIGHUP does not: a closed terminal sends two (the shell
      // passes its own on, then the kernel hangs up the foreground job as the shell exits), and exiting on it
      // would skip the clean-up the first one started.
      if (interruption.signal.aborted) {
        if (sig !== 'SIGHUP') process.exit(STOP_SIGNALS[sig]);
        return;
      }
      interruption.abort(new InterruptedError(sig));
    });
  }
  // A promise that never settles leaves no handle, and node would exit 0 with the work undone: say so, exit 1.
  let settled = false;
  process.once('beforeExit', () => {
    if (settled) return;
    process.stderr.write(`${spec.name}: stopped with work pending (a bug); what it wrote may be incomplete\n`);
    process.exitCode = 1;
  });
  main(argv).then(
    (code) => {
      settled = true;
      if (typeof code === 'number') process.exitCode = code;
      // Interrupted and done (glacier-local returns after its stop): exit now. Left to end by itself, node closes
      // its signal handlers first, and a signal in that moment (a closed terminal's second SIGHUP, ~7 ms after the
      // first) would kill it by the default action instead of its exit status.
      if (interruption.signal.aborted) process.exit();
    },
    (e) => {
      settled = true;
      fail(e);
    },
  );
}

/**
 * The one line told about a failed item of a run that goes on (an upload not aborted, an archive not deleted):
 * classified like any failure, redacted, and printed on stderr; returned for the item's JSON line.
 */
export function itemError(name: string, e: unknown, about?: { what: string; id: string }): string {
  const msg = redact(oneLine(classify(e).message));
  process.stderr.write(`${name}: ${about && !msg.includes(about.id) ? `${about.what} ${about.id}: ` : ''}${msg}\n`);
  return msg;
}

function oneLine(text: string): string {
  return text.split('\n')[0];
}

const SECRET_PATTERNS: RegExp[] = [
  /(Signature=)[0-9a-f]{64}/gi,
  /(X-Amz-Signature=)[0-9a-f]{64}/gi,
  /(X-Amz-Security-Token=)[^&\s]+/gi,
  /("?(?:secretAccessKey|sessionToken|SecretAccessKey|SessionToken|aws_secret_access_key|aws_session_token)"?\s*[:=]\s*"?)[^"\s,}]+/g,
];

/** Removes anything that looks like a credential or signature from text bound for stderr. */
export function redact(text: string): string {
  let out = text;
  for (const re of SECRET_PATTERNS) out = out.replace(re, '$1[redacted]');
  for (const name of ['AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) {
    const v = process.env[name];
    if (v && v.length >= 8) out = out.split(v).join('[redacted]');
  }
  return out;
}
