// What a glacier-local operation handler gets: the request, the server's state and the small helpers every
// handler shares (vault lookup, paging, empty and JSON replies). The HTTP front (server.ts) builds one Ctx per
// request after authentication and fault injection, then calls the route's handler.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GlacierError, invalidParam, missingParam, notFound } from './glacier-error.js';
import { VAULT_NAME_RE } from './ids.js';
import { validDescription, type Jobs } from './jobs.js';
import type { FaultKind, FaultRule } from './faults.js';
import type { Inventories } from './inventory.js';
import type { Route } from './routes.js';
import type { Store, Vault } from './store.js';

/** The server state handlers read and change. */
export interface LocalState {
  readonly store: Store;
  readonly jobs: Jobs;
  readonly inventories: Inventories;
  readonly accountId: string;
  /** Page size used when a list request gives no limit, and the most a page holds. */
  pageSize: number | undefined;
  checksumRule: 'tree' | 'megabyte';
  /** A request body that stalls this long is answered 408. */
  readonly bodyTimeoutMs: number;
}

export interface Ctx {
  local: LocalState;
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  region: string;
  url: URL;
  /** The buffered body of operations whose route does not stream it; null for streamed uploads. */
  body: Buffer | null;
  /** The faults that fire for this request (at most one of each kind). */
  faults: Map<FaultKind, FaultRule>;
  /** This request's entry in the request log: handlers add ids (uploadId, jobId, archiveId, range). */
  log: Record<string, unknown>;
  /** Milliseconds since the epoch, read once per request. */
  now: number;
}

export type Handler = (c: Ctx) => Promise<void>;

/** A request header's value, repeated headers joined by ','. */
export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** The vault named in the path; 404 ResourceNotFoundException when it does not exist. */
export function vaultOf(c: Ctx): Vault {
  const name = c.route.vault!;
  if (!VAULT_NAME_RE.test(name)) throw notFound(`Vault not found for ARN: ${c.local.store.arn(c.region, name)}`);
  return c.local.store.vault(c.region, name);
}

/** The marker answered on every page while a `repeat-marker` fault fires: never a real item's key. */
export const REPEATED_MARKER = 'glacier-local-repeated-marker';

/**
 * One page of `items` (already sorted) for the request's `limit` and `marker` query parameters.
 * The default page size is `dflt` (the service's, per operation) unless the server's page size is set.
 * Errors: 400 InvalidParameterValueException for a bad limit or an unknown marker. Under a `repeat-marker` fault
 * the first page is answered with Marker REPEATED_MARKER, whatever marker was sent.
 */
export function page<T>(c: Ctx, items: T[], key: (t: T) => string, dflt: number): { page: T[]; marker: string | null } {
  const max = c.local.pageSize ?? Infinity;
  const text = c.url.searchParams.get('limit');
  let limit = Math.min(c.local.pageSize ?? dflt, max);
  if (text !== null) {
    if (!/^[1-9]\d*$/.test(text)) throw invalidParam(`Invalid limit: ${text}. The limit must be a positive integer.`);
    limit = Math.min(Number(text), max, 1000);
  }
  if (c.faults.has('repeat-marker')) {
    c.log.fault = 'repeat-marker';
    return { page: items.slice(0, limit), marker: REPEATED_MARKER };
  }
  const marker = c.url.searchParams.get('marker');
  let start = 0;
  if (marker) {
    start = items.findIndex((t) => key(t) === marker);
    if (start < 0) throw invalidParam(`Invalid marker: ${marker}`);
  }
  return { page: items.slice(start, start + limit), marker: start + limit < items.length ? key(items[start + limit]) : null };
}

/** A 200 (or other) JSON reply with its Content-Length. */
export function json(c: Ctx, status: number, value: unknown): void {
  const payload = JSON.stringify(value);
  c.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
  c.res.end(payload);
}

/** A reply without a body (201, 202, 204): `Content-Length: 0` is sent, as the service does. */
export function empty(c: Ctx, status: number, headers: Record<string, string> = {}): void {
  c.res.writeHead(status, { ...headers, 'Content-Length': '0' });
  c.res.end();
}

/** The Location header's value for a resource of the account: /ACCOUNT/vaults/PARTS... */
export function location(c: Ctx, ...parts: string[]): string {
  return `/${c.local.accountId}/vaults/${parts.join('/')}`;
}

/** x-amz-archive-description, checked (at most 1024 printable ASCII), leading spaces dropped; null when absent. */
export function description(c: Ctx): string | null {
  const d = header(c.req, 'x-amz-archive-description');
  if (d === undefined) return null;
  if (!validDescription(d)) throw invalidParam('Invalid archive description. The description must be at most 1024 printable ASCII characters.');
  return d.replace(/^ +/, '');
}

/** The request's Content-Length; 400 MissingParameterValueException when absent or not a number. */
export function contentLength(c: Ctx): number {
  const cl = header(c.req, 'content-length');
  if (cl === undefined || !/^\d+$/.test(cl)) throw missingParam('Required parameter missing: Content-Length');
  return Number(cl);
}

/** 403 for an x-amz-content-sha256 that does not match the body, in the service's words. */
export function contentHashMismatch(computed: string, declared: string): GlacierError {
  return new GlacierError(
    403,
    'InvalidSignatureException',
    `The value passed in as x-amz-content-sha256 does not match the computed payload hash. Computed digest: ${computed} expected hash: ${declared}`,
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
