// The SDK client under the request layer (src/core/glacier.ts): endpoint, region and credentials resolved as the
// AWS CLI resolves them (src/core/config.ts), connect and idle timeouts on every request, no SDK retries (the
// request layer retries every operation with one policy), and no second hashing of upload bodies: a part's
// hashes travel with its request as headers (see `send`'s `hashes`), and only bodies without them are hashed here.
import { GlacierClient, type GlacierClientConfig } from '@aws-sdk/client-glacier';
import { DataPlaneHandler } from './http-data.js';
import { loadCaBundle } from './transport.js';
import { hashBoth } from './tree-hash.js';

export interface ClientOptions {
  region?: string;
  profile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  endpoint?: string;
  /** Milliseconds to wait for a connection; 0 = no limit. Default 60 s (the AWS CLI's). */
  connectTimeoutMs?: number;
  /** Milliseconds a socket may sit idle (waiting for an answer or mid-body); 0 = no limit. Default 60 s (the AWS CLI's). */
  readTimeoutMs?: number;
  debug?: (line: string) => void;
  /** false: TLS certificates are not verified (--no-verify-ssl); default true. */
  verifyTls?: boolean;
  /** Where AWS_CA_BUNDLE, the profile files and HTTPS_PROXY / HTTP_PROXY / NO_PROXY are read; default process.env. */
  env?: Record<string, string | undefined>;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

export function endpointFromEnv(env: Record<string, string | undefined> = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_GLACIER || env.AWS_ENDPOINT_URL || undefined;
}

// The SDK's credential chain warns on stderr (console.warn) when it meets AWS_PROFILE and keys together; which of
// the two wins is decided in config.ts, so its warnings have nothing to tell.
const quietLogger = { debug() {}, info() {}, warn() {}, error() {}, trace() {} };

/** A Glacier client; never reads or edits process.env beyond what the SDK's own chain reads. Throws UsageError when the CA bundle (AWS_CA_BUNDLE / ca_bundle) cannot be read. */
export function makeClient(o: ClientOptions = {}): GlacierClient {
  const endpoint = o.endpoint ?? endpointFromEnv();
  // Read here, so that a bundle that cannot be read is a usage error before any request (UsageError).
  const ca = loadCaBundle(o.profile, o.env);
  const connectionTimeout = o.connectTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socketTimeout = o.readTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const client = new GlacierClient({
    region: o.region,
    profile: o.profile,
    credentials: o.credentials,
    endpoint,
    maxAttempts: 1,
    logger: quietLogger,
    // 0 turns a limit off, as --cli-connect-timeout 0 / --cli-read-timeout 0 do in the AWS CLI.
    // Parts and pieces go over our own connections (http-data.ts); every request honours AWS_CA_BUNDLE / ca_bundle
    // and HTTPS_PROXY / HTTP_PROXY / NO_PROXY (transport.ts).
    requestHandler: new DataPlaneHandler({
      endpoint,
      connectionTimeout: connectionTimeout || undefined,
      socketTimeout: socketTimeout || undefined,
      transport: async () => ({ ca, env: o.env, verify: o.verifyTls !== false }),
    }),
    bodyChecksumGenerator: async (request: { body?: unknown; headers?: Record<string, string> }) => {
      const sha256 = request.headers?.['x-amz-content-sha256'];
      const treeHash = request.headers?.['x-amz-sha256-tree-hash'];
      if (sha256 && treeHash) return [sha256, treeHash];
      const body = request.body;
      if (typeof body === 'string' || body instanceof Uint8Array) {
        const h = hashBoth(typeof body === 'string' ? Buffer.from(body) : body);
        return [h.sha256, h.treeHash];
      }
      throw new Error('upload body without known hashes');
    },
  } as GlacierClientConfig);
  if (o.debug) {
    const debug = o.debug;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const req = args.request as { method?: string; path?: string };
        const t0 = Date.now();
        debug(`${context.commandName} ${req.method} ${req.path}`);
        try {
          const out = await next(args);
          debug(`${context.commandName} ${(out.response as { statusCode?: number }).statusCode} in ${Date.now() - t0} ms`);
          return out;
        } catch (e) {
          debug(`${context.commandName} failed in ${Date.now() - t0} ms: ${(e as Error).name}`);
          throw e;
        }
      },
      { step: 'finalizeRequest', name: 'glacierPipesDebug', priority: 'low' },
    );
  }
  return client;
}
