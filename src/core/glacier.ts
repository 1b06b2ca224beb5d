// The one way to talk to Glacier. `send` sends one command under one retry policy (throttling, 408, 5xx, timeouts,
// dropped and refused connections; exponential backoff with full jitter; a bound on attempts and on total time),
// `paginate` follows a listing's Marker through every page (a marker seen twice is an error), and `classify` turns
// any failure into a typed error with one line to print. Every binary reaches the service through here.
import type { GlacierClient, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-glacier';
import type { Command } from '@smithy/types';
import { makeClient, type ClientOptions } from './client.js';
import { resolveConfig, type RetryPolicy } from './config.js';
import { GlacierPipesError, IntegrityError, InterruptedError, ServiceError, UsageError } from './errors.js';
import { isRetryable, sleep } from './retry.js';

export type { RetryPolicy } from './config.js';

/** Everything a request needs: the client, whose account, the retry policy and what ends a run (a signal). */
export interface Glacier {
  client: GlacierClient;
  accountId: string;
  policy: RetryPolicy;
  /** Aborted by SIGINT/SIGTERM; its reason (an InterruptedError) is what an interrupted request throws. */
  signal?: AbortSignal;
  region?: string;
  endpoint?: string;
  /** Told of each retry (the --debug line). */
  onRetry?: (line: string) => void;
  random?: () => number;
}

export interface GlacierOptions extends Omit<ClientOptions, 'credentials'> {
  accountId?: string;
  signal?: AbortSignal;
  onRetry?: (line: string) => void;
}

/**
 * A Glacier target from options and the environment: credentials, region and retry policy as the AWS CLI
 * resolves them (src/core/config.ts). Throws UsageError for a named profile that does not exist or a bad
 * retry setting. Never edits process.env.
 */
export function openGlacier(o: GlacierOptions = {}, env: Record<string, string | undefined> = process.env): Glacier {
  const cfg = resolveConfig({ profile: o.profile, region: o.region }, env);
  const client = makeClient({ ...o, region: cfg.region, profile: cfg.profile, credentials: cfg.credentials, env });
  return { client, accountId: o.accountId ?? '-', policy: cfg.retry, signal: o.signal, region: cfg.region, endpoint: o.endpoint, onRetry: o.onRetry };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type GlacierCommand<I extends ServiceInputTypes, O extends ServiceOutputTypes> = Command<ServiceInputTypes, I, ServiceOutputTypes, O, any>;

export interface SendOptions {
  /**
   * Sent to the end even after SIGINT/SIGTERM (Initiate, Complete, Abort): an upload the service opened, completed
   * or aborted without our hearing of it would leave a journal and a vault that disagree.
   */
  mustFinish?: boolean;
  /** The body's SHA-256 and tree hash (hex), so the body is not hashed a second time. */
  hashes?: { sha256: string; treeHash: string };
}

/** The error a request ended with, classified; `code` is the service's error code (or the network error's). */
export class GlacierError extends ServiceError {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | undefined,
    readonly operation: string,
    readonly attempts: number,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/**
 * Sends one command with the retry policy of `g`. Resolves with the service's answer; rejects with the signal's
 * InterruptedError when interrupted (unless `mustFinish`), or with the classified error (GlacierError, or
 * UsageError for a missing region or credentials) once the policy gives up.
 */
export async function send<I extends ServiceInputTypes, O extends ServiceOutputTypes>(g: Glacier, command: GlacierCommand<I, O>, o: SendOptions = {}): Promise<O> {
  if (!g.region) throw new UsageError('You must specify a region: give --region, set AWS_REGION, or set region in the profile ("aws configure")');
  const operation = command.constructor.name.replace(/Command$/, '');
  if (o.hashes) {
    const { sha256, treeHash } = o.hashes;
    // Ahead of the client's checksum step, which keeps headers already set: the part's hashes go with its request.
    command.middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { headers?: Record<string, string> };
        if (req.headers) req.headers = { ...req.headers, 'x-amz-content-sha256': sha256, 'x-amz-sha256-tree-hash': treeHash };
        return next(args);
      },
      { step: 'build', priority: 'high', name: 'glacierPipesKnownHashes', override: true },
    );
  }
  const signal = o.mustFinish ? undefined : g.signal;
  const random = g.random ?? Math.random;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw interrupted(signal);
    try {
      return (await g.client.send(command, { abortSignal: signal })) as O;
    } catch (e) {
      if (signal?.aborted) throw interrupted(signal);
      const delay = Math.floor(random() * Math.min(g.policy.capMs, g.policy.baseMs * 2 ** (attempt - 1)));
      if (attempt >= g.policy.maxAttempts || !isRetryable(e) || Date.now() - started + delay > g.policy.totalMs) {
        throw classify(e, { operation, input: command.input as unknown as Record<string, unknown>, endpoint: g.endpoint, attempts: attempt });
      }
      g.onRetry?.(`${operation}: ${errorCode(e)}; attempt ${attempt + 1} of ${g.policy.maxAttempts} in ${delay} ms`);
      await sleep(delay, signal).catch(() => {
        throw interrupted(signal!);
      });
    }
  }
}

function interrupted(signal: AbortSignal): GlacierPipesError {
  return signal.reason instanceof GlacierPipesError ? signal.reason : new InterruptedError('SIGINT');
}

/**
 * Every page of a listing, in order. `page(marker)` makes the command for one page (marker undefined for the
 * first). A marker the service hands out a second time would loop forever: ServiceError (exit 1). Stops with
 * the signal's InterruptedError between and during pages.
 */
export async function* paginate<I extends ServiceInputTypes, O extends ServiceOutputTypes & { Marker?: string | null }>(g: Glacier, page: (marker: string | undefined) => GlacierCommand<I, O>): AsyncGenerator<O> {
  const seen = new Set<string>();
  let marker: string | undefined;
  do {
    if (g.signal?.aborted) throw interrupted(g.signal);
    const cmd = page(marker);
    const r = await send(g, cmd);
    yield r;
    const next = r.Marker ?? undefined;
    if (next !== undefined && seen.has(next)) {
      throw new ServiceError(`${cmd.constructor.name.replace(/Command$/, '')}: the service returned page marker ${next.slice(0, 40)} a second time; stopping rather than loop`);
    }
    if (next !== undefined) seen.add(next);
    marker = next;
  } while (marker);
}

/** Glacier checksums are hex; the service may answer in either case. */
export function sameHash(a: string | null | undefined, b: string | null | undefined): boolean {
  return typeof a === 'string' && typeof b === 'string' && a.length > 0 && a.toLowerCase() === b.toLowerCase();
}

function errorCode(e: unknown): string {
  const err = e as { name?: string; code?: string };
  return (err?.name && err.name !== 'Error' ? err.name : err?.code) ?? 'Error';
}

export interface ErrorContext {
  operation?: string;
  input?: Record<string, unknown>;
  endpoint?: string;
  attempts?: number;
}

/**
 * Turns any failure into a typed error with one line to print: our own typed errors pass unchanged; service and
 * network errors become GlacierError (exit 1) or UsageError (exit 2: credentials missing, region missing or
 * invalid). The one place that knows the service's error codes.
 */
/** Node's (OpenSSL's) codes for a certificate that chains to no trusted CA. */
const TLS_TRUST_CODES = ['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED'];

export function classify(e: unknown, ctx: ErrorContext = {}): GlacierPipesError {
  if (e instanceof GlacierPipesError) return e;
  const err = e as Error & { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const msg = String(err?.message ?? e).split('\n')[0];
  const name = err?.name ?? 'Error';
  const vault = typeof ctx.input?.vaultName === 'string' ? ctx.input.vaultName : undefined;
  const op = ctx.operation ?? '';
  const status = err?.$metadata?.httpStatusCode;
  const tries = ctx.attempts && ctx.attempts > 1 ? ` (after ${ctx.attempts} attempts)` : '';
  const out = (text: string) => new GlacierError(text, errorCode(e), status, op, ctx.attempts ?? 1, e);
  switch (name) {
    case 'CredentialsProviderError':
      return new UsageError(`no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile (${msg})`);
    case 'UnrecognizedClientException':
    case 'InvalidSignatureException':
    case 'AccessDeniedException':
    case 'ExpiredTokenException':
      return out(`the service refused the credentials: ${name}: ${msg}`);
    case 'ResourceNotFoundException':
      if (/vault not found/i.test(msg) && vault) {
        return out(op === 'DeleteVault' ? `vault "${vault}" not found (${msg}); nothing to delete` : `vault "${vault}" not found (${msg}); create it with: glacier-vault create ${vault}`);
      }
      return out(msg);
    case 'InvalidParameterValueException':
      // Glacier's answer to an archive id it cannot place (junk, or issued by another vault) names the vault's ARN, not the id.
      if (/^Invalid vault name: arn:/.test(msg) && vault) return out(`not an archive of vault "${vault}": not an archive id of this vault (mistyped, or issued by another vault; ${name}: ${msg})`);
      if (op === 'DeleteVault' && /not empty/i.test(msg) && vault) {
        return out(
          `cannot delete vault "${vault}": it is not empty or was written to recently (${msg}); ` +
            `delete its archives (jq -r '.ArchiveList[].ArchiveId' inventory.json | glacier-rm -v ${vault}), abort its uploads ` +
            `(glacier-abort -v ${vault} --all), and retry once a new inventory shows it empty`,
        );
      }
      break;
  }
  if (/Region is missing/i.test(msg)) return new UsageError('You must specify a region: give --region, set AWS_REGION, or set region in the profile ("aws configure")');
  if (/Region not accepted|Invalid region/i.test(msg)) return new UsageError(`invalid region: ${msg}`);
  const where = ctx.endpoint ?? 'the Glacier endpoint';
  // Glacier never redirects, and the SDK follows no redirect: say what came back instead of "Unknown: UnknownError".
  if (status !== undefined && status >= 300 && status < 400) {
    const location = (e as { $response?: { headers?: Record<string, string> } })?.$response?.headers?.location;
    return out(`${op ? `${op}: ` : ''}${where} answered HTTP ${status}, a redirect${location ? ` to ${location.slice(0, 200)}` : ''}, which is not followed: check --endpoint and --region`);
  }
  if (err?.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(msg)) return out(`cannot connect to ${where}: connection refused${tries}`);
  if (name === 'TimeoutError' || err?.code === 'ETIMEDOUT' || /timed? ?out/i.test(msg)) {
    return out(`${op ? `${op}: ` : ''}no answer from ${where} in time (${/connection/i.test(msg) ? 'connecting' : 'waiting for data'})${tries}; see --cli-connect-timeout / --cli-read-timeout`);
  }
  if (['ECONNRESET', 'EPIPE', 'ECONNABORTED'].includes(err?.code ?? '') || /socket hang up|aborted|premature close/i.test(msg)) {
    return out(`${op ? `${op}: ` : ''}the connection to ${where} was cut${tries}`);
  }
  // The server's certificate chains to no CA we trust (glacier-local --tls, a company proxy): say how to trust it.
  if (TLS_TRUST_CODES.includes(err?.code ?? '') || /self[- ]signed certificate|unable to (verify the first|get local issuer) certificate/i.test(msg)) {
    return out(`${msg}: the TLS certificate of ${where} is not trusted; give its CA with --ca-bundle FILE or AWS_CA_BUNDLE`);
  }
  if (name === 'IntegrityError') return new IntegrityError(msg);
  return out(`${name !== 'Error' ? `${name}: ` : ''}${msg}${tries}`);
}
