// HTTP_PROXY / HTTPS_PROXY / NO_PROXY: a small forwarding and CONNECT proxy on 127.0.0.1, started here, must see
// every request of an upload (multipart: initiate, parts, complete), a listing and a download (retrieve, describe,
// ranged output), for the SDK's requests and the data plane's alike; with NO_PROXY it sees none and the same
// commands still work. Over TLS the proxy sees CONNECT tunnels carrying at least the archive's bytes both ways.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { MiB } from '../src/core/tree-hash.js';
import { run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

interface Proxy {
  url: string;
  /** Forwarded requests as "METHOD absolute-url". */
  requests: string[];
  /** CONNECT tunnels: authority and bytes each way. */
  tunnels: { authority: string; up: number; down: number }[];
  close(): Promise<void>;
}

async function startProxy(): Promise<Proxy> {
  const requests: string[] = [];
  const tunnels: Proxy['tunnels'] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: `${target.pathname}${target.search}`, headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/);
    const t = { authority: req.url ?? '', up: head.length, down: 0 };
    tunnels.push(t);
    const upstream = net.connect(Number(port), host.replace(/^\[|\]$/g, ''), () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.on('data', (d: Buffer) => (t.up += d.length));
      upstream.on('data', (d: Buffer) => (t.down += d.length));
      client.pipe(upstream).pipe(client);
    });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    tunnels,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
const json = (b: Buffer) => JSON.parse(b.toString('utf8'));

/** Upload (3 parts), listing, retrieval and ranged output, through the binaries; returns the archive. */
async function roundTrip(env: NodeJS.ProcessEnv, vault: string): Promise<void> {
  const data = randomBytes(3 * MiB + 12345);
  const put = await run('glacier-put', ['-v', vault, '-q', '-p', '1M'], { env, input: data });
  assert.equal(put.code, 0, show(put));
  const { archiveId, parts } = json(put.stdout);
  assert.equal(parts, 4);
  const ls = await run('glacier-ls', ['-v', vault], { env });
  assert.equal(ls.code, 0, show(ls));
  const job = await run('glacier-job', ['retrieve', '-v', vault, '-q', '--', archiveId], { env });
  assert.equal(job.code, 0, show(job));
  const out = await run('glacier-job', ['output', '-v', vault, '-q', '--piece-size', '1M', '--', json(job.stdout).JobId], { env });
  assert.equal(out.code, 0, show(out));
  assert.ok(out.stdout.equals(data), 'the download is the upload');
}

describe('proxies', () => {
  let proxy: Proxy;
  before(async () => {
    proxy = await startProxy();
  });
  after(async () => {
    await proxy.close();
  });

  describe('over HTTP', () => {
    let local: Local;
    before(async () => {
      local = await startLocal();
      await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'px' }));
    });
    after(async () => {
      await local.stop();
    });

    it('HTTP_PROXY: the proxy forwards every request of an upload, a listing and a download', { timeout: within(60_000) }, async () => {
      proxy.requests.length = 0;
      const before = total(await local.counters());
      const origin = new URL(local.endpoint).host;
      await roundTrip({ ...local.env, HTTP_PROXY: proxy.url, NO_PROXY: '', no_proxy: '' }, 'px');
      const served = total(await local.counters()) - before;
      const seen = proxy.requests.filter((r) => r.includes(`//${origin}/`));
      assert.equal(seen.length, proxy.requests.length, `only requests to glacier-local: ${proxy.requests.join('\n')}`);
      // Every request glacier-local served went through the proxy: parts (PUT .../multipart-uploads/ID) and
      // pieces (GET .../output) included, not only the SDK's own.
      assert.equal(seen.length, served, `proxy saw ${seen.length}, glacier-local served ${served}:\n${seen.join('\n')}`);
      assert.equal(seen.filter((r) => /^PUT .*\/multipart-uploads\/[^/]+$/.test(r)).length, 4, seen.join('\n'));
      assert.equal(seen.filter((r) => /^POST .*\/multipart-uploads$/.test(r)).length, 1, seen.join('\n'));
      assert.ok(seen.some((r) => /^GET .*\/multipart-uploads$/.test(r)), `the listing: ${seen.join('\n')}`);
      assert.ok(seen.filter((r) => /^GET .*\/jobs\/[^/]+\/output$/.test(r)).length >= 4, `the pieces: ${seen.join('\n')}`);
    });

    it('NO_PROXY naming the endpoint bypasses the proxy; the same commands work', { timeout: within(60_000) }, async () => {
      proxy.requests.length = 0;
      await roundTrip({ ...local.env, HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.1' }, 'px');
      assert.deepEqual(proxy.requests, []);
      assert.deepEqual(proxy.tunnels, []);
    });

    it('an unreachable HTTP_PROXY fails the command (exit 1) with one line, not a silent direct connection', { timeout: within(60_000) }, async () => {
      const r = await run('glacier-ls', ['-v', 'px'], { env: { ...local.env, HTTP_PROXY: 'http://127.0.0.1:9', NO_PROXY: '', AWS_MAX_ATTEMPTS: '1' } });
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^glacier-ls: .*(ECONNREFUSED|connect|refused)/im);
    });
  });

  describe('over TLS', () => {
    let local: Local;
    before(async () => {
      local = await startLocal(['--memory', '--job-delay', '0'], { tls: true });
      await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'px' }));
    });
    after(async () => {
      await local.stop();
    });

    it('HTTPS_PROXY: every connection is a CONNECT tunnel through the proxy, carrying the archive both ways', { timeout: within(60_000) }, async () => {
      proxy.requests.length = 0;
      proxy.tunnels.length = 0;
      const origin = new URL(local.endpoint).host;
      await roundTrip({ ...local.env, HTTPS_PROXY: proxy.url, NO_PROXY: '', no_proxy: '' }, 'px');
      assert.deepEqual(proxy.requests, [], 'nothing sent in clear through the proxy');
      assert.ok(proxy.tunnels.length >= 1);
      for (const t of proxy.tunnels) assert.equal(t.authority, origin);
      const up = proxy.tunnels.reduce((a, t) => a + t.up, 0);
      const down = proxy.tunnels.reduce((a, t) => a + t.down, 0);
      assert.ok(up > 3 * MiB && down > 3 * MiB, `tunnels carried ${up} bytes up and ${down} down`);
    });

    it('NO_PROXY bypasses the proxy over TLS too', { timeout: within(60_000) }, async () => {
      proxy.tunnels.length = 0;
      await roundTrip({ ...local.env, HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' }, 'px');
      assert.deepEqual(proxy.tunnels, []);
    });
  });
});
