// Clients facing a server that misbehaves on the wire, through a small HTTP front on 127.0.0.1 that forwards to
// glacier-local and changes one thing: a 307 redirect answered to GetJobOutput or UploadArchive is exit 1 with one
// line naming it (not "Unknown: UnknownError"); bytes sent after a complete GetJobOutput body close that
// connection and the download goes on, whole, on a new one. And the hint for `--resume -ID` (an upload id that
// starts with '-') names the form that works, `--resume=ID`, which then completes the upload. Bytes that are no
// response, met by a request the SDK makes on a reused connection, make that request go again on a new one. A whole
// response sent after a GetJobOutput body is never taken for the next piece's, and an empty 206 is fetched again, as
// is an answer whose Content-Range names other bytes; an inventory cut short is not continued from an answer that
// ignores the Range asked for.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http, { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { errorLines, run, sh, show } from './helpers/bins.js';
import { openUploads, startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

const VAULT = 'wire-client';
let local: Local;
let g: GlacierClient;
let dir: string;

type Mode = 'pass' | 'redirect' | 'junk' | 'junk-large' | 'junk-before' | 'empty' | 'longer' | 'shifted' | 'shifted-once' | 'cut-then-whole' | 'shifted-206' | 'late-200' | 'inv-short' | 'inv-short-once' | 'bad-job-hash' | 'bad-total' | 'early-200' | 'status-203' | 'other-total' | 'ignore-range' | 'inv-size-big' | 'cut-then-empty' | 'inv-206-short' | 'inv-other-total' | 'inv-longer' | 'inv-skip' | 'inv-200-late-range' | 'inv-chunked-over' | 'inv-no-size';
/** Requests the front has answered on each connection (for junk-before). */
const answered = new WeakMap<Socket, number>();
let mode: Mode = 'pass';
let front: Server;
let frontUrl: string;
/** Sockets the front wrote bytes on after a complete body, and whether each is closed yet. */
const junked = new Map<Socket, boolean>();

const OUTPUT = /^\/[^/]+\/vaults\/[^/]+\/jobs\/[^/]+\/output$/;
const ARCHIVES = /^\/[^/]+\/vaults\/[^/]+\/archives$/;
const JOB = /^\/[^/]+\/vaults\/[^/]+\/jobs\/[^/?]+$/;

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  dir = mkdtempSync(join(tmpdir(), 'gl-client-faults-'));
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  const upstream = new URL(local.endpoint);
  front = createServer((req, res) => {
    const path = req.url ?? '/';
    if (mode === 'redirect' && ((req.method === 'GET' && OUTPUT.test(path)) || (req.method === 'POST' && ARCHIVES.test(path)))) {
      req.resume();
      req.on('end', () => {
        res.writeHead(307, { Location: `http://127.0.0.1:9${path}`, 'Content-Length': '0' });
        res.end();
      });
      return;
    }
    if (req.method === 'GET' && OUTPUT.test(path) && answerOther(req, res, path)) return;
    // junk-before: bytes that are no response ahead of each answer but the first on a connection, as a client sees
    // the leftovers of a previous response on a connection it reused.
    const n = answered.get(req.socket) ?? 0;
    answered.set(req.socket, n + 1);
    if (mode === 'junk-before' && n > 0) req.socket.write('GARBAGE\r\n');
    // Forwarded as sent (the Host header included, so the signature still holds).
    const up = http.request({ host: upstream.hostname, port: Number(upstream.port), method: req.method, path, headers: req.headers, agent: false }, (ur) => {
      if ((mode === 'bad-job-hash' || mode === 'inv-size-big' || mode === 'inv-no-size') && req.method === 'GET' && JOB.test(path) && ur.statusCode === 200) {
        // DescribeJob saying the output has another tree hash than its pieces add up to, or an inventory 10 bytes
        // larger than it is.
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SHA256TreeHash: string; InventorySizeInBytes: number };
          if (mode === 'bad-job-hash') job.SHA256TreeHash = '0'.repeat(64);
          else if (mode === 'inv-size-big') job.InventorySizeInBytes += 10;
          else delete (job as { InventorySizeInBytes?: number }).InventorySizeInBytes;
          const body = Buffer.from(JSON.stringify(job));
          res.writeHead(200, { ...ur.headers, 'content-length': String(body.length) });
          res.end(body);
        });
        return;
      }
      if ((mode === 'empty' || mode === 'longer') && req.method === 'GET' && OUTPUT.test(path) && ur.statusCode! < 300) {
        // The answer's status and headers (its tree hash too) with an empty body, or with one byte more.
        const chunks: Buffer[] = [];
        ur.on('data', (c: Buffer) => chunks.push(c));
        ur.on('end', () => {
          const body = mode === 'empty' ? Buffer.alloc(0) : Buffer.concat([...chunks, Buffer.from('x')]);
          res.writeHead(ur.statusCode!, { ...ur.headers, 'content-length': String(body.length) });
          res.end(body);
        });
        return;
      }
      res.writeHead(ur.statusCode!, ur.headers);
      ur.pipe(res);
      if (req.method === 'GET' && OUTPUT.test(path) && (mode === 'junk' || mode === 'junk-large') && ur.statusCode! < 300) {
        const s = res.socket; // detached from the response once it is finished
        res.once('finish', () => {
          if (!s || s.destroyed) return;
          junked.set(s, false);
          s.once('close', () => junked.set(s, true));
          s.write(mode === 'junk' ? 'junk\r\n' : Buffer.alloc(2 * MiB, 'x'));
        });
      }
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  frontUrl = `http://127.0.0.1:${(front.address() as { port: number }).port}`;
});

/** How many GetJobOutput answers the front made up (shifted, shifted-once, cut-then-whole). */
let madeUp = 0;
/** A job whose output is another size (3 MiB), for other-total. */
let otherJobId = '';

/**
 * The front's own answers to GetJobOutput, fetched from glacier-local with the SDK (a request the front changed
 * would no longer match its signature): `shifted` answers a GET of the first MiB with the second MiB, its own
 * Content-Range and tree hash (the answer to another piece, as bytes left on a connection would be); `shifted-once`
 * only the first time. `cut-then-whole` cuts an answer without Range halfway, then answers the GET for the rest
 * with the whole output, status 200 and no Content-Range, as a server that ignores Range does. True if it answered.
 */
function answerOther(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean {
  const jobId = decodeURIComponent(path.split('/')[5]);
  const range = req.headers.range;
  const send = async (asked: string | undefined, shape: (b: Buffer, h: Record<string, string>) => void, job = jobId) => {
    const r = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: VAULT, jobId: job, range: asked }));
    const body = Buffer.from(await r.body!.transformToByteArray());
    const h: Record<string, string> = { 'content-type': r.contentType ?? 'application/octet-stream' };
    if (r.checksum) h['x-amz-sha256-tree-hash'] = r.checksum;
    if (r.contentRange) h['content-range'] = r.contentRange;
    madeUp++;
    shape(body, h);
  };
  const fail = () => res.destroy();
  if ((mode === 'shifted' || mode === 'shifted-206' || (mode === 'shifted-once' && madeUp === 0)) && range === `bytes=0-${MiB - 1}`) {
    req.resume();
    send(`bytes=${MiB}-${2 * MiB - 1}`, (b, h) => {
      // shifted-206: the same answer without its Content-Range.
      if (mode === 'shifted-206') delete h['content-range'];
      res.writeHead(206, { ...h, 'content-length': String(b.length) });
      res.end(b);
    }).catch(fail);
    return true;
  }
  if ((mode === 'early-200' || mode === 'status-203' || mode === 'other-total' || mode === 'ignore-range') && range === `bytes=0-${MiB - 1}`) {
    // early-200 and status-203: the second MiB under that status, without Content-Range; other-total: the first MiB
    // of another job's output, with its Content-Range (another total); ignore-range: the whole output, as a 200.
    req.resume();
    const asked = mode === 'ignore-range' ? undefined : mode === 'other-total' ? range : `bytes=${MiB}-${2 * MiB - 1}`;
    send(
      asked,
      (b, h) => {
        if (mode !== 'other-total') delete h['content-range'];
        res.writeHead(mode === 'status-203' ? 203 : mode === 'other-total' ? 206 : 200, { ...h, 'content-length': String(b.length) });
        res.end(b);
      },
      mode === 'other-total' ? otherJobId : jobId,
    ).catch(fail);
    return true;
  }
  if (mode === 'bad-total' && range === `bytes=0-${MiB - 1}`) {
    // The right bytes, under a Content-Range whose last byte is past its own total.
    req.resume();
    send(range, (b, h) => {
      res.writeHead(206, { ...h, 'content-range': `bytes 0-${MiB - 1}/1`, 'content-length': String(b.length) });
      res.end(b);
    }).catch(fail);
    return true;
  }
  if (mode === 'late-200' && range === `bytes=${MiB}-${2 * MiB - 1}`) {
    // A 200 (the whole output, as a server that ignores Range sends it) for the second MiB: the first MiB's bytes.
    req.resume();
    send(`bytes=0-${MiB - 1}`, (b, h) => {
      delete h['content-range'];
      res.writeHead(200, { ...h, 'content-length': String(b.length) });
      res.end(b);
    }).catch(fail);
    return true;
  }
  if ((mode === 'inv-short' || (mode === 'inv-short-once' && madeUp === 0)) && range === undefined) {
    // A complete answer (its length says so) that holds only the first half of the inventory.
    req.resume();
    send(undefined, (b, h) => {
      const half = b.subarray(0, b.length >> 1);
      res.writeHead(200, { ...h, 'content-length': String(half.length) });
      res.end(half);
    }).catch(fail);
    return true;
  }
  if ((mode === 'inv-200-late-range' || mode === 'inv-chunked-over' || mode === 'inv-no-size') && range === undefined) {
    // inv-200-late-range: a 200 whose Content-Range starts halfway, with the second half; inv-chunked-over: a 206 of
    // the first half by its Content-Range, chunked (no length), with 10 bytes more; inv-no-size: a 206 of the first
    // half, its total the whole (DescribeJob then gives no InventorySizeInBytes). A request for the rest is forwarded.
    req.resume();
    send(undefined, (b, h) => {
      const half = b.length >> 1;
      if (mode === 'inv-200-late-range') {
        res.writeHead(200, { ...h, 'content-range': `bytes ${half}-${b.length - 1}/${b.length}`, 'content-length': String(b.length - half) });
        res.end(b.subarray(half));
      } else if (mode === 'inv-chunked-over') {
        res.writeHead(206, { ...h, 'content-range': `bytes 0-${half - 1}/${b.length}` });
        res.end(b.subarray(0, half + 10));
      } else {
        res.writeHead(206, { ...h, 'content-range': `bytes 0-${half - 1}/${b.length}`, 'content-length': String(half) });
        res.end(b.subarray(0, half));
      }
    }).catch(fail);
    return true;
  }
  if (mode === 'inv-206-short' || mode === 'inv-other-total' || mode === 'inv-longer' || mode === 'inv-skip') {
    // Inventory answers that are not the job's bytes, each with framing that agrees with itself: a 206 of the first
    // half as if that were all; the first half, then a rest that says its total is other; the inventory twice; the
    // first half, then a rest whose Content-Range names more bytes than its body holds (100 of them skipped).
    req.resume();
    send(undefined, (b, h) => {
      const half = b.length >> 1;
      delete h['content-range'];
      const answer = (status: number, body: Buffer, cr?: string) => {
        res.writeHead(status, { ...h, ...(cr ? { 'content-range': cr } : {}), 'content-length': String(body.length) });
        res.end(body);
      };
      if (mode === 'inv-206-short') return answer(206, b.subarray(0, half), `bytes 0-${half - 1}/${half}`);
      if (mode === 'inv-longer') return answer(200, Buffer.concat([b, b]));
      if (range === undefined) return answer(200, b.subarray(0, half));
      if (mode === 'inv-other-total') return answer(206, b.subarray(half, half + 100), `bytes ${half}-${half + 99}/${half + 100}`);
      return answer(206, b.subarray(half + 100), `bytes ${half}-${b.length - 1}/${b.length}`);
    }).catch(fail);
    return true;
  }
  if (mode === 'cut-then-empty') {
    // The first answer cut halfway; each request for the rest answered with its Content-Range and no bytes.
    req.resume();
    send(undefined, (b, h) => {
      if (range === undefined) {
        res.writeHead(200, { ...h, 'content-length': String(b.length) });
        res.write(b.subarray(0, b.length >> 1), () => res.destroy());
      } else {
        // No Content-Length (a chunked body, ended at once): a length of 0 would contradict the range.
        res.writeHead(206, { ...h, 'content-range': `bytes ${b.length >> 1}-${b.length - 1}/${b.length}` });
        res.end();
      }
    }).catch(fail);
    return true;
  }
  if (mode === 'cut-then-whole') {
    req.resume();
    send(undefined, (b, h) => {
      res.writeHead(200, { ...h, 'content-length': String(b.length) });
      if (range === undefined) res.write(b.subarray(0, b.length >> 1), () => res.destroy());
      else res.end(b);
    }).catch(fail);
    return true;
  }
  return false;
}

after(async () => {
  front?.closeAllConnections();
  front?.close();
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const env = () => ({ ...local.env, XDG_STATE_HOME: join(dir, 'state') });

/** A retrieval job (completed at once: --job-delay 0) for a new archive of `bytes`. */
async function retrieval(bytes: Buffer): Promise<string> {
  const { archiveId } = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: bytes, checksum: treeHash(bytes) }));
  return (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }))).jobId!;
}

describe('a 307 redirect', () => {
  after(() => (mode = 'pass'));

  it('on GetJobOutput: exit 1, one line naming the redirect, nothing written', { timeout: within(60_000) }, async () => {
    const jobId = await retrieval(randomBytes(1000));
    mode = 'redirect';
    const out = join(dir, 'redirected.out');
    const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '-o', out, '--', jobId], { env: env() });
    assert.equal(r.code, 1, show(r));
    const lines = errorLines(r.stderr, 'glacier-job');
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0], /^glacier-job: .*HTTP 307, a redirect to http:\/\/127\.0\.0\.1:9\/.*not followed/, show(r));
    assert.doesNotMatch(r.stderr, /Unknown/);
    assert.throws(() => readFileSync(out), 'no output file');
  });

  it('on UploadArchive: exit 1, one line naming the redirect', { timeout: within(60_000) }, async () => {
    mode = 'redirect';
    const file = join(dir, 'small.bin');
    writeFileSync(file, randomBytes(1000));
    const r = await run('glacier-put', ['-v', VAULT, '--endpoint', frontUrl, file], { env: env() });
    assert.equal(r.code, 1, show(r));
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0], /^glacier-put: .*HTTP 307, a redirect .*not followed/, show(r));
  });
});

describe('bytes after a complete body on a kept-alive connection', () => {
  after(() => (mode = 'pass'));

  for (const m of ['junk', 'junk-large'] as const) {
    it(`${m === 'junk' ? 'a few bytes' : '2 MiB'} after each GetJobOutput piece: that connection is closed, the download goes on whole (exit 0)`, { timeout: within(90_000) }, async () => {
      const bytes = randomBytes(4 * MiB + 77);
      const jobId = await retrieval(bytes);
      mode = m;
      junked.clear();
      const out = join(dir, `${m}.out`);
      const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '-c', '1', '-o', out, '--', jobId], { env: env() });
      assert.equal(r.code, 0, show(r));
      assert.ok(readFileSync(out).equals(bytes), 'the output is the archive');
      assert.ok(junked.size >= 4, `the front sent bytes after ${junked.size} bodies`);
      await until(() => [...junked.values()].every(Boolean), 'every connection that got bytes after a body to be closed', 10_000);
    });
  }
});

describe('answers that are not the piece asked for, to stdout', () => {
  after(() => (mode = 'pass'));

  it('a whole response sent with each GetJobOutput body is never taken for the next piece: exit 0, the archive exact (before: exit 3)', { timeout: within(90_000) }, async () => {
    const bytes = randomBytes(4 * MiB + 77);
    const jobId = await retrieval(bytes);
    // A raw front: GET requests only, forwarded; each answer written in one write, and after a GetJobOutput body,
    // in that same write, bytes that read as a whole response, as if to the next request.
    const upstream = new URL(local.endpoint);
    let junkSent = 0;
    const raw = createNetServer((sock) => {
      let buf = Buffer.alloc(0);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
          const [line, ...fields] = buf.subarray(0, end).toString('latin1').split('\r\n');
          buf = buf.subarray(end + 4);
          const [method, path] = line.split(' ');
          const headers: Record<string, string> = {};
          for (const f of fields) headers[f.slice(0, f.indexOf(':')).trim().toLowerCase()] = f.slice(f.indexOf(':') + 1).trim();
          const up = http.request({ host: upstream.hostname, port: Number(upstream.port), method, path, headers, agent: false }, (ur) => {
            const chunks: Buffer[] = [];
            ur.on('data', (c: Buffer) => chunks.push(c));
            ur.on('end', () => {
              const body = Buffer.concat(chunks);
              let head = `HTTP/1.1 ${ur.statusCode} ${ur.statusMessage}\r\n`;
              for (const [k, v] of Object.entries(ur.headers)) if (!/^(content-length|transfer-encoding|connection)$/.test(k)) head += `${k}: ${String(v)}\r\n`;
              head += `content-length: ${body.length}\r\n\r\n`;
              const junk = OUTPUT.test(path) && ur.statusCode! < 300 ? Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nJUNK!') : Buffer.alloc(0);
              if (junk.length) junkSent++;
              sock.write(Buffer.concat([Buffer.from(head, 'latin1'), body, junk]));
            });
          });
          up.on('error', () => sock.destroy());
          up.end();
        }
      });
      sock.on('error', () => {});
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
      // Into a file through the shell (a write that returns at once) with -c 4: a piece buffer is free when a piece's
      // body ends, so its connection would be asked again at once.
      const out = join(dir, 'junk-response.out');
      const r = await sh('"$NODE" "$BIN/glacier-job" output -v "$1" --endpoint "$2" --piece-size 1M -c 4 -- "$3" > "$4"', [VAULT, url, jobId, out], { env: env() }).done;
      assert.equal(r.code, 0, show(r));
      assert.ok(readFileSync(out).equals(bytes), 'stdout is the archive');
      assert.ok(junkSent >= 5, `the front sent a response's worth of bytes after ${junkSent} bodies`);
    } finally {
      raw.close();
    }
  });

  const wrongLength: { mode: Mode; title: string; code: number; line: RegExp }[] = [
    { mode: 'empty', title: '206 with its tree hash and an empty body: fetched again, then exit 1 naming it, nothing on stdout (before: exit 0, empty)', code: 1, line: /the response holds 0 bytes, not bytes 0-1048576 of 1048577, on every attempt; nothing unverified was written/ },
    { mode: 'longer', title: 'a body one byte longer than the piece, with its length: fetched again, then exit 3 (a size that does not match), nothing on stdout', code: 3, line: /more bytes than asked for .*on every attempt; nothing unverified was written/ },
  ];
  for (const c of wrongLength) {
    it(c.title, { timeout: within(90_000) }, async () => {
      const jobId = await retrieval(randomBytes(MiB + 1));
      mode = c.mode;
      const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--', jobId], { env: { ...env(), AWS_MAX_ATTEMPTS: '2' } });
      assert.equal(r.code, c.code, show(r));
      assert.equal(r.stdout.length, 0, 'nothing written');
      const lines = errorLines(r.stderr, 'glacier-job');
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], c.line, show(r));
    });
  }
});

describe('an answer whose Content-Range is not the range asked for', () => {
  after(() => (mode = 'pass'));

  it('on every attempt (the next MiB, with its own tree hash): exit 1 naming it, nothing on stdout (before: exit 3, after the wrong MiB went to stdout)', { timeout: within(90_000) }, async () => {
    const bytes = randomBytes(2 * MiB);
    const jobId = await retrieval(bytes);
    mode = 'shifted';
    madeUp = 0;
    const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '--', jobId], { env: { ...env(), AWS_MAX_ATTEMPTS: '2' } });
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout.length, 0, 'nothing written');
    const lines = errorLines(r.stderr, 'glacier-job');
    assert.equal(lines.length, 1, show(r));
    assert.match(lines[0], new RegExp(`piece 0-${MiB - 1}: the response holds "bytes ${MiB}-${2 * MiB - 1}/${2 * MiB}" \\(Content-Range\\), not bytes 0-${MiB - 1}`), show(r));
    assert.equal(madeUp, 2, 'both attempts were answered with the other MiB');
  });

  const unmarked: { mode: Mode; title: string; line: RegExp }[] = [
    { mode: 'shifted-206', title: 'a 206 without Content-Range (the next MiB, with its own tree hash and the right length): exit 1 naming it, nothing on stdout (before: exit 3, after the wrong MiB went to stdout)', line: /piece 0-1048575: the response holds a 206 without Content-Range, not bytes 0-1048575 of 2097152, on every attempt; nothing unverified was written/ },
    { mode: 'bad-total', title: 'a Content-Range whose last byte is past its total (bytes 0-1048575/1): exit 1 naming it, nothing on stdout (before: exit 0)', line: /piece 0-1048575: the response holds "bytes 0-1048575\/1" \(Content-Range\), not bytes 0-1048575 of 2097152, on every attempt/ },
    { mode: 'late-200', title: 'a 200 for the second MiB (the first MiB, with its tree hash): exit 1 naming it, only the first MiB on stdout (before: exit 3, after the wrong MiB went to stdout)', line: /piece 1048576-2097151: the response holds the whole output \(a 200 without Content-Range\), not bytes 1048576-2097151 of 2097152, on every attempt/ },
  ];
  unmarked.push(
    { mode: 'early-200', title: 'a 200 for the first MiB of two (the second MiB, with its tree hash): exit 1 naming it, nothing on stdout (before: exit 3 after the wrong MiB went out; with --range, exit 0)', line: /piece 0-1048575: the response holds the whole output \(a 200 without Content-Range\), not bytes 0-1048575 of 2097152, on every attempt/ },
    { mode: 'status-203', title: 'a 203 (the second MiB, with its tree hash): exit 1 naming it, nothing on stdout (before: exit 3 after the wrong MiB went out)', line: /piece 0-1048575: the response holds a 203, not bytes 0-1048575 of 2097152, on every attempt/ },
    { mode: 'other-total', title: "another job's first MiB, its Content-Range naming another total: exit 1 naming it, nothing on stdout (before: exit 3 after the wrong MiB went out)", line: /piece 0-1048575: the response holds "bytes 0-1048575\/3145728" \(Content-Range\), not bytes 0-1048575 of 2097152, on every attempt/ },
    { mode: 'ignore-range', title: 'a server that ignores Range (a 200 with the whole output for a piece): exit 1 naming it (before: exit 3, "more bytes than asked for")', line: /piece 0-1048575: the response holds the whole output \(a 200 without Content-Range\), not bytes 0-1048575 of 2097152, on every attempt/ },
  );
  for (const c of unmarked) {
    it(c.title, { timeout: within(90_000) }, async () => {
      const bytes = randomBytes(2 * MiB);
      const jobId = await retrieval(bytes);
      if (c.mode === 'other-total' && !otherJobId) otherJobId = await retrieval(randomBytes(3 * MiB));
      mode = c.mode;
      madeUp = 0;
      const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '-c', '1', '--', jobId], { env: { ...env(), AWS_MAX_ATTEMPTS: '2' } });
      assert.equal(r.code, 1, show(r));
      assert.ok(bytes.subarray(0, r.stdout.length).equals(r.stdout) && r.stdout.length <= (c.mode === 'late-200' ? MiB : 0), `only bytes in their place, and none of the refused piece, on stdout (${r.stdout.length})`);
      const lines = errorLines(r.stderr, 'glacier-job');
      assert.equal(lines.length, 1, show(r));
      assert.match(lines[0], c.line, show(r));
      assert.equal(madeUp, 2, 'both attempts were answered so');
    });
  }

  it('into a file whose pieces match but whose whole does not match the job: exit 3, and the next run fetches it all again (before: it resumed after every byte)', { timeout: within(90_000) }, async () => {
    const bytes = randomBytes(2 * MiB);
    const jobId = await retrieval(bytes);
    mode = 'bad-job-hash';
    const out = join(dir, 'bad-job-hash.out');
    const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '-o', out, '--', jobId], { env: env() });
    assert.equal(r.code, 3, show(r));
    assert.match(errorLines(r.stderr, 'glacier-job')[0], /does not match the job's 0{64}; .*bad-job-hash\.out\.partial counts nothing as verified now, so the next run fetches it all again/, show(r));
    assert.equal((JSON.parse(readFileSync(`${out}.partial.json`, 'utf8')) as { verified: number }).verified, 0, 'the record counts nothing');
    mode = 'pass';
    const again = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '-o', out, '--', jobId], { env: env() });
    assert.equal(again.code, 0, show(again));
    assert.doesNotMatch(again.stderr, /resuming/, show(again));
    assert.ok(readFileSync(out).equals(bytes), 'the file is the archive');
  });

  it('once, into a file: fetched again, exit 0, the file exact', { timeout: within(90_000) }, async () => {
    const bytes = randomBytes(2 * MiB);
    const jobId = await retrieval(bytes);
    mode = 'shifted-once';
    madeUp = 0;
    const out = join(dir, 'shifted-once.out');
    const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--piece-size', '1M', '-o', out, '--', jobId], { env: env() });
    assert.equal(r.code, 0, show(r));
    assert.equal(madeUp, 1, 'one answer was the other MiB');
    assert.match(r.stderr, /fetching bytes 0-1048575 again \(piece 0-1048575: the response holds "bytes 1048576-2097151\/2097152"/, show(r));
    assert.ok(readFileSync(out).equals(bytes), 'the file is the archive');
  });

  it('an inventory cut halfway, then answered whole where the rest was asked for: exit 1, the first half written once (before: exit 0, the start repeated)', { timeout: within(90_000) }, async () => {
    await retrieval(randomBytes(1000));
    const jobId = (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'inventory-retrieval' } }))).jobId!;
    const whole = Buffer.from(await (await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: VAULT, jobId }))).body!.transformToByteArray());
    mode = 'cut-then-whole';
    madeUp = 0;
    const r = await run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--', jobId], { env: env() });
    assert.equal(r.code, 1, show(r));
    assert.equal(madeUp, 2, 'a cut answer, then the whole one');
    assert.ok(r.stdout.equals(whole.subarray(0, whole.length >> 1)), `stdout is the first half once (${r.stdout.length} of ${whole.length} bytes)`);
    const lines = errorLines(r.stderr, 'glacier-job');
    assert.match(lines[lines.length - 1], new RegExp(`the job output stopped after ${whole.length >> 1} bytes, and the request for the rest was answered with no Content-Range \\(the server ignores Range\\); run the command again`), show(r));
  });
});

describe('an inventory answer that ends before the size its job gives (its framing says it is complete)', () => {
  after(() => (mode = 'pass'));
  let jobId: string;
  let csvJobId: string;
  let whole: Buffer;
  let csv: Buffer;
  before(async () => {
    for (let i = 0; i < 3; i++) await retrieval(randomBytes(100 + i));
    const inventory = async (Format: string) => {
      const id = (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'inventory-retrieval', Format } }))).jobId!;
      return { id, bytes: Buffer.from(await (await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: VAULT, jobId: id }))).body!.transformToByteArray()) };
    };
    ({ id: jobId, bytes: whole } = await inventory('JSON'));
    ({ id: csvJobId, bytes: csv } = await inventory('CSV'));
  });
  /** glacier-job output of the JSON inventory through the front in mode `m` (its made-up answers counted from 0). */
  const output = (m: Mode) => {
    mode = m;
    madeUp = 0;
    return run('glacier-job', ['output', '-v', VAULT, '--endpoint', frontUrl, '--', jobId], { env: env() });
  };

  it('glacier-job output: continued from where it ended, exit 0, the inventory whole (before: exit 0, half of it)', { timeout: within(60_000) }, async () => {
    const r = await output('inv-short');
    assert.equal(r.code, 0, show(r));
    assert.equal(madeUp, 1, 'the first answer was half');
    assert.ok(r.stdout.equals(whole), `stdout is the inventory (${r.stdout.length} of ${whole.length} bytes)`);
    assert.match(r.stderr, new RegExp(`the job output stopped after ${whole.length >> 1} bytes \\(the answer ended after ${whole.length >> 1} of the output's ${whole.length} bytes\\); continuing from there`), show(r));
  });

  it('glacier-restore --inventory JOB_ID: continued from where it ended, every archive restored (before: the half read as a broken inventory)', { timeout: within(90_000) }, async () => {
    mode = 'inv-short-once';
    madeUp = 0;
    const r = await run('glacier-restore', ['-v', VAULT, '--endpoint', frontUrl, `--inventory=${jobId}`, '--to', join(dir, 'inv-short-restore'), '--interval', '100ms'], { env: env() });
    assert.equal(r.code, 0, show(r));
    assert.equal(madeUp, 1, 'the first answer was half');
    assert.match(r.stderr, new RegExp(`the job output stopped after ${whole.length >> 1} bytes \\(the answer ended after ${whole.length >> 1} of the output's ${whole.length} bytes\\); continuing from there`), show(r));
    const summary = JSON.parse(r.stdout.toString('utf8').trim().split('\n').at(-1)!) as { archives: number; done: number };
    const listed = (JSON.parse(whole.toString('utf8')) as { ArchiveList: unknown[] }).ArchiveList.length;
    assert.deepEqual([summary.archives, summary.done], [listed, listed], 'every archive of the inventory restored');
  });

  it('glacier-job output of an inventory whose job says 10 bytes more than there are: exit 1 naming it, the inventory on stdout (before: exit 2)', { timeout: within(60_000) }, async () => {
    const r = await output('inv-size-big');
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stdout.equals(whole), 'stdout is the inventory');
    assert.match(errorLines(r.stderr, 'glacier-job').at(-1)!, new RegExp(`the job output stopped after ${whole.length} of the ${whole.length + 10} bytes, and the request for the rest failed \\(.*\\); run the command again`), show(r));
  });

  it('an inventory cut halfway whose rest comes back empty every time: exit 1 naming how far it got and how often (before: only the error of the last attempt)', { timeout: within(90_000) }, async () => {
    const r = await output('cut-then-empty');
    assert.equal(r.code, 1, show(r));
    assert.equal(madeUp, 6, 'the cut answer, then five empty ones');
    assert.ok(r.stdout.equals(whole.subarray(0, whole.length >> 1)), 'stdout is the first half');
    assert.match(errorLines(r.stderr, 'glacier-job').at(-1)!, new RegExp(`the job output stopped after ${whole.length >> 1} of its ${whole.length} bytes on 5 attempts in a row \\(.*\\); run the command again`), show(r));
  });

  const notTheInventory: { mode: Mode; title: string; line: (size: number) => RegExp; kept: (size: number) => number }[] = [
    { mode: 'inv-206-short', title: 'a 206 of the first half as if that were all', line: (n) => new RegExp(`the job output was answered with bytes "bytes 0-${(n >> 1) - 1}/${n >> 1}" in ${n >> 1}, where the output is ${n} bytes`), kept: () => 0 },
    { mode: 'inv-other-total', title: 'the first half, then a rest whose Content-Range gives another total', line: (n) => new RegExp(`stopped after ${n >> 1} bytes, and the request for the rest was answered with bytes "bytes ${n >> 1}-${(n >> 1) + 99}/${(n >> 1) + 100}" in 100, where the output is ${n} bytes`), kept: (n) => n >> 1 },
    { mode: 'inv-longer', title: 'the inventory twice, as one answer', line: (n) => new RegExp(`the job output was answered with more bytes than the ${n} its job gives`), kept: (n) => n },
    { mode: 'inv-skip', title: 'the first half, then a rest whose Content-Range names 100 bytes more than its body holds', line: (n) => new RegExp(`stopped after ${n >> 1} bytes, and the request for the rest was answered with bytes "bytes ${n >> 1}-${n - 1}/${n}" in ${n - (n >> 1) - 100}`), kept: (n) => n >> 1 },
  ];
  notTheInventory.push(
    { mode: 'inv-200-late-range', title: 'a 200 whose Content-Range starts halfway', line: (n) => new RegExp(`the job output was answered with bytes "bytes ${n >> 1}-${n - 1}/${n}"`), kept: () => 0 },
    { mode: 'inv-chunked-over', title: 'a 206 of the first half, chunked, with 10 bytes more than its Content-Range names', line: (n) => new RegExp(`the job output was answered with more bytes than its Content-Range "bytes 0-${(n >> 1) - 1}/${n}" names`), kept: (n) => (n >> 1) + 10 },
  );
  for (const c of notTheInventory) {
    it(`glacier-job output of an inventory, ${c.title}: exit 1 naming it, no byte that is not the inventory's (before: exit 0)`, { timeout: within(60_000) }, async () => {
      const r = await output(c.mode);
      assert.equal(r.code, 1, show(r));
      assert.ok(r.stdout.length <= c.kept(whole.length) && whole.subarray(0, r.stdout.length).equals(r.stdout), `stdout is a start of the inventory (${r.stdout.length} bytes)`);
      assert.match(errorLines(r.stderr, 'glacier-job').at(-1)!, c.line(whole.length), show(r));
    });
  }

  it('glacier-ls --inventory JOB_ID of a CSV inventory sent twice as one answer: exit 1 naming it (before: exit 3, its second header read as a broken row)', { timeout: within(60_000) }, async () => {
    mode = 'inv-longer';
    const r = await run('glacier-ls', ['-v', VAULT, '--archives', '--json', '--all-hosts', '--endpoint', frontUrl, `--inventory=${csvJobId}`], { env: { ...env(), GLACIER_CATALOGUE: join(dir, 'inv-longer-catalogue.jsonl') } });
    assert.equal(r.code, 1, show(r));
    assert.match(errorLines(r.stderr, 'glacier-ls').at(-1)!, new RegExp(`the job output was answered with more bytes than the ${csv.length} its job gives; run the command again`), show(r));
  });

  for (const m of ['inv-short', 'inv-no-size'] as const) {
    it(`glacier-ls --inventory JOB_ID of a CSV inventory${m === 'inv-no-size' ? ' whose job gives no size, its first answer a 206 of half' : ''}: continued from where it ended, every archive listed (before: exit 0 on part of the list, or exit 3 cut mid-row)`, { timeout: within(60_000) }, async () => {
      mode = m;
      madeUp = 0;
      const r = await run('glacier-ls', ['-v', VAULT, '--archives', '--json', '--all-hosts', '--endpoint', frontUrl, `--inventory=${csvJobId}`], { env: { ...env(), GLACIER_CATALOGUE: join(dir, `${m}-catalogue.jsonl`) } });
      assert.equal(madeUp, 1, 'the first answer was half');
      assert.equal(r.code, 0, show(r));
      const listed = r.stdout.toString('utf8').trim().split('\n').length;
      assert.equal(listed, csv.toString('utf8').trim().split('\n').length - 1, 'a line for every archive of the inventory');
    });
  }
});

describe('bytes that are no response on a reused connection, for a request the SDK makes (ListJobs)', () => {
  after(async () => {
    mode = 'pass';
    await local.admin('PUT', 'config', { pageSize: 1000 });
  });

  it('the request is made again on a new connection: every page listed, exit 0 (before: exit 1, "Parse Error")', { timeout: within(60_000) }, async () => {
    const jobs = [await retrieval(randomBytes(100)), await retrieval(randomBytes(101)), await retrieval(randomBytes(102))];
    // One job a page: the pages after the first go on the connection the first used.
    await local.admin('PUT', 'config', { pageSize: 1 });
    mode = 'junk-before';
    const r = await run('glacier-job', ['list', '-v', VAULT, '--endpoint', frontUrl, '--json'], { env: env() });
    assert.equal(r.code, 0, show(r));
    const listed = r.stdout.toString('utf8').trim().split('\n').map((l) => (JSON.parse(l) as { JobId: string }).JobId);
    for (const j of jobs) assert.ok(listed.includes(j), `job ${j} listed`);
    assert.equal(new Set(listed).size, listed.length, 'no job listed twice');
  });
});

describe("an upload id that starts with '-'", () => {
  it('`--resume -ID`: exit 2 with a hint naming --resume=ID; that form resumes the upload', { timeout: within(120_000) }, async () => {
    let id = '';
    for (let i = 0; i < 2000 && !id.startsWith('-'); i++) {
      id = (await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: VAULT, partSize: String(MiB) }))).uploadId!;
    }
    assert.ok(id.startsWith('-'), 'glacier-local gave no id starting with -');
    const data = randomBytes(2 * MiB + 5);
    const file = join(dir, 'dash.bin');
    writeFileSync(file, data);
    const r = await run('glacier-put', ['-v', VAULT, '-p', '1M', '--resume', id, file], { env: env() });
    assert.equal(r.code, 2, show(r));
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, show(r));
    assert.ok(lines[0].includes(`--resume=${id}`), lines[0]);
    assert.doesNotMatch(lines[0], / -- ID/, 'not the form for a FILE');
    const hinted = /(--resume=\S+)/.exec(lines[0])![1];
    const ok = await run('glacier-put', ['-v', VAULT, '-p', '1M', hinted, file], { env: env() });
    assert.equal(ok.code, 0, show(ok));
    const res = JSON.parse(ok.stdout.toString('utf8')) as { uploadId: string; checksum: string };
    assert.equal(res.uploadId, id);
    assert.equal(res.checksum, treeHash(data));
    assert.ok(!(await openUploads(g, VAULT)).includes(id), 'the upload is completed');
  });
});
