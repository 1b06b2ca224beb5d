// Options every binary shares (vault, region, profile, endpoint, account id, quiet, progress, debug), and how
// service errors become one clear line.
import type { GlacierClient } from '@aws-sdk/client-glacier';
import { makeClient } from '../core/client.js';
import { GlacierPipesError, ServiceError, UsageError } from '../core/errors.js';
import { sizeArg } from '../core/units.js';
import { redact, type Argv, type CliSpec } from './runtime.js';

export const COMMON_STRINGS = ['vault', 'region', 'profile', 'endpoint', 'account-id'];
export const COMMON_BOOLEANS = ['quiet', 'progress'];
export const COMMON_ALIAS = { v: 'vault', q: 'quiet' };

export const COMMON_HELP = `Common options:
  -v, --vault NAME      the vault (or GLACIER_VAULT)
  --region REGION       AWS region (else AWS_REGION / the profile's)
  --profile NAME        AWS profile for credentials and region
  --endpoint URL        service endpoint (else AWS_ENDPOINT_URL_GLACIER / AWS_ENDPOINT_URL), e.g. glacier-local's
  --account-id ID       account id (default -, the credentials' own)
  -q, --quiet           no warnings or progress on stderr
  --progress, --no-progress   progress on stderr (default: when stderr is a terminal)
  --debug               requests and stack traces on stderr (secrets are never printed)
  -h, --help, --version`;

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
  const client = makeClient({
    region: argv.region,
    profile: argv.profile,
    endpoint: argv.endpoint,
    debug: debug ? (l) => stderr(`debug: ${l}`) : undefined,
  });
  return {
    vault,
    accountId,
    client,
    quiet,
    debug,
    progress: !quiet && progressWanted(),
    warn: (m) => (quiet ? undefined : stderr(`warning: ${m}`)),
    endpoint: argv.endpoint,
    region: argv.region,
  };
}

/** An archive or job description: printable ASCII, at most 1024 characters, checked before any request. */
export function checkDescription(d: string): string {
  if (d.length > 1024) throw new UsageError(`description is ${d.length} characters; at most 1024 are allowed`);
  const bad = [...d].find((c) => !/^[\x20-\x7e]$/.test(c));
  if (bad !== undefined) throw new UsageError(`description must be printable ASCII; it contains ${JSON.stringify(bad)} (U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
  return d;
}

export function sizeOption(argv: Argv, name: string): number | undefined {
  const v = argv[name];
  if (v === undefined) return undefined;
  return sizeArg(`--${name}`, v);
}

/** Turns an SDK or network failure into an error whose message is one useful line. */
export function explain(e: unknown, what: { vault?: string; endpoint?: string } = {}): Error {
  if (e instanceof GlacierPipesError) return e;
  const err = e as Error & { name: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const msg = (err?.message ?? String(e)).split('\n')[0];
  switch (err?.name) {
    case 'ResourceNotFoundException':
      return new ServiceError(/Vault not found/.test(msg) && what.vault ? `vault "${what.vault}" not found (${msg}); create it with: glacier-vault create ${what.vault}` : msg);
    case 'CredentialsProviderError':
      return new UsageError(`no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile (${msg})`);
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'AccessDeniedException':
    case 'ExpiredTokenException':
      return new ServiceError(`the service refused the credentials: ${err.name}: ${msg}`);
    case 'InvalidParameterValueException':
      // Glacier's answer to an archive id issued by another vault names the vault's ARN, not the id.
      if (/^Invalid vault name: arn:/.test(msg) && what.vault) return new ServiceError(`not an archive of vault "${what.vault}": the id was issued by another vault (${err.name}: ${msg})`);
      break;
  }
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return new ServiceError(`cannot connect to ${what.endpoint ?? 'the Glacier endpoint'}: connection refused`);
  if (/Region is missing/i.test(msg)) return new UsageError('no AWS region: give --region or set AWS_REGION');
  if (/Region not accepted/i.test(msg)) return new UsageError(`invalid region: ${msg}`);
  return new ServiceError(err?.name && err.name !== 'Error' ? `${err.name}: ${msg}` : msg);
}
