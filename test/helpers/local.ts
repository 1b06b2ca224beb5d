// Starts a real glacier-local process for a test and gives the test what it needs to drive it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { GlacierClient, ListMultipartUploadsCommand } from '@aws-sdk/client-glacier';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = (name: string) => `${ROOT}bin/${name}`;
export const ACCESS_KEY_ID = 'AKIAGLACIERLOCAL0001';
export const SECRET_ACCESS_KEY = 'glacierLocal/test/secret/not+secret/0001';
export const REGION = 'us-east-1';

export interface Local {
  endpoint: string;
  proc: ChildProcess;
  /** Environment for spawning the project's binaries or the AWS CLI against this server. */
  env: NodeJS.ProcessEnv;
  client(opts?: { region?: string; secret?: string; accessKeyId?: string; maxAttempts?: number }): GlacierClient;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  counters(): Promise<Record<string, number>>;
  stop(): Promise<number | null>;
  kill9(): Promise<void>;
  stderr(): string;
  /** With `tls`: the self-signed certificate glacier-local made, to trust as a CA (also AWS_CA_BUNDLE in env). */
  ca?: string;
}

/**
 * Starts glacier-local with `args`; with `opts.tls` it serves HTTPS (--tls) and the returned env, client() and
 * admin() trust its certificate.
 */
/** Set by a TLS twin before it imports the suite it repeats over HTTPS. */
export const TLS_TWIN = process.env.GLACIER_TEST_TLS === '1';

export async function startLocal(args: string[] = ['--memory', '--job-delay', '0'], opts: { tls?: boolean } = {}): Promise<Local> {
  // A suite imported by its TLS twin (test/*-tls.test.ts) runs every server over HTTPS.
  opts = { tls: TLS_TWIN, ...opts };
  if (opts.tls) args = [...args, '--tls'];
  const proc = spawn(process.execPath, [BIN('glacier-local'), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GLACIER_LOCAL_QUIET: '1', AWS_ACCESS_KEY_ID: ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY },
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
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = (agent ? https : http).request(`${endpoint}/_local/${path}`, { method, agent, headers: payload ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let t = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (t += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
    const json = JSON.parse(text) as T;
    if (status < 200 || status > 299) throw new Error(`admin ${method} ${path}: ${status} ${text}`);
    return json;
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
