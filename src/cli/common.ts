// Options every binary shares (vault, region, profile, endpoint, account id, timeouts, quiet, progress, debug),
// turned into the request layer's Glacier target.
import type { GlacierClient } from '@aws-sdk/client-glacier';
import { DEFAULT_TIMEOUT_MS } from '../core/client.js';
import { readFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { resolveConfig } from '../core/config.js';
import { classify, openGlacier, type Glacier } from '../core/glacier.js';
import { setRateLimit } from '../core/rate.js';
import { sizeArg } from '../core/units.js';
import { interruption, redact, type Argv, type CliSpec } from './runtime.js';

export const COMMON_STRINGS = ['vault', 'region', 'profile', 'endpoint', 'account-id', 'cli-connect-timeout', 'cli-read-timeout', 'ca-bundle'];
export const COMMON_BOOLEANS = ['quiet', 'progress', 'json', 'verify-ssl'];
export const COMMON_ALIAS = { v: 'vault', q: 'quiet' };

/** --limit-rate RATE and its alias --bwlimit (rsync's and rclone's spelling), for the binaries that move archive bytes. */
export const RATE_STRINGS = ['limit-rate', 'bwlimit'];
/** The --help lines of --limit-rate, their text starting at `column` as the other options' do. */
export function rateHelp(column = 24): string {
  const pad = ' '.repeat(column);
  return `${'  --limit-rate RATE'.padEnd(column)}at most RATE bytes a second of archive bytes, all parts or pieces in
${pad}flight together, paced evenly (a SIZE a second: 5M, 512K; a bare number is MiB);
${pad}downloads then ask for pieces of at most 1/4 s of RATE; --bwlimit is the same`;
}

export const COMMON_HELP = `Common options:
  -v, --vault NAME      the vault (or GLACIER_VAULT)
  --region REGION       AWS region (else AWS_REGION / the profile's)
  --profile NAME        AWS profile for credentials and region
  --endpoint URL        service endpoint (else AWS_ENDPOINT_URL_GLACIER / AWS_ENDPOINT_URL), e.g. glacier-local's;
                        --endpoint-url is the same (the AWS CLI's spelling)
  --ca-bundle FILE      trust the CA certificates in FILE (PEM) too (as AWS_CA_BUNDLE)
  --no-verify-ssl       do not verify TLS certificates (warned on stderr; for a test endpoint only)
  --account-id ID       account id (default -, the credentials' own)
  --cli-connect-timeout SECONDS, --cli-read-timeout SECONDS
                        give up on a connection not made / a socket idle that long (default 60; 0 = never);
                        retried like any network failure (AWS_MAX_ATTEMPTS, default 10 attempts)
  -q, --quiet           no warnings or progress on stderr
  --progress, --no-progress   progress on stderr (default: when stderr is a terminal)
  --debug               requests and stack traces on stderr (secrets are never printed)
  --json                JSON lines on stdout even on a terminal (a listing prints a table there otherwise);
                        --output json is the same (the AWS CLI's spelling)
  -h, --help, --version
  A SIZE is 8M, 64MiB, 2G (a bare number is MiB); a DURATION 30s, 15m, 4h, 1d12h, 1w (a unit is required).
Environment: AWS_CA_BUNDLE (or ca_bundle in the profile) adds a trusted CA; HTTPS_PROXY, HTTP_PROXY and NO_PROXY
  are honoured by every request, part uploads and downloads included (CONNECT for https endpoints).`;

/**
 * The common option set for the binaries that make no request (glacier-chunk, glacier-pack, glacier-treehash):
 * -q, --progress/--no-progress, --debug as everywhere; --region, --profile and --endpoint accepted and checked
 * as everywhere (checkSettings), so one command line's settings can be given to every binary of a pipe.
 */
export function withLocalCommon(spec: Omit<CliSpec, 'usage'> & { usage: string }): CliSpec {
  return {
    ...spec,
    string: ['region', 'profile', 'endpoint', 'ca-bundle', ...(spec.string ?? [])],
    boolean: ['quiet', 'progress', 'verify-ssl', ...(spec.boolean ?? [])],
    alias: { q: 'quiet', ...spec.alias },
  };
}

export const LOCAL_HELP = `  --progress, --no-progress   progress on stderr (default: when stderr is a terminal); -q: none
  --debug            stack traces on errors
  --region, --profile NAME, --endpoint URL (--endpoint-url), --ca-bundle FILE, --no-verify-ssl
                     accepted and checked as by every glacier-* binary (a profile must exist, a CA bundle
                     be readable), so one set of settings fits every command of a pipe; no effect here
  -h, --help, --version`;

/** Checks --profile (it must exist, as the AWS CLI says) and --endpoint; UsageError (exit 2) otherwise. */
export function checkSettings(argv: Argv): void {
  if (argv.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(String(argv.endpoint))) throw new UsageError(`invalid --endpoint "${argv.endpoint}": expected http(s)://host[:port]`);
  if (argv.profile !== undefined) resolveConfig({ profile: String(argv.profile) });
  caBundleEnv(argv);
}

/**
 * --ca-bundle FILE (the AWS CLI's option): the environment the request layer reads, with AWS_CA_BUNDLE set to FILE
 * (an option wins over the environment and the profile, as in the AWS CLI). Throws UsageError when FILE cannot be
 * read or holds no PEM certificate (an empty or DER file would otherwise fail later, as a TLS error).
 */
function caBundleEnv(argv: Argv): NodeJS.ProcessEnv {
  if (argv['ca-bundle'] === undefined) return process.env;
  const file = String(argv['ca-bundle']);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --ca-bundle ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; give a PEM file of CA certificates`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new UsageError(`--ca-bundle ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give a PEM file of CA certificates`);
  return { ...process.env, AWS_CA_BUNDLE: file };
}

/** Whether --no-verify-ssl was given (the last of --verify-ssl / --no-verify-ssl wins). */
function noVerifySsl(args = process.argv.slice(2)): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).filter((a) => a === '--verify-ssl' || a === '--no-verify-ssl').at(-1) === '--no-verify-ssl';
}

/** --limit-rate / --bwlimit: bytes per second (a SIZE: 5M, 512K; a bare number is MiB), or undefined. UsageError otherwise. */
export function rateOption(argv: Argv): number | undefined {
  const v = argv['limit-rate'] ?? argv.bwlimit;
  if (v === undefined) return undefined;
  const name = argv['limit-rate'] !== undefined ? 'limit-rate' : 'bwlimit';
  // --no-limit-rate reaches here as "false": there is no limit to turn off unless one is given.
  if (v === false || v === 'false' || v === 'true') throw new UsageError(`--${name} takes a rate (5M, 512K; a bare number is MiB); to remove a limit, leave --${name} out`);
  if (/^\s*0*(\.0*)?\s*[kmgt]?i?b?\s*$/i.test(String(v)) && /\d/.test(String(v))) throw new UsageError(`invalid --${name} "${v}": it must be more than 0 (5M, 512K); to remove a limit, leave --${name} out`);
  return sizeArg(`--${name}`, v);
}

export function withCommon(spec: Omit<CliSpec, 'usage'> & { usage: string }): CliSpec {
  return {
    ...spec,
    string: [...COMMON_STRINGS, ...(spec.string ?? [])],
    boolean: [...COMMON_BOOLEANS, ...(spec.boolean ?? [])],
    alias: { ...COMMON_ALIAS, ...spec.alias },
    default: spec.default,
  };
}

export interface Common {
  vault: string;
  accountId: string;
  /** The request layer's target: every request goes through send/paginate with it. */
  glacier: Glacier;
  client: GlacierClient;
  quiet: boolean;
  progress: boolean;
  debug: boolean;
  warn(message: string): void;
  endpoint?: string;
  region?: string;
}

/** --progress / --no-progress, else whether stderr is a terminal. (minimist turns an absent boolean into false.) */
export function progressWanted(args = process.argv.slice(2)): boolean {
  const end = args.indexOf('--');
  const opts = end < 0 ? args : args.slice(0, end);
  const last = opts.filter((a) => a === '--progress' || a === '--no-progress').at(-1);
  return last === undefined ? Boolean(process.stderr.isTTY) : last === '--progress';
}

export function vaultOf(argv: Argv, required = true): string {
  const vault = argv.vault ?? process.env.GLACIER_VAULT;
  if (!vault && required) throw new UsageError('no vault: give -v NAME or set GLACIER_VAULT');
  // '.' and '..' are path segments, not names: the SDK would send them as /vaults/.. (another operation's path).
  if (vault && (!/^[A-Za-z0-9_.-]{1,255}$/.test(String(vault)) || /^\.\.?$/.test(String(vault)))) throw new UsageError(`invalid vault name "${vault}": 1-255 characters of a-z, A-Z, 0-9, '_', '-', '.', other than . and ..`);
  return vault ? String(vault) : '';
}

export function common(name: string, argv: Argv, opts: { vaultRequired?: boolean } = {}): Common {
  const vault = vaultOf(argv, opts.vaultRequired ?? true);
  const accountId = String(argv['account-id'] ?? '-');
  if (accountId !== '-' && !/^\d{12}$/.test(accountId)) throw new UsageError(`invalid --account-id "${accountId}": 12 digits or -`);
  if (argv.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(String(argv.endpoint))) throw new UsageError(`invalid --endpoint "${argv.endpoint}": expected http(s)://host[:port]`);
  const quiet = Boolean(argv.quiet);
  const debug = Boolean(argv.debug);
  const stderr = (line: string) => process.stderr.write(`${name}: ${redact(line)}\n`);
  const insecure = noVerifySsl();
  // As the AWS CLI warns (urllib3's InsecureRequestWarning), even with -q: a security setting is never silent.
  if (insecure) stderr('warning: --no-verify-ssl: TLS certificates are not verified; anyone on the network path can read and change this traffic');
  setRateLimit(rateOption(argv));
  const glacier = openGlacier({
    region: argv.region,
    profile: argv.profile,
    endpoint: argv.endpoint,
    accountId,
    connectTimeoutMs: secondsOption(argv, 'cli-connect-timeout'),
    readTimeoutMs: secondsOption(argv, 'cli-read-timeout'),
    verifyTls: !insecure,
    signal: interruption.signal,
    debug: debug ? (l) => stderr(`debug: ${l}`) : undefined,
    onRetry: debug ? (l) => stderr(`debug: retry ${l}`) : undefined,
  }, caBundleEnv(argv));
  return {
    vault,
    accountId,
    glacier,
    client: glacier.client,
    quiet,
    debug,
    progress: !quiet && progressWanted(),
    warn: (m) => (quiet ? undefined : stderr(`warning: ${m}`)),
    endpoint: argv.endpoint,
    region: argv.region,
  };
}

export { checkDescription } from '../core/description.js';

export function sizeOption(argv: Argv, name: string): number | undefined {
  const v = argv[name];
  if (v === undefined) return undefined;
  return sizeArg(`--${name}`, v);
}

/** --cli-connect-timeout / --cli-read-timeout: seconds as the AWS CLI takes them (0 = no limit), in ms. */
export function secondsOption(argv: Argv, name: string): number {
  const v = argv[name];
  if (v === undefined) return DEFAULT_TIMEOUT_MS;
  const n = Number(v);
  if (String(v).trim() === '' || !Number.isFinite(n) || n < 0) throw new UsageError(`invalid --${name} "${v}": seconds, 0 for no limit`);
  return Math.round(n * 1000);
}

/** The request layer's classification, for code that still holds a raw SDK error. */
export function explain(e: unknown, what: { vault?: string; endpoint?: string } = {}): Error {
  return classify(e, { input: what.vault ? { vaultName: what.vault } : undefined, endpoint: what.endpoint });
}
