// Starts a real glacier-local process for a test and gives the test what it needs to drive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { after, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GlacierClient, ListMultipartUploadsCommand } from '@aws-sdk/client-glacier';
import { SignatureV4 } from '@smithy/signature-v4';
import { HttpRequest } from '@smithy/core/protocols';
import { Sha256 } from '@aws-crypto/sha256-js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = (name: string) => `${ROOT}bin/${name}`;
export const ACCESS_KEY_ID = 'AKIAGLACIERLOCAL0001';
export const SECRET_ACCESS_KEY = 'glacierLocal/test/secret/not+secret/0001';
export const REGION = 'us-east-1';

/** The catalogue the spawned binaries append to (GLACIER_CATALOGUE), so no test writes into the real home. */
const CATALOGUE_DIR = mkdtempSync(join(tmpdir(), 'gp-catalogue-'));
process.once('exit', () => rmSync(CATALOGUE_DIR, { recursive: true, force: true }));

export interface Local {
  endpoint: string;
  proc: ChildProcess;
  /** Environment for spawning the project's binaries or the AWS CLI against this server. */
  env: NodeJS.ProcessEnv;
  client(opts?: { region?: string; secret?: string; accessKeyId?: string; maxAttempts?: number }): GlacierClient;
  /** An admin API call (/_local/PATH), signed with the test key pair; throws unless it answers 2xx. */
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** The same call, answered whatever its status. */
  adminResponse(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }>;
  counters(): Promise<Record<string, number>>;
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  stderr(): string;
  /** With `tls`: the self-signed certificate glacier-local made, to trust as a CA (also AWS_CA_BUNDLE in env). */
  ca?: string;
}

/** Signed headers for an admin API request (SigV4, service glacier, the test key pair or `creds`). */
export async function signAdmin(
  endpoint: string, method: string, path: string, body: string | undefined,
  creds: { accessKeyId: string; secretAccessKey: string } = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
): Promise<Record<string, string>> {
  const url = new URL(endpoint);
  const signer = new SignatureV4({ service: 'glacier', region: REGION, sha256: Sha256, credentials: creds });
  const headers: Record<string, string> = { host: url.host };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const signed = await signer.sign(new HttpRequest({ method, protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: `/_local/${path}`, headers, body }));
  return signed.headers;
}

/**
 * Starts glacier-local with `args` and --admin (so tests can drive /_local/). With `opts.tls` it serves HTTPS
 * (--tls) and the returned env, client() and admin() trust its certificate. It accepts `opts.keys` (given in its
 * environment; default the test pair), which admin() signs with.
 */
/** Set by a TLS twin before it imports the suite it repeats over HTTPS. */
export const TLS_TWIN = process.env.GLACIER_TEST_TLS === '1';

export async function startLocal(
  args: string[] = ['--memory', '--job-delay', '0'],
  opts: { tls?: boolean; keys?: { accessKeyId: string; secretAccessKey: string } } = {},
): Promise<Local> {
  // A suite imported by its TLS twin (test/*-tls.test.ts) runs every server over HTTPS.
  opts = { tls: TLS_TWIN, ...opts };
  const keys = opts.keys ?? { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY };
  if (opts.tls) args = [...args, '--tls'];
  const proc = spawn(process.execPath, [BIN('glacier-local'), ...args, ...(args.includes('--admin') ? [] : ['--admin'])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GLACIER_LOCAL_QUIET: '1', AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey },
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += d));
  const endpoint = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => resolve(l.trim()));
    proc.once('exit', (code) => reject(new Error(`glacier-local exited ${code}: ${err}`)));
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  // glacier-local prints the certificate's path on stderr before the URL on stdout; the pipes may deliver them
  // in either order.
  let ca: string | undefined;
  if (opts.tls) {
    for (let i = 0; i < 200 && !/TLS certificate.*: (\S+)\n/.test(err); i++) await new Promise((r) => setTimeout(r, 10));
    ca = /TLS certificate.*: (\S+)\n/.exec(err)?.[1];
    if (!ca) throw new Error(`glacier-local --tls printed no certificate path: ${err}`);
  }
  const caPem = ca ? readFileSync(ca) : undefined;
  const agent = caPem ? new https.Agent({ ca: caPem, keepAlive: true }) : undefined;
  const adminResponse = async (method: string, path: string, body?: unknown) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = await signAdmin(endpoint, method, path, text, keys);
    // node:http rather than fetch: fetch would resolve '%2e%2e' segments, and the signed path must go as it is.
    const url = new URL(endpoint);
    return new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const o = { host: url.hostname, port: Number(url.port), method, path: `/_local/${path}`, headers, agent: agent ?? false };
      const req = (agent ? https : http).request(o, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (t += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, json: JSON.parse(t) as unknown });
          } catch {
            reject(new Error(`admin ${method} ${path}: ${res.statusCode} answered no JSON: ${t.slice(0, 200)}`));
          }
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(text);
    });
  };
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const { status, json } = await adminResponse(method, path, body);
    if (status < 200 || status > 299) throw new Error(`admin ${method} ${path}: ${status} ${JSON.stringify(json)}`);
    return json as T;
  };
  return {
    endpoint,
    proc,
    env: {
      ...process.env,
      AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
      AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ENDPOINT_URL_GLACIER: endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      XDG_STATE_HOME: process.env.XDG_STATE_HOME,
      GLACIER_CATALOGUE: process.env.GLACIER_CATALOGUE ?? join(CATALOGUE_DIR, 'catalogue.jsonl'),
      ...(ca ? { AWS_CA_BUNDLE: ca } : {}),
    },
    ca,
    client: (o = {}) =>
      new GlacierClient({
        endpoint,
        region: o.region ?? REGION,
        maxAttempts: o.maxAttempts ?? 1,
        credentials: { accessKeyId: o.accessKeyId ?? ACCESS_KEY_ID, secretAccessKey: o.secret ?? SECRET_ACCESS_KEY },
        ...(caPem ? { requestHandler: { httpsAgent: new https.Agent({ ca: caPem }) } } : {}),
      }),
    admin,
    adminResponse,
    counters: async () => (await admin<{ requests: Record<string, number> }>('GET', 'counters')).requests,
    stop: async () => {
      agent?.destroy();
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
    stderr: () => err,
  };
}

/**
 * For the tests of the calling describe (or file): before them, glacier-local started with `args` (startLocal's
 * default: in memory, jobs done at once) and a fresh folder made under the system's temporary folder (its name
 * begins with `prefix`), both handed to `use`; after them, the server stopped and the folder removed.
 */
export function useLocal(prefix: string, use: (local: Local, work: string) => void, args?: string[]): void {
  let local: Local | undefined;
  let work: string | undefined;
  before(async () => {
    work = mkdtempSync(join(tmpdir(), prefix));
    local = await startLocal(args);
    use(local, work);
  });
  after(async () => {
    await local?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });
}

/** The ids of a vault's open multipart uploads, every page, sorted. */
export async function openUploads(g: GlacierClient, vaultName: string): Promise<string[]> {
  const ids: string[] = [];
  let marker: string | undefined;
  do {
    const r = await g.send(new ListMultipartUploadsCommand({ accountId: '-', vaultName, marker }));
    ids.push(...(r.UploadsList ?? []).map((u) => u.MultipartUploadId!));
    marker = r.Marker ?? undefined;
  } while (marker);
  return ids.sort();
}
