// glacier-local's HTTP front: request ids, path checks, SigV4 authentication, fault injection, error bodies and
// the request log and counters. Each request's route (routes.ts) names the handler that serves it; the admin
// API under /_local/ is admin.ts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { admin } from './admin.js';
import { header, type LocalState } from './context.js';
import type { DataLock } from './data-lock.js';
import { answerFor, authenticate, discardRest } from './guard.js';
import { GlacierError, missingParam } from './glacier-error.js';
import { newRequestId, REGION_RE } from './ids.js';
import { Faults, injectFaults, type FaultRule } from './faults.js';
import { Inventories, type InventoryMode } from './inventory.js';
import { DEFAULT_DELAYS, DEFAULT_JOB_EXPIRY_MS, Jobs, type Tier } from './jobs.js';
import { route } from './routes.js';
import { Store } from './store.js';
import type { Vfs } from './vfs.js';

export interface LocalOptions {
  vfs: Vfs;
  accessKeyId: string;
  secretAccessKey: string;
  accountId?: string;
  /** Page size used when a list request gives no limit, and the most a page holds. */
  pageSize?: number;
  jobDelays?: Partial<Record<Tier, number>>;
  /** When GetJobOutput carries x-amz-sha256-tree-hash: 'tree' (developer guide, default) or 'megabyte' (API reference). */
  checksumRule?: 'tree' | 'megabyte';
  /** A request body that stalls this long is answered 408. */
  bodyTimeoutMs?: number;
  faults?: FaultRule[];
  /** 'live' (default): inventories and counts are current; 'snapshot': they come from the last snapshot. */
  inventory?: InventoryMode;
  /** Snapshot mode: take a snapshot of every vault this often (ms); none when 0 or absent (admin call only). */
  snapshotIntervalMs?: number;
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: Buffer; cert: Buffer };
  /** How long a finished job stays (ms, default 24 h); then DescribeJob and GetJobOutput answer 404. */
  jobExpiryMs?: number;
  /** Serve the admin API under /_local/ (SigV4-signed with the same key pair). Off by default. */
  admin?: boolean;
  /** Connections served at once; more are closed as they come (default 256). */
  maxConnections?: number;
  random?: () => number;
  now?: () => number;
}

export class GlacierLocal implements LocalState {
  readonly store: Store;
  readonly jobs: Jobs;
  readonly inventories: Inventories;
  readonly faults: Faults;
  /** Requests per operation since start (or the last reset), for tests to assert retries. */
  readonly counters: Record<string, number> = {};
  /** One entry per request: op, method, path, status, fault, error code and the ids it touched. */
  readonly requestLog: Record<string, unknown>[] = [];
  readonly server: http.Server | https.Server;
  readonly accountId: string;
  readonly bodyTimeoutMs: number;
  pageSize: number | undefined;
  delays: Record<Tier, number>;
  checksumRule: 'tree' | 'megabyte';
  readonly now: () => number;
  private snapshotTimer: NodeJS.Timeout | undefined;
  private lock: DataLock | undefined;
  private readonly inflight = new Set<Promise<void>>();
  /** Aborted by close(): requests held by a `slow` fault end at once rather than when their delay runs out. */
  private readonly closing = new AbortController();

  constructor(private readonly opts: LocalOptions) {
    this.accountId = opts.accountId ?? '123456789012';
    this.store = new Store(opts.vfs, this.accountId);
    this.delays = { ...DEFAULT_DELAYS, ...opts.jobDelays };
    this.inventories = new Inventories(opts.inventory ?? 'live');
    this.jobs = new Jobs(this.store, { delays: () => this.delays, expiryMs: opts.jobExpiryMs ?? DEFAULT_JOB_EXPIRY_MS, inventories: this.inventories });
    this.faults = new Faults(opts.random);
    if (opts.faults) this.faults.set(opts.faults);
    this.pageSize = opts.pageSize;
    this.checksumRule = opts.checksumRule ?? 'tree';
    this.bodyTimeoutMs = opts.bodyTimeoutMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    // Header deadlines are enforced only as often as Node checks them (every 30 s by default): checked every
    // second, a connection without complete headers goes after 10-11 s, not up to 40 s. With TLS the handshake
    // has the same 10 s (Node's default is 120 s).
    const checking = { connectionsCheckingInterval: 1_000 };
    this.server = opts.tls
      ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert, handshakeTimeout: 10_000, ...checking }, handler)
      : http.createServer(checking, handler);
    // One client must not starve the rest: a cap on connections (more are closed as they come), a deadline for a
    // request's headers, and refused requests' connections closed (guard.ts). Bodies have their own stall timeouts
    // (receive, readSmallBody), so the whole-request timeout stays off: a 4 GiB part may take long, and that is
    // fine. Idle keep-alive stays 30 s: shorter, clients that reuse a socket as it closes see resets.
    this.server.maxConnections = opts.maxConnections ?? 256;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 30_000;
  }

  /** Loads the store, then listens; resolves to the endpoint URL (http://HOST:PORT, or https:// with TLS). */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    // The lock before anything reads or cleans the folder: start-up clean-up is safe only for its sole user.
    // Throws DataDirBusyError when another process holds it.
    this.lock = await this.store.vfs.lock?.();
    try {
      await this.store.load((v, dir) => this.jobs.load(v, dir));
      if (this.inventories.mode === 'snapshot') {
        // Snapshots are not kept across restarts: a start counts as a snapshot run.
        this.inventories.snapshot(this.store.listAllVaults(), this.now());
        if (this.opts.snapshotIntervalMs) {
          this.snapshotTimer = setInterval(() => this.inventories.snapshot(this.store.listAllVaults(), this.now()), this.opts.snapshotIntervalMs);
          this.snapshotTimer.unref();
        }
      }
      await new Promise<void>((res, rej) => {
        this.server.once('error', rej);
        this.server.listen(port, host, () => res());
      });
    } catch (e) {
      clearInterval(this.snapshotTimer);
      await this.lock?.release();
      throw e;
    }
    const a = this.server.address() as AddressInfo;
    return `${this.opts.tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
    clearInterval(this.snapshotTimer);
    this.closing.abort();
    this.server.closeAllConnections();
    await new Promise<void>((res) => this.server.close(() => res()));
    // Requests cut off above may still be finishing a write: the folder is released once they are done.
    await Promise.allSettled([...this.inflight]);
    await this.lock?.release();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const p = this.serve(req, res);
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    res.setHeader('x-amzn-RequestId', requestId);
    res.setHeader('Date', new Date(this.now()).toUTCString());
    const url = new URL(req.url ?? '/', 'http://local');
    const isAdmin = url.pathname.startsWith('/_local/');
    // URL parsing resolves '..' and '%2e%2e' segments, while the signature covers the raw path with '%2e%2e' kept
    // as it is: '/vaults/v/archives/%2e%2e/%2e%2e/w' signed as an archive delete would delete vault w. Refused.
    // (A backslash is read as '/' too.)
    const rawPath = (req.url ?? '/').split('?')[0];
    const dotted = rawPath.includes('\\') || rawPath.split('/').some((s) => /^(\.|%2e){1,2}$/i.test(s));
    const r = dotted || isAdmin ? undefined : route(req.method ?? 'GET', url.pathname);
    const op = isAdmin ? 'Admin' : (r?.op ?? 'Unknown');
    // The admin API's own calls are neither counted nor logged: tests read those to see what clients did.
    if (!isAdmin) this.counters[op] = (this.counters[op] ?? 0) + 1;
    const log: Record<string, unknown> = { op, method: req.method, path: url.pathname };
    let authenticated = false;
    try {
      if (dotted) throw new GlacierError(400, 'InvalidParameterValueException', `Invalid request path: ${rawPath}: '.' and '..' segments (also percent-encoded) are not allowed`);
      if (isAdmin && !this.opts.admin) throw new GlacierError(404, 'UnknownOperationException', `No operation matches ${req.method} ${url.pathname}: the admin API is off (start glacier-local with --admin)`);
      if (!isAdmin && !r) throw new GlacierError(400, 'UnknownOperationException', `No operation matches ${req.method} ${url.pathname}`);
      // The signature first, on every route: no body byte is read (nor kept) for a request not signed with our key.
      const auth = await authenticate(req, {
        streamsBody: Boolean(r?.streamsBody),
        lookupSecret: (id) => (id === this.opts.accessKeyId ? this.opts.secretAccessKey : undefined),
        now: new Date(this.now()),
      });
      if (!REGION_RE.test(auth.region)) throw new GlacierError(403, 'InvalidSignatureException', `Invalid region in the credential scope: ${auth.region}`);
      authenticated = true;
      if (isAdmin) return await admin(this, req, res, url, auth.body!);
      if (header(req, 'x-amz-glacier-version') !== '2012-06-01') throw missingParam('Required parameter missing: API version');
      if (r!.account !== '-' && r!.account !== this.accountId) {
        throw new GlacierError(403, 'AccessDeniedException', `Access denied: the account ID ${r!.account} in the request URI does not match the credentials`);
      }
      const faults = this.faults.pick(op);
      if (await injectFaults(faults, op, req, res, log, this.requestLog, this.closing.signal)) return;
      if (!r!.handler) throw new GlacierError(400, 'UnsupportedOperationException', `${op} is not supported by glacier-local`);
      await r!.handler({ local: this, req, res, route: r!, region: auth.region, url, body: auth.body, faults, log, now: this.now() });
    } catch (e) {
      // Never a server path or an internal message in the answer; the server's disk failing is a 503 to retry.
      const { err, detail } = answerFor(e);
      log.error = err.code;
      if (detail) log.detail = detail;
      if (!res.headersSent && !res.destroyed) {
        const payload = JSON.stringify({ code: err.code, message: err.message, type: err.type });
        // A connection that is closed after this answer says so, or a keep-alive client would send its next
        // request on it and see the socket hang up.
        res.writeHead(err.status, {
          'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'x-amzn-ErrorType': err.code, ...(authenticated ? {} : { Connection: 'close' }),
        });
        res.end(payload);
        discardRest(req, res, !authenticated);
      } else {
        res.destroy();
      }
    } finally {
      log.status = res.statusCode;
      if (!log.logged && !isAdmin) this.requestLog.push(log);
      if (this.requestLog.length > 100_000) this.requestLog.splice(0, 50_000);
    }
  }
}
