// Shared pieces of the glacier-local conformance suites (local-conformance, local-errors): payloads, error
// assertions, job-output reading and raw SigV4-signed requests for what the SDK cannot express.
import assert from 'node:assert/strict';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  GetJobOutputCommand,
  InitiateJobCommand,
  UploadArchiveCommand,
  type GlacierClient,
  type GetJobOutputCommandOutput,
  type JobParameters,
} from '@aws-sdk/client-glacier';
import { MiB } from '../../src/core/tree-hash.js';
import { ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY } from './local.js';

export { MiB };
// Node 20 is what this project supports; the SDK's "upgrade to node 22" notice is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
export const ACCOUNT = '123456789012';
export const arn = (vault: string, region = REGION) => `arn:aws:glacier:${region}:${ACCOUNT}:vaults/${vault}`;
/** ISO-8601 UTC with milliseconds, as the service writes CreationDate and friends. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const ARCHIVE_ID = /^[A-Za-z0-9_-]{138}$/;
export const UPLOAD_OR_JOB_ID = /^[A-Za-z0-9_-]{92}$/;

/** Random bytes: every payload differs, so a server that mixes archives up is caught. */
export const payload = (n: number): Buffer => randomBytes(n);

/** `Buffer` view of the i % 256 pattern used by the protocol's test vectors (§3.2). */
export function modPattern(n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 256;
  return b;
}

export interface ExpectedError {
  status: number;
  name: string;
  message?: string | RegExp;
}

/** Asserts that `p` rejects with a Glacier service error of this HTTP status, code and message. */
export async function expectError(p: Promise<unknown>, want: ExpectedError): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected ${want.name} (${want.status}), but the call succeeded`);
  const e = caught as Error & { $metadata?: { httpStatusCode?: number } };
  assert.equal(e.$metadata?.httpStatusCode, want.status, `status of ${e.name}: ${e.message}`);
  assert.equal(e.name, want.name, `code (message: ${e.message})`);
  if (typeof want.message === 'string') assert.equal(e.message, want.message);
  else if (want.message) assert.match(e.message, want.message);
  return e;
}

export async function bodyBytes(out: GetJobOutputCommandOutput): Promise<Buffer> {
  assert.ok(out.body, 'job output has a body');
  return Buffer.from(await out.body.transformToByteArray());
}

export async function upload(g: GlacierClient, vaultName: string, body: Buffer, archiveDescription?: string): Promise<string> {
  const out = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName, body, archiveDescription }));
  assert.ok(out.archiveId);
  return out.archiveId;
}

export async function startJob(g: GlacierClient, vaultName: string, jobParameters: JobParameters): Promise<string> {
  const out = await g.send(new InitiateJobCommand({ accountId: '-', vaultName, jobParameters }));
  assert.equal(out.$metadata.httpStatusCode, 202);
  assert.ok(out.jobId);
  return out.jobId;
}

/** Retrieves a whole archive through a job (glacier-local with --job-delay 0) and returns its bytes. */
export async function retrieve(g: GlacierClient, vaultName: string, archiveId: string): Promise<{ bytes: Buffer; checksum?: string }> {
  const jobId = await startJob(g, vaultName, { Type: 'archive-retrieval', ArchiveId: archiveId });
  const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName, jobId }));
  assert.equal(out.status, 200);
  return { bytes: await bodyBytes(out), checksum: out.checksum };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: { code?: string; message?: string; type?: string } | undefined;
}

/**
 * Signs a request with @smithy/signature-v4 (the SDK's own signer) and sends it byte for byte with node:http,
 * for requests the SDK will not produce (mismatched lengths, unnormalized paths). `path` is sent as given;
 * the signature is computed on the same path (the signer normalizes dot segments like the server does).
 * `mutate` may change headers after signing (which then go unsigned or break the signature).
 */
export async function rawRequest(
  endpoint: string,
  opts: {
    method: string;
    path: string;
    query?: Record<string, string>;
    headers?: Record<string, string>;
    body?: Buffer;
    secret?: string;
    /** false: sign without adding x-amz-content-sha256 (the signer then hashes the body itself). */
    applyChecksum?: boolean;
    /** Send `Expect: 100-continue` and write the body only once the server says continue. */
    expectContinue?: boolean;
    mutate?: (headers: Record<string, string>) => void;
  },
): Promise<RawResponse> {
  const url = new URL(endpoint);
  const body = opts.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = {
    host: url.host,
    'x-amz-glacier-version': '2012-06-01',
    'content-length': String(body.length),
    ...opts.headers,
  };
  const signer = new SignatureV4({
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: opts.secret ?? SECRET_ACCESS_KEY },
    region: REGION,
    service: 'glacier',
    sha256: Sha256,
    applyChecksum: opts.applyChecksum ?? true,
  });
  if (opts.expectContinue) headers.expect = '100-continue';
  const req = new HttpRequest({ method: opts.method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: opts.path, query: opts.query, headers, body });
  const signed = (await signer.sign(req, { unsignableHeaders: new Set(['content-length']) })) as HttpRequest;
  const sendHeaders = { ...signed.headers };
  opts.mutate?.(sendHeaders);
  const qs = opts.query ? `?${new URLSearchParams(opts.query).toString()}` : '';
  return new Promise<RawResponse>((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: opts.method, path: opts.path + qs, headers: sendHeaders }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        let json;
        try {
          json = b.length ? JSON.parse(b.toString('utf8')) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b, json });
      });
      res.on('error', reject);
    });
    r.on('error', reject);
    if (opts.expectContinue) {
      r.flushHeaders();
      const t = setTimeout(() => reject(new Error('no 100 Continue from the server')), 5000);
      r.once('continue', () => {
        clearTimeout(t);
        r.end(body);
      });
    } else {
      r.end(body);
    }
  });
}
