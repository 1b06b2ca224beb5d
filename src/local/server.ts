// glacier-local's HTTP front: authentication, fault injection, the vault API's operations and an admin API
// under /_local/ for tests (counters, request log, faults, forcing jobs, ageing uploads, settings).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isValidPartSize, TreeHasher, MiB } from '../core/tree-hash.js';
import { GlacierError, invalidParam, missingParam, notFound } from './glacier-error.js';
import { ID_RE, newRequestId, REGION_RE, VAULT_NAME_RE } from './ids.js';
import { Faults, parseFaultSpec, validateRules, type FaultKind, type FaultRule } from './faults.js';
import { Jobs, validDescription, TIERS, type Tier } from './jobs.js';
import { route, IMPLEMENTED, type Route } from './routes.js';
import { answerFor, authenticate, contentHashMismatch, discardRest } from './guard.js';
import { Store, type Vault } from './store.js';
import type { BlobWriter, Vfs } from './vfs.js';
import type { DataLock } from './data-lock.js';

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
  /** Serve the admin API under /_local/ (SigV4-signed with the same key pair). Off by default. */
  admin?: boolean;
  /** Connections served at once; more are closed as they come (default 256). */
  maxConnections?: number;
  random?: () => number;
  now?: () => number;
}

export const DEFAULT_DELAYS: Record<Tier, number> = { Expedited: 1000, Standard: 3000, Bulk: 5000 };
const UPLOAD_OPS = new Set(['UploadArchive', 'UploadMultipartPart']);

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  route: Route;
  region: string;
  url: URL;
  body: Buffer | null; // buffered body of non-upload operations
  faults: Map<FaultKind, FaultRule>;
  log: Record<string, unknown>;
}

export class GlacierLocal {
  readonly store: Store;
  readonly jobs: Jobs;
  readonly faults: Faults;
  readonly counters: Record<string, number> = {};
  readonly requestLog: Record<string, unknown>[] = [];
  readonly server: http.Server;
  readonly accountId: string;
  pageSize: number | undefined;
  delays: Record<Tier, number>;
  checksumRule: 'tree' | 'megabyte';
  private readonly now: () => number;
  private lock: DataLock | undefined;
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly opts: LocalOptions) {
    this.accountId = opts.accountId ?? '123456789012';
    this.store = new Store(opts.vfs, this.accountId);
    this.delays = { ...DEFAULT_DELAYS, ...opts.jobDelays };
    this.jobs = new Jobs(this.store, () => this.delays);
    this.faults = new Faults(opts.random);
    if (opts.faults) this.faults.set(opts.faults);
    this.pageSize = opts.pageSize;
    this.checksumRule = opts.checksumRule ?? 'tree';
    this.now = opts.now ?? Date.now;
    this.server = http.createServer((req, res) => this.handle(req, res));
    // One client must not starve the rest: a cap on connections (more are closed as they come), a deadline for a
    // request's headers, idle keep-alive sockets closed soon. Bodies have their own stall timeouts (receive,
    // readSmallBody), so the whole-request timeout stays off: a 4 GiB part may take long, and that is fine.
    this.server.maxConnections = opts.maxConnections ?? 256;
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 0;
    this.server.keepAliveTimeout = 5_000;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    // The lock before anything reads or cleans the folder: start-up clean-up is safe only for its sole user.
    this.lock = await this.store.vfs.lock?.();
    try {
      await this.store.load((v, dir) => this.jobs.load(v, dir));
      await new Promise<void>((res, rej) => {
        this.server.once('error', rej);
        this.server.listen(port, host, () => res());
      });
    } catch (e) {
      await this.lock?.release();
      throw e;
    }
    const a = this.server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async close(): Promise<void> {
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
    const r = dotted ? undefined : isAdmin ? (this.opts.admin ? { op: 'Admin', account: '-' } : undefined) : route(req.method ?? 'GET', url.pathname);
    const op = r?.op ?? 'Unknown';
    // The admin API's own calls are neither counted nor logged: tests read those to see what clients did.
    if (!isAdmin) this.counters[op] = (this.counters[op] ?? 0) + 1;
    const log: Record<string, unknown> = { op, method: req.method, path: url.pathname };
    try {
      if (dotted) throw new GlacierError(400, 'InvalidParameterValueException', `Invalid request path: ${rawPath}: '.' and '..' segments (also percent-encoded) are not allowed`);
      if (!r) throw new GlacierError(isAdmin ? 404 : 400, 'UnknownOperationException', `No operation matches ${req.method} ${url.pathname}${isAdmin ? ' (the admin API is off: start glacier-local with --admin)' : ''}`);
      // The signature first: no body byte is read (nor kept) for a request that is not signed with our key.
      const auth = await authenticate(req, {
        streamsBody: UPLOAD_OPS.has(op),
        lookupSecret: (id) => (id === this.opts.accessKeyId ? this.opts.secretAccessKey : undefined),
        now: new Date(this.now()),
      });
      const body = auth.body;
      if (!REGION_RE.test(auth.region)) throw new GlacierError(403, 'InvalidSignatureException', `Invalid region in the credential scope: ${auth.region}`);
      if (isAdmin) return await this.admin(req, res, url, body!);
      if (header(req, 'x-amz-glacier-version') !== '2012-06-01') throw missingParam('Required parameter missing: API version');
      if (r.account !== '-' && r.account !== this.accountId) {
        throw new GlacierError(403, 'AccessDeniedException', `Access denied: the account ID ${r.account} in the request URI does not match the credentials`);
      }
      const faults = this.faults.pick(op);
      if (faults.has('slow')) await sleep(faults.get('slow')!.ms ?? 2000);
      if (faults.has('drop') && op !== 'GetJobOutput') return await dropConnection(req, res, log, this.requestLog);
      for (const [kind, f] of [
        ['500', () => new GlacierError(500, 'ServiceUnavailableException', 'Service is temporarily unavailable. Please try again later.')],
        ['throttle', () => new GlacierError(400, 'ThrottlingException', 'Rate exceeded')],
        ['408', () => new GlacierError(408, 'RequestTimeoutException', 'Request timed out.')],
      ] as const) {
        if (faults.has(kind)) {
          log.fault = kind;
          await drain(req);
          throw f();
        }
      }
      if (!IMPLEMENTED.has(op)) throw new GlacierError(400, 'UnsupportedOperationException', `${op} is not supported by glacier-local`);
      await this.dispatch({ req, res, route: r, region: auth.region, url, body, faults, log });
    } catch (e) {
      const { err, detail } = answerFor(e);
      log.error = err.code;
      if (detail) log.detail = detail;
      if (!res.headersSent && !res.destroyed) {
        const payload = JSON.stringify({ code: err.code, message: err.message, type: err.type });
        res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'x-amzn-ErrorType': err.code });
        res.end(payload);
        discardRest(req);
      } else {
        res.destroy();
      }
    } finally {
      log.status = res.statusCode;
      if (!log.logged && !isAdmin) this.requestLog.push(log);
      if (this.requestLog.length > 100_000) this.requestLog.splice(0, 50_000);
    }
  }

  private vault(c: Ctx): Vault {
    const name = c.route.vault!;
    if (!VAULT_NAME_RE.test(name)) throw notFound(`Vault not found for ARN: ${this.store.arn(c.region, name)}`);
    return this.store.vault(c.region, name);
  }

  private limit(c: Ctx, dflt: number): number {
    const text = c.url.searchParams.get('limit');
    const max = this.pageSize ?? Infinity;
    if (text === null) return Math.min(dflt, max);
    if (!/^[1-9]\d*$/.test(text)) throw invalidParam(`Invalid limit: ${text}. The limit must be a positive integer.`);
    return Math.min(Number(text), max, 1000);
  }

  private page<T>(c: Ctx, items: T[], key: (t: T) => string, dflt: number): { page: T[]; marker: string | null } {
    const limit = this.limit(c, this.pageSize ?? dflt);
    const marker = c.url.searchParams.get('marker');
    let start = 0;
    if (marker) {
      start = items.findIndex((t) => key(t) === marker);
      if (start < 0) throw invalidParam(`Invalid marker: ${marker}`);
    }
    const page = items.slice(start, start + limit);
    return { page, marker: start + limit < items.length ? key(items[start + limit]) : null };
  }

  private json(c: Ctx, status: number, value: unknown): void {
    const payload = JSON.stringify(value);
    c.res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
    c.res.end(payload);
  }

  private empty(c: Ctx, status: number, headers: Record<string, string> = {}): void {
    c.res.writeHead(status, headers);
    c.res.end();
  }

  private location(...parts: string[]): string {
    return `/${this.accountId}/vaults/${parts.join('/')}`;
  }

  private description(c: Ctx): string | null {
    const d = header(c.req, 'x-amz-archive-description');
    if (d === undefined) return null;
    if (!validDescription(d)) throw invalidParam('Invalid archive description. The description must be at most 1024 printable ASCII characters.');
    return d.replace(/^ +/, '');
  }

  private describeVault(v: Vault) {
    let size = 0;
    for (const a of v.archives.values()) size += a.size;
    return { CreationDate: v.creationDate, LastInventoryDate: v.lastInventoryDate, NumberOfArchives: v.archives.size, SizeInBytes: size, VaultARN: v.arn, VaultName: v.name };
  }

  private async dispatch(c: Ctx): Promise<void> {
    const { store, jobs } = this;
    const now = this.now();
    switch (c.route.op) {
      case 'ListVaults': {
        const { page, marker } = this.page(c, store.listVaults(c.region), (v) => v.arn, 10);
        return this.json(c, 200, { Marker: marker, VaultList: page.map((v) => this.describeVault(v)) });
      }
      case 'CreateVault': {
        const name = c.route.vault!;
        if (!VAULT_NAME_RE.test(name)) throw invalidParam(`Invalid vault name: ${name}. Names are 1 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'.`);
        if (c.body && c.body.length > 0) throw invalidParam('The request body must be empty');
        await store.createVault(c.region, name, now);
        return this.empty(c, 201, { Location: this.location(name) });
      }
      case 'DescribeVault':
        return this.json(c, 200, this.describeVault(this.vault(c)));
      case 'DeleteVault':
        await store.deleteVault(this.vault(c));
        return this.empty(c, 204);
      case 'UploadArchive':
        return this.uploadArchive(c);
      case 'DeleteArchive': {
        const v = this.vault(c);
        if (!ID_RE.test(c.route.id!)) throw invalidParam(`Invalid vault name: ${v.arn}`);
        await store.deleteArchive(v, c.route.id!);
        return this.empty(c, 204);
      }
      case 'InitiateMultipartUpload': {
        const v = this.vault(c);
        const ps = header(c.req, 'x-amz-part-size') ?? '0';
        if (!/^\d+$/.test(ps) || !isValidPartSize(Number(ps))) {
          throw invalidParam(`Invalid part size: ${ps}. Part size must not be null, must be a power of two and be between 1048576 and 4294967296 bytes.`);
        }
        const u = await store.initiateUpload(v, Number(ps), this.description(c), now);
        c.log.uploadId = u.id;
        return this.empty(c, 201, { Location: this.location(v.name, 'multipart-uploads', u.id), 'x-amz-multipart-upload-id': u.id });
      }
      case 'ListMultipartUploads': {
        const v = this.vault(c);
        const all = [...v.uploads.values()].sort((a, b) => a.creationDate.localeCompare(b.creationDate) || a.id.localeCompare(b.id));
        const { page, marker } = this.page(c, all, (u) => u.id, 50);
        return this.json(c, 200, {
          Marker: marker,
          UploadsList: page.map((u) => ({ ArchiveDescription: u.description, CreationDate: u.creationDate, MultipartUploadId: u.id, PartSizeInBytes: u.partSize, VaultARN: v.arn })),
        });
      }
      case 'UploadMultipartPart':
        return this.uploadPart(c);
      case 'CompleteMultipartUpload': {
        const v = this.vault(c);
        const id = c.route.id!;
        const size = header(c.req, 'x-amz-archive-size');
        const hash = header(c.req, 'x-amz-sha256-tree-hash');
        const closed = v.recentlyClosed.get(id);
        if (closed?.archiveId && v.archives.has(closed.archiveId)) {
          const a = v.archives.get(closed.archiveId)!;
          return this.empty(c, 201, { Location: this.location(v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
        }
        const u = store.upload(v, id);
        if (size === undefined || !/^\d+$/.test(size)) throw missingParam('Required parameter missing: x-amz-archive-size');
        if (!hash) throw missingParam('Required parameter missing: x-amz-sha256-tree-hash');
        const a = await store.completeUpload(v, u, Number(size), hash.toLowerCase(), now);
        c.log.uploadId = id;
        return this.empty(c, 201, { Location: this.location(v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
      }
      case 'AbortMultipartUpload':
        await store.abortUpload(this.vault(c), c.route.id!);
        return this.empty(c, 204);
      case 'ListParts': {
        const v = this.vault(c);
        const u = store.upload(v, c.route.id!);
        const parts = await store.listParts(u);
        const { page, marker } = this.page(c, parts, (p) => String(p.index), 50);
        return this.json(c, 200, {
          ArchiveDescription: u.description, CreationDate: u.creationDate, Marker: marker, MultipartUploadId: u.id, PartSizeInBytes: u.partSize,
          Parts: page.map((p) => ({ RangeInBytes: `${p.start}-${p.end}`, SHA256TreeHash: p.treeHash })),
          VaultARN: v.arn,
        });
      }
      case 'InitiateJob': {
        const v = this.vault(c);
        let params: unknown;
        try {
          params = JSON.parse(c.body?.length ? c.body.toString('utf8') : '{}');
        } catch {
          throw new GlacierError(400, 'SerializationException', 'The request body is not valid JSON');
        }
        if (!params || typeof params !== 'object' || Object.keys(params).length === 0) throw missingParam('Required parameter missing: Job Parameters');
        const job = await jobs.initiate(v, params as never, now);
        c.log.jobId = job.id;
        return this.empty(c, 202, { Location: this.location(v.name, 'jobs', job.id), 'x-amz-job-id': job.id });
      }
      case 'ListJobs': {
        const v = this.vault(c);
        const status = c.url.searchParams.get('statuscode');
        const completed = c.url.searchParams.get('completed');
        if (status !== null && !['InProgress', 'Succeeded', 'Failed'].includes(status)) throw invalidParam(`The job status code is not valid: ${status}`);
        if (completed !== null && completed !== 'true' && completed !== 'false') throw invalidParam(`The completed value is not valid: ${completed}`);
        const all = (await jobs.list(v, now)).filter(
          (j) => (status === null || j.status === status) && (completed === null || String(j.status !== 'InProgress') === completed),
        );
        const { page, marker } = this.page(c, all, (j) => j.id, 50);
        return this.json(c, 200, { JobList: page.map((j) => jobs.describe(v, j)), Marker: marker });
      }
      case 'DescribeJob': {
        const v = this.vault(c);
        return this.json(c, 200, jobs.describe(v, await jobs.get(v, c.route.id!, now)));
      }
      case 'GetJobOutput':
        return this.jobOutput(c);
    }
  }

  /** Streams an upload body to a temporary blob while hashing it, then checks it before anything is visible. */
  private async receive(c: Ctx, open: () => Promise<BlobWriter>, expectLength: number) {
    const declaredSha = header(c.req, 'x-amz-content-sha256');
    const declaredTree = header(c.req, 'x-amz-sha256-tree-hash');
    if (!declaredSha) throw missingParam('Required parameter missing: x-amz-content-sha256');
    if (!declaredTree) throw missingParam('Required parameter missing: x-amz-sha256-tree-hash');
    const writer = await open();
    const hasher = new TreeHasher({ linear: true, leaves: true });
    const timeout = this.opts.bodyTimeoutMs ?? 60_000;
    let timedOut = false;
    let storage: unknown;
    // A stalled body: answer 408 as the service does, then drop the connection (the body will never finish).
    const onStall = () => {
      timedOut = true;
      const payload = JSON.stringify({ code: 'RequestTimeoutException', message: 'Request timed out.', type: 'Client' });
      c.res.writeHead(408, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload), 'x-amzn-ErrorType': 'RequestTimeoutException', Connection: 'close' });
      c.res.end(payload, () => c.req.destroy());
    };
    let timer = setTimeout(onStall, timeout);
    try {
      for await (const chunk of c.req as AsyncIterable<Buffer>) {
        clearTimeout(timer);
        timer = setTimeout(onStall, timeout);
        if (hasher.size + chunk.length > expectLength) throw invalidParam(`The request body is longer than its Content-Length: ${expectLength}`);
        hasher.update(chunk);
        try {
          await writer.write(chunk);
        } catch (e) {
          storage = e; // the server's disk (ENOSPC...), not the client's body: answered 503 by answerFor
          throw e;
        }
      }
    } catch (e) {
      await writer.discard().catch(() => {});
      if (timedOut) throw new GlacierError(408, 'RequestTimeoutException', 'Request timed out.');
      if (storage !== undefined) throw storage;
      throw e instanceof GlacierError ? e : new GlacierError(400, 'IncompleteBody', 'The request body ended early: the connection closed before the whole body arrived');
    } finally {
      clearTimeout(timer);
    }
    if (c.req.readableAborted || hasher.size !== expectLength) {
      await writer.discard();
      if (c.req.readableAborted) throw new GlacierError(400, 'IncompleteBody', 'The connection closed before the whole body arrived');
      throw new GlacierError(400, 'IncompleteBody', `The request body has ${hasher.size} bytes but Content-Length says ${expectLength}`);
    }
    const d = hasher.digest();
    const leaves = Buffer.concat(hasher.leaves!).toString('base64');
    if (d.treeHash !== declaredTree.toLowerCase()) {
      await writer.discard();
      throw invalidParam(`Checksum mismatch: expected ${declaredTree}, computed ${d.treeHash}`);
    }
    if (d.sha256 !== declaredSha.toLowerCase()) {
      await writer.discard();
      throw contentHashMismatch(d.sha256!, declaredSha);
    }
    return { writer, treeHash: d.treeHash, size: d.size, leaves };
  }

  private contentLength(c: Ctx): number {
    const cl = header(c.req, 'content-length');
    if (cl === undefined || !/^\d+$/.test(cl)) throw missingParam('Required parameter missing: Content-Length');
    return Number(cl);
  }

  private async uploadArchive(c: Ctx): Promise<void> {
    const v = this.vault(c);
    const description = this.description(c);
    const length = this.contentLength(c);
    if (length === 0) throw invalidParam('Invalid Content-Length: 0. An archive must be at least 1 byte.');
    if (length > 4 * 1024 * MiB) throw invalidParam(`Invalid Content-Length: ${length}. An archive uploaded in one request must be at most 4 GiB.`);
    // Held as "being written to" from the vault's look-up on: a DeleteVault meanwhile is refused.
    await this.store.writing(v, async () => {
      const got = await this.receive(c, () => this.store.vfs.writer(`${v.dir}/staging`), length);
      const a = await this.store.addArchive(v, got.writer, { description, size: got.size, treeHash: got.treeHash, leaves: got.leaves }, this.now());
      c.log.archiveId = a.id;
      this.empty(c, 201, { Location: this.location(v.name, 'archives', a.id), 'x-amz-archive-id': a.id, 'x-amz-sha256-tree-hash': a.treeHash });
    });
  }

  private async uploadPart(c: Ctx): Promise<void> {
    const v = this.vault(c);
    const u = this.store.upload(v, c.route.id!);
    const cr = header(c.req, 'content-range') ?? '';
    c.log.uploadId = u.id;
    c.log.range = cr;
    const m = /^bytes (\d+)-(\d+)\/\*$/.exec(cr);
    if (!m || Number(m[2]) < Number(m[1])) throw invalidParam(`Invalid Content-Range: ${cr}`);
    const [first, last] = [Number(m[1]), Number(m[2])];
    const length = this.contentLength(c);
    if (length !== last - first + 1) throw invalidParam(`Content-Range: ${cr} is incompatible with Content-Length: ${length}`);
    if (first % u.partSize !== 0) throw invalidParam(`Content-Range: ${cr} does not start at a multiple of the part size ${u.partSize}`);
    if (length > u.partSize) throw invalidParam(`Content-Range: ${cr} is larger than the part size ${u.partSize}`);
    const index = first / u.partSize;
    if (index >= 10_000) throw invalidParam(`This is part number ${index + 1} for the current multipart upload. It exceeds the limit of 10000 parts.`);
    const got = await this.receive(c, () => this.store.partWriter(u), length);
    await this.store.putPart(u, { index, start: first, end: last, treeHash: got.treeHash, leaves: got.leaves }, got.writer);
    this.empty(c, 204, { 'x-amz-sha256-tree-hash': got.treeHash });
  }

  private async jobOutput(c: Ctx): Promise<void> {
    const v = this.vault(c);
    const job = await this.jobs.get(v, c.route.id!, this.now());
    c.log.jobId = job.id;
    if (job.status !== 'Succeeded') throw invalidParam(`The job is not currently available for download: ${job.id}`);
    const total = job.outputSize!;
    const rangeHeader = header(c.req, 'range');
    let [start, end] = [0, total - 1];
    if (rangeHeader !== undefined) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(rangeHeader.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw invalidParam(`Invalid range: ${rangeHeader}`);
      if (m[1] === '') [start, end] = [Math.max(0, total - Number(m[2])), total - 1];
      else [start, end] = [Number(m[1]), m[2] === '' ? total - 1 : Math.min(Number(m[2]), total - 1)];
      if (start > end || start >= total) {
        throw new GlacierError(416, 'InvalidParameterValueException', `The requested range is not satisfiable: ${rangeHeader} (output size ${total})`);
      }
      c.log.range = `${start}-${end}`;
    }
    const headers: Record<string, string | number> = {
      'Content-Type': job.action === 'InventoryRetrieval' ? (job.format === 'CSV' ? 'text/csv' : 'application/json') : 'application/octet-stream',
      'Content-Length': end - start + 1,
      'Accept-Ranges': 'bytes',
    };
    if (rangeHeader !== undefined) headers['Content-Range'] = `bytes ${start}-${end}/${total}`;
    const archive = job.archiveId ? v.archives.get(job.archiveId) : undefined;
    if (job.action === 'ArchiveRetrieval' && archive?.description) headers['x-amz-archive-description'] = archive.description;
    const th = this.jobs.outputTreeHash(job, start, end, this.checksumRule);
    if (th) headers['x-amz-sha256-tree-hash'] = th;
    c.res.writeHead(rangeHeader !== undefined ? 206 : 200, headers);
    const body = this.jobs.read(v, job, start, end);
    const length = end - start + 1;
    const corruptAt = c.faults.has('corrupt') ? Math.floor(length / 2) : -1;
    const dropAt = c.faults.has('drop') ? Math.floor(length / 2) : -1;
    const slowMs = c.faults.has('slow') ? Math.max(1, Math.floor((c.faults.get('slow')!.ms ?? 2000) / 50)) : 0;
    if (corruptAt >= 0) c.log.fault = 'corrupt';
    if (dropAt >= 0) c.log.fault = 'drop';
    let sent = 0;
    try {
      for await (let chunk of body as AsyncIterable<Buffer>) {
        if (corruptAt >= sent && corruptAt < sent + chunk.length) {
          chunk = Buffer.from(chunk);
          chunk[corruptAt - sent] ^= 0xff;
        }
        if (dropAt >= 0 && sent + chunk.length > dropAt) {
          c.res.write(chunk.subarray(0, dropAt - sent));
          await sleep(20);
          c.res.destroy();
          return;
        }
        sent += chunk.length;
        if (slowMs) await sleep(slowMs);
        if (!c.res.write(chunk)) {
          await new Promise<void>((res) => {
            const done = () => (c.res.off('drain', done), c.res.off('close', done), res());
            c.res.on('drain', done);
            c.res.on('close', done);
          });
        }
        if (c.res.destroyed) {
          body.destroy();
          return;
        }
      }
      c.res.end();
    } catch {
      c.res.destroy();
    }
  }

  // ---- admin API, for tests and demos: only with --admin, and reached only once the request's SigV4 signature
  // (the server's own key pair) checked out. A body must be JSON sent as such: a browser's cross-site form or
  // text/plain POST is refused even before the signature would refuse it.
  private async admin(req: IncomingMessage, res: ServerResponse, url: URL, body: Buffer): Promise<void> {
    const send = (status: number, value: unknown) => {
      const payload = JSON.stringify(value);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    };
    try {
      const type = (header(req, 'content-type') ?? '').split(';')[0].trim().toLowerCase();
      if (body.length && type !== 'application/json') return send(415, { code: 'UnsupportedMediaType', message: 'admin request bodies are JSON: send Content-Type: application/json' });
      const input = body.length ? JSON.parse(body.toString('utf8')) : {};
      if (!input || typeof input !== 'object' || Array.isArray(input)) return send(400, { code: 'BadRequest', message: 'the body must be a JSON object' });
      const p = url.pathname.slice('/_local/'.length).split('/');
      const m = req.method;
      if (p[0] === 'health') return send(200, { ok: true });
      if (p[0] === 'counters' && m === 'GET') return send(200, { requests: this.counters, faults: this.faults.fired });
      if (p[0] === 'counters' && m === 'DELETE') {
        for (const k of Object.keys(this.counters)) delete this.counters[k];
        for (const k of Object.keys(this.faults.fired)) delete this.faults.fired[k];
        this.requestLog.length = 0;
        return send(200, { ok: true });
      }
      if (p[0] === 'requests' && m === 'GET') return send(200, this.requestLog);
      if (p[0] === 'faults') {
        if (m === 'GET') return send(200, this.faults.list());
        if (m === 'DELETE') return this.faults.set([]), send(200, []);
        const rules = typeof input.spec === 'string' ? parseFaultSpec(input.spec) : validateRules(input.rules ?? input);
        if (m === 'PUT') this.faults.set(rules);
        else this.faults.add(rules);
        return send(200, this.faults.list());
      }
      if (p[0] === 'config' && m === 'PUT') {
        const bad = configError(input);
        if (bad) return send(400, { code: 'BadRequest', message: bad });
        if (input.pageSize !== undefined) this.pageSize = input.pageSize === null ? undefined : input.pageSize;
        if (input.jobDelays) this.delays = { ...this.delays, ...input.jobDelays };
        if (input.checksumRule) this.checksumRule = input.checksumRule;
        return send(200, { pageSize: this.pageSize ?? null, jobDelays: this.delays, checksumRule: this.checksumRule });
      }
      if (p[0] === 'jobs' && p[1] && (p[2] === 'complete' || p[2] === 'fail') && m === 'POST') {
        for (const v of this.store.listAllVaults()) {
          const job = v.jobs.get(p[1]);
          if (job) {
            await this.jobs.finish(v, job, p[2] === 'complete', input.message, this.now());
            return send(200, this.jobs.describe(v, job));
          }
        }
        return send(404, { code: 'ResourceNotFoundException', message: `The job ID was not found: ${p[1]}` });
      }
      if (p[0] === 'uploads' && p[1] && p[2] === 'age' && m === 'POST') {
        for (const v of this.store.listAllVaults()) {
          const u = v.uploads.get(p[1]);
          if (u) {
            u.creationDate = new Date(this.now() - Number(input.seconds ?? 0) * 1000).toISOString();
            await this.store.saveUpload(u);
            return send(200, { MultipartUploadId: u.id, CreationDate: u.creationDate });
          }
        }
        return send(404, { code: 'ResourceNotFoundException', message: `The upload ID was not found: ${p[1]}` });
      }
      return send(404, { code: 'NotFound', message: `no admin route ${m} ${url.pathname}` });
    } catch (e) {
      // A bad body or fault spec is the caller's (400, its message); anything else is answered without details.
      if (e instanceof SyntaxError || (e instanceof Error && !(e as NodeJS.ErrnoException).code && !(e instanceof GlacierError))) return send(400, { code: 'BadRequest', message: e.message });
      const { err } = answerFor(e);
      return send(err.status, { code: err.code, message: err.message });
    }
  }
}

/** Why a PUT /_local/config body is refused, or undefined when every setting in it is valid. */
export function configError(input: Record<string, unknown>): string | undefined {
  for (const k of Object.keys(input)) if (!['pageSize', 'jobDelays', 'checksumRule'].includes(k)) return `unknown setting "${k}": pageSize, jobDelays or checksumRule`;
  const ps = input.pageSize;
  if (ps !== undefined && ps !== null && !(Number.isInteger(ps) && (ps as number) >= 1 && (ps as number) <= 1000)) return `invalid pageSize ${JSON.stringify(ps)}: an integer from 1 to 1000, or null for the service's`;
  const jd = input.jobDelays;
  if (jd !== undefined) {
    if (!jd || typeof jd !== 'object' || Array.isArray(jd)) return 'jobDelays must be an object of tier: milliseconds';
    for (const [t, ms] of Object.entries(jd)) {
      if (!TIERS.includes(t as Tier)) return `invalid tier "${t}" in jobDelays: Expedited, Standard or Bulk`;
      if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) return `invalid delay ${JSON.stringify(ms)} for ${t}: milliseconds, 0 or more`;
    }
  }
  if (input.checksumRule !== undefined && input.checksumRule !== 'tree' && input.checksumRule !== 'megabyte') return `invalid checksumRule ${JSON.stringify(input.checksumRule)}: tree or megabyte`;
  return undefined;
}

export function parseTierDelays(text: string, parse: (s: string) => number): Record<Tier, number> {
  const out = { ...DEFAULT_DELAYS };
  for (const item of text.split(',')) {
    const [k, v] = item.includes('=') ? item.split('=') : [null, item];
    const ms = parse(v);
    if (!Number.isFinite(ms) || ms < 0) throw new Error(`invalid job delay "${item}"`);
    if (k === null) for (const t of TIERS) out[t] = ms;
    else if (TIERS.includes(k as Tier)) out[k as Tier] = ms;
    else throw new Error(`invalid tier "${k}" in job delay; use Expedited, Standard or Bulk`);
  }
  return out;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return;
  for await (const _ of req) void _;
}

async function dropConnection(req: IncomingMessage, res: ServerResponse, log: Record<string, unknown>, requestLog: Record<string, unknown>[]): Promise<void> {
  log.fault = 'drop';
  log.status = 0;
  log.logged = true;
  requestLog.push(log);
  // Take some of the body first, so the client sees the connection cut mid-request.
  await new Promise<void>((resolve) => {
    let n = 0;
    const onData = (c: Buffer) => {
      n += c.length;
      if (n >= 65536) finish();
    };
    const finish = () => {
      req.off('data', onData);
      resolve();
    };
    req.on('data', onData);
    req.once('end', finish);
    setTimeout(finish, 200);
  });
  res.socket?.destroy();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

