// Options every binary shares (vault, region, profile, endpoint, account id, timeouts, quiet, progress, debug),
// turned into the request layer's Glacier target.
import type { GlacierClient } from '@aws-sdk/client-glacier';
import { DEFAULT_TIMEOUT_MS } from '../core/client.js';
import { UsageError } from '../core/errors.js';
import { resolveConfig } from '../core/config.js';
import { classify, openGlacier, type Glacier } from '../core/glacier.js';
import { sizeArg } from '../core/units.js';
import { interruption, redact, type Argv, type CliSpec } from './runtime.js';

export const COMMON_STRINGS = ['vault', 'region', 'profile', 'endpoint', 'account-id', 'cli-connect-timeout', 'cli-read-timeout'];
export const COMMON_BOOLEANS = ['quiet', 'progress', 'json'];
export const COMMON_ALIAS = { v: 'vault', q: 'quiet' };

export const COMMON_HELP = `Common options:
  -v, --vault NAME      the vault (or GLACIER_VAULT)
  --region REGION       AWS region (else AWS_REGION / the profile's)
  --profile NAME        AWS profile for credentials and region
  --endpoint URL        service endpoint (else AWS_ENDPOINT_URL_GLACIER / AWS_ENDPOINT_URL), e.g. glacier-local's
  --account-id ID       account id (default -, the credentials' own)
  --cli-connect-timeout SECONDS, --cli-read-timeout SECONDS
                        give up on a connection not made / a socket idle that long (default 60; 0 = never);
                        retried like any network failure (AWS_MAX_ATTEMPTS, default 10 attempts)
  -q, --quiet           no warnings or progress on stderr
  --progress, --no-progress   progress on stderr (default: when stderr is a terminal)
  --debug               requests and stack traces on stderr (secrets are never printed)
  --json                JSON lines on stdout even on a terminal (a listing prints a table there otherwise)
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
    string: ['region', 'profile', 'endpoint', ...(spec.string ?? [])],
    boolean: ['quiet', 'progress', ...(spec.boolean ?? [])],
    alias: { q: 'quiet', ...spec.alias },
  };
}

export const LOCAL_HELP = `  --progress, --no-progress   progress on stderr (default: when stderr is a terminal); -q: none
  --debug            stack traces on errors
  --region, --profile NAME, --endpoint URL   accepted and checked as by every glacier-* binary (a profile
                     must exist), so one set of settings fits every command of a pipe; no effect here
  -h, --help, --version`;

/** Checks --profile (it must exist, as the AWS CLI says) and --endpoint; UsageError (exit 2) otherwise. */
export function checkSettings(argv: Argv): void {
  if (argv.endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(String(argv.endpoint))) throw new UsageError(`invalid --endpoint "${argv.endpoint}": expected http(s)://host[:port]`);
  if (argv.profile !== undefined) resolveConfig({ profile: String(argv.profile) });
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
  const glacier = openGlacier({
    region: argv.region,
    profile: argv.profile,
    endpoint: argv.endpoint,
    accountId,
    connectTimeoutMs: secondsOption(argv, 'cli-connect-timeout'),
    readTimeoutMs: secondsOption(argv, 'cli-read-timeout'),
    signal: interruption.signal,
    debug: debug ? (l) => stderr(`debug: ${l}`) : undefined,
    onRetry: debug ? (l) => stderr(`debug: retry ${l}`) : undefined,
  });
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
