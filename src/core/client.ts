// The Glacier client every binary uses: endpoint, region and profile from options or the standard AWS chain,
// no SDK retries (the callers retry per part, with their own backoff), and no second hashing of bodies:
// upload bodies registered in `knownHashes` have their SHA-256 and tree hash taken from there.
import { GlacierClient, type GlacierClientConfig } from '@aws-sdk/client-glacier';
import { DataPlaneHandler } from './http-data.js';
import { loadCaBundle } from './transport.js';
import { hashBoth } from './tree-hash.js';

const knownHashes = new WeakMap<object, [sha256: string, treeHash: string]>();

/** Tells the client the hashes of a body it will send, so it does not hash it again. */
export function registerBodyHashes(body: object, sha256: string, treeHash: string): void {
  knownHashes.set(body, [sha256, treeHash]);
}

export interface ClientOptions {
  region?: string;
  profile?: string;
  endpoint?: string;
  debug?: (line: string) => void;
}

export function endpointFromEnv(env = process.env): string | undefined {
  return env.AWS_ENDPOINT_URL_GLACIER || env.AWS_ENDPOINT_URL || undefined;
}

export function makeClient(o: ClientOptions = {}): GlacierClient {
  if (o.profile) {
    process.env.AWS_PROFILE = o.profile; // read by the default credential chain
    // The chain then skips keys in the environment anyway, but first prints an 8-line warning about them.
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) delete process.env[k];
  }
  const endpoint = o.endpoint ?? endpointFromEnv();
  const client = new GlacierClient({
    region: o.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION,
    endpoint,
    maxAttempts: 1,
    // Parts and pieces over our own connections; everything through the CA bundle and proxy settings.
    requestHandler: new DataPlaneHandler({ endpoint, transport: async () => ({ ca: await loadCaBundle(o.profile) }) }),
    bodyChecksumGenerator: async (request: { body?: unknown }) => {
      const body = request.body as object | undefined;
      const known = body && knownHashes.get(body);
      if (known) return known;
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
        const req = args.request as { method?: string; path?: string; headers?: Record<string, string> };
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
