// How connections are made, for the SDK's control plane and our data plane alike: an extra trusted CA from
// AWS_CA_BUNDLE or `ca_bundle` in the profile (as the AWS CLI does), and HTTPS_PROXY / HTTP_PROXY / NO_PROXY
// (CONNECT for https endpoints, absolute-form requests for http ones).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { profileSettings } from './config.js';
import { UsageError } from './errors.js';

export interface TransportOptions {
  /** PEM certificates trusted in addition to Node's own roots; undefined: Node's roots only. */
  ca?: string[];
  env?: NodeJS.ProcessEnv;
  /** false: TLS certificates are not verified (--no-verify-ssl, as the AWS CLI's); default true. */
  verify?: boolean;
}

/** The TLS options every connection takes: the CA bundle, and no verification when asked for (--no-verify-ssl). */
function trust(o: TransportOptions): { ca?: string[]; rejectUnauthorized?: false } {
  return { ...(o.ca ? { ca: o.ca } : {}), ...(o.verify === false ? { rejectUnauthorized: false as const } : {}) };
}

/**
 * The CA bundle the AWS CLI would use: AWS_CA_BUNDLE, else `ca_bundle` in the profile's settings (--profile, else
 * AWS_PROFILE, else default; https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html).
 * Returns Node's roots plus that bundle, or undefined when none is set. Throws UsageError when it cannot be read.
 */
export function loadCaBundle(profile: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const name = profile ?? (env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || 'default');
  const path = env.AWS_CA_BUNDLE || profileSettings(name, env)?.ca_bundle || undefined;
  if (!path) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the CA bundle ${path} (AWS_CA_BUNDLE or ca_bundle): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  // Giving `ca` replaces Node's roots, so they are kept next to the extra bundle.
  return [...tls.rootCertificates, pem];
}

/** The proxy URL for a request to `url` per HTTPS_PROXY/HTTP_PROXY/NO_PROXY (either case), or null. */
export function proxyFor(url: string, env: NodeJS.ProcessEnv = process.env): URL | null {
  // proxy-from-env reads process.env; a given env is swapped in for the call.
  const saved = process.env;
  if (env !== saved) process.env = env;
  try {
    const p = getProxyForUrl(url);
    return p ? new URL(p) : null;
  } finally {
    process.env = saved;
  }
}

/** Agents for node:http(s) (the SDK's NodeHttpHandler) honouring the proxy settings and the CA bundle. */
export function sdkAgents(endpoint: string | undefined, o: TransportOptions): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const target = endpoint ?? 'https://glacier.amazonaws.com';
  const proxy = proxyFor(target, o.env);
  const tlsOpts = trust(o);
  const keepAlive = { keepAlive: true, maxSockets: 50 };
  if (proxy) {
    const httpsAgent = new HttpsProxyAgent(proxy, { ...keepAlive, ...tlsOpts });
    // The agent's own options reach only the proxy connection; the TLS session inside the tunnel takes the
    // request's options, into which node:http merges `agent.options`.
    Object.assign((httpsAgent as unknown as { options: object }).options, tlsOpts);
    return { httpAgent: new HttpProxyAgent(proxy, keepAlive) as unknown as http.Agent, httpsAgent: httpsAgent as unknown as https.Agent };
  }
  // The data connections' context (made once per CA list): given `ca`, node:https would parse Node's roots and the
  // bundle again for every connection it opens.
  const httpsAgent = new https.Agent({ ...keepAlive, ...(new URL(target).protocol === 'https:' ? { secureContext: dataContext(o.ca) } : {}), ...(o.verify === false ? { rejectUnauthorized: false as const } : {}) });
  return { httpAgent: new http.Agent(keepAlive), httpsAgent };
}

/**
 * The cipher suites our data connections offer: for TLS 1.3 only TLS_AES_128_GCM_SHA256, which every TLS 1.3 server
 * must implement (RFC 8446 section 9.1) and which costs about two thirds of AES-256-GCM per byte (a server picks by
 * its own order, so preferring it is not enough); for TLS 1.2, Node's defaults.
 */
export const DATA_CIPHERS = ['TLS_AES_128_GCM_SHA256', ...tls.DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'))].join(':');

// One TLS context per CA list for every data connection: given `ca`, Node would otherwise build a context per
// connection, parsing Node's roots and the bundle again (hundreds of certificates) for each.
const contexts = new WeakMap<object, tls.SecureContext>();
const NO_CA = {};

/**
 * The TLS context (trusted CAs and DATA_CIPHERS) of every connection (data plane and SDK) for `ca`, made once per
 * CA list. A list that is Node's roots followed by a bundle (loadCaBundle) starts from Node's own root store, which
 * holds those roots already parsed, and adds only the bundle: parsing the ~140 roots again as PEM costs 40-80 ms of
 * CPU per run.
 */
function dataContext(ca: string[] | undefined): tls.SecureContext {
  const key = ca ?? NO_CA;
  let c = contexts.get(key);
  if (!c) {
    const roots = tls.rootCertificates;
    const extra = ca && ca.length > roots.length && roots.every((r, i) => ca[i] === r) ? ca.slice(roots.length) : null;
    // `context` is the native context the `ca` option itself is added through (lib/internal/tls/secure-context.js).
    const native = extra ? (tls.createSecureContext({ ciphers: DATA_CIPHERS }) as tls.SecureContext & { context?: { addCACert?: (pem: string) => void } }) : null;
    if (native && typeof native.context?.addCACert === 'function') {
      for (const pem of extra!) native.context.addCACert(pem);
      c = native;
    } else c = tls.createSecureContext({ ...(ca ? { ca } : {}), ciphers: DATA_CIPHERS });
    contexts.set(key, c);
  }
  return c;
}

export interface RawConnection {
  socket: net.Socket;
  /** True when requests go to a plain-http proxy in absolute form (http endpoint through HTTP_PROXY). */
  absoluteForm: boolean;
  /** True when the socket hands its reads to `onread` (so bytes land straight in our buffers). */
  direct: boolean;
}

export interface OnRead {
  buffer: () => Uint8Array;
  callback: (n: number, buf: Uint8Array) => boolean;
}

/**
 * Opens a connection to `origin` (http(s)://host[:port]) for our raw HTTP/1.1 client: direct, through CONNECT
 * to the proxy for https (TLS inside the tunnel), or to the proxy itself for http. When possible the socket is
 * made with `onread`, so reads land in the buffers `onread.buffer()` returns; otherwise (TLS in a tunnel) the
 * caller gets 'data' events. Errors carry Node's network codes (ECONNREFUSED, ...), which are retryable.
 */
export async function rawConnect(origin: URL, o: TransportOptions, onread: OnRead, timeoutMs = 30_000): Promise<RawConnection> {
  const secure = origin.protocol === 'https:';
  const port = Number(origin.port || (secure ? 443 : 80));
  const host = origin.hostname.replace(/^\[|\]$/g, '');
  const proxy = proxyFor(origin.href, o.env);
  // The TLS context only for a TLS connection: with a CA bundle, making it parses hundreds of certificates.
  const tlsOpts = () => ({ secureContext: dataContext(o.ca), ...(o.verify === false ? { rejectUnauthorized: false as const } : {}), servername: net.isIP(host) ? undefined : host });
  if (!proxy) {
    const socket = secure ? tls.connect({ host, port, ...tlsOpts(), onread } as tls.ConnectionOptions) : net.connect({ host, port, onread });
    await connected(socket, secure ? 'secureConnect' : 'connect', timeoutMs);
    return { socket, absoluteForm: false, direct: true };
  }
  const pSecure = proxy.protocol === 'https:';
  const pPort = Number(proxy.port || (pSecure ? 443 : 80));
  const pHost = proxy.hostname.replace(/^\[|\]$/g, '');
  if (!secure) {
    const socket = pSecure ? tls.connect({ host: pHost, port: pPort, ...trust(o), onread } as tls.ConnectionOptions) : net.connect({ host: pHost, port: pPort, onread });
    await connected(socket, pSecure ? 'secureConnect' : 'connect', timeoutMs);
    return { socket, absoluteForm: true, direct: true };
  }
  const tunnel = pSecure ? tls.connect({ host: pHost, port: pPort, ...trust(o) }) : net.connect({ host: pHost, port: pPort });
  await connected(tunnel, pSecure ? 'secureConnect' : 'connect', timeoutMs);
  await connectHandshake(tunnel, `${host.includes(':') ? `[${host}]` : host}:${port}`, proxy, timeoutMs);
  // `onread` is ignored when TLS wraps an existing socket: this connection delivers 'data' events.
  const socket = tls.connect({ socket: tunnel, ...tlsOpts() });
  await connected(socket, 'secureConnect', timeoutMs);
  return { socket, absoluteForm: false, direct: false };
}

function connected(socket: net.Socket, event: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      socket.destroy();
      reject(Object.assign(new Error(`connection timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    socket.once(event, () => {
      clearTimeout(t);
      socket.removeListener('error', fail);
      resolve();
    });
    const fail = (e: Error) => {
      clearTimeout(t);
      reject(e);
    };
    socket.once('error', fail);
  });
}

/** CONNECT host:port through the proxy; resolves once the proxy answered 2xx (RFC 9110 §9.3.6). */
function connectHandshake(socket: net.Socket, authority: string, proxy: URL, timeoutMs: number): Promise<void> {
  const auth = proxy.username ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}\r\n` : '';
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const t = setTimeout(() => done(Object.assign(new Error('proxy CONNECT timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    const done = (e?: Error) => {
      clearTimeout(t);
      socket.removeListener('data', onData);
      socket.removeListener('error', done);
      socket.removeListener('end', onEnd);
      if (e) {
        socket.destroy();
        reject(e);
      } else resolve();
    };
    const onEnd = () => done(Object.assign(new Error('proxy closed the connection during CONNECT'), { code: 'ECONNRESET' }));
    const onData = (d: Buffer) => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.pause();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head.toString('latin1', 0, end))?.[1]);
      // A proxy may not send anything after its answer before the tunnel is used; extra bytes would be lost.
      if (status >= 200 && status < 300) done();
      else done(Object.assign(new Error(`proxy ${proxy.host} refused CONNECT ${authority}: HTTP ${status || '?'}`), { code: status === 407 ? 'EPROXYAUTH' : 'ECONNREFUSED' }));
    };
    socket.on('data', onData);
    socket.once('error', done);
    socket.once('end', onEnd);
  });
}
