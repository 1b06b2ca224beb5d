// Slow: a 2 GiB archive restored to S3 (moto) at a 16 MiB and at a 512 MiB part size, glacier-restore's peak RSS
// printed for each; at 512 MiB it stays near the 16 MiB figure (a part is streamed, never held whole). The object's
// bytes and composite checksum are checked. GLACIER_RESTORE_BIN measures another build (e.g. the code before) the
// same way. Run by hand: npm run build && node --test dist/test/slow/restore-s3-big.test.js
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CompleteMultipartUploadCommand, CreateVaultCommand, InitiateMultipartUploadCommand, UploadMultipartPartCommand,
} from '@aws-sdk/client-glacier';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combineTreeHashesHex, hashBoth, MiB } from '../../src/core/tree-hash.js';
import { BIN, startLocal } from '../helpers/local.js';
import { until } from '../helpers/time.js';

const PART = 64 * MiB; // Glacier upload part
const PARTS = 32; // 2 GiB
const SIZE = PART * PARTS;

/** Glacier part n of the archive: a fixed pattern with n in its first 4 bytes. */
function glacierPart(base: Buffer, n: number): Buffer {
  const b = Buffer.from(base);
  b.writeUInt32LE(n, 0);
  return b;
}

/** S3's composite checksum of the archive in `partSize` parts (SHA-256 of the parts' SHA-256s). */
function composite(base: Buffer, partSize: number): string {
  const digests: Buffer[] = [];
  let h = createHash('sha256');
  let inPart = 0;
  for (let n = 0; n < PARTS; n++) {
    const g = glacierPart(base, n);
    for (let off = 0; off < g.length; ) {
      const take = Math.min(partSize - inPart, g.length - off);
      h.update(g.subarray(off, off + take));
      off += take;
      inPart += take;
      if (inPart === partSize) {
        digests.push(h.digest());
        h = createHash('sha256');
        inPart = 0;
      }
    }
  }
  if (inPart) digests.push(h.digest());
  return createHash('sha256').update(Buffer.concat(digests)).digest('base64');
}

/**
 * moto 5.2 decodes an aws-chunked body by appending each chunk to a bytes object (quadratic: a 512 MiB part in
 * 1 MiB chunks is ~130 GiB of copying), so this proxy in front of it decodes the framing and forwards the part
 * plainly, its trailing checksum as a header. It runs in the test process: glacier-restore's memory is untouched.
 */
function dechunkingProxy(target: number): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    const headers = { ...req.headers };
    let body: Buffer | undefined;
    if (headers['content-encoding']?.includes('aws-chunked')) {
      const raw: Buffer[] = [];
      for await (const c of req) raw.push(c as Buffer);
      const all = Buffer.concat(raw);
      const out: Buffer[] = [];
      let off = 0;
      for (;;) {
        const eol = all.indexOf('\r\n', off);
        const n = parseInt(all.subarray(off, eol).toString().split(';')[0], 16);
        off = eol + 2;
        if (!n) break;
        out.push(all.subarray(off, off + n));
        off += n + 2;
      }
      for (const l of all.subarray(off).toString().split('\r\n')) {
        const m = /^(x-amz-checksum-[a-z0-9]+):(.*)$/.exec(l);
        if (m) headers[m[1]] = m[2].trim();
      }
      body = Buffer.concat(out);
      for (const h of ['content-encoding', 'x-amz-decoded-content-length', 'x-amz-trailer', 'transfer-encoding']) delete headers[h];
      headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
      headers['content-length'] = String(body.length);
    }
    const up = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    if (body) up.end(body);
    else req.pipe(up);
  });
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(server)));
}

test('2 GiB to S3: peak RSS at a 512 MiB part size near the 16 MiB figure; bytes and checksum exact', { timeout: 60 * 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'restore-s3-big-'));
  const local = await startLocal(['--data', join(dir, 'vaults'), '--job-delay', '0']);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const proxy = await dechunkingProxy(port);
  try {
    await until(() => fetch(endpoint).then(() => true, () => false), 'moto to answer', 60_000, 100);
    const s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await s3.send(new CreateBucketCommand({ Bucket: 'big-archive' }));
    const c = local.client({ maxAttempts: 3 });
    await c.send(new CreateVaultCommand({ accountId: '-', vaultName: 'big' }));
    const { uploadId } = await c.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'big', partSize: String(PART) }));
    const base = Buffer.alloc(PART);
    for (let i = 0; i < PART; i += 4) base.writeUInt32LE((i * 2654435761) >>> 0, i);
    const hashes: string[] = [];
    for (let n = 0; n < PARTS; n++) {
      const body = glacierPart(base, n);
      hashes[n] = hashBoth(body).treeHash;
      await c.send(new UploadMultipartPartCommand({ accountId: '-', vaultName: 'big', uploadId, body, checksum: hashes[n], range: `bytes ${n * PART}-${(n + 1) * PART - 1}/*` }));
    }
    const treeHash = combineTreeHashesHex(hashes);
    const done = await c.send(new CompleteMultipartUploadCommand({ accountId: '-', vaultName: 'big', uploadId, archiveSize: String(SIZE), checksum: treeHash }));
    const line = `${JSON.stringify({ ArchiveId: done.archiveId, ArchiveDescription: 'big.bin', CreationDate: new Date().toISOString(), Size: SIZE, SHA256TreeHash: treeHash })}\n`;
    const bin = process.env.GLACIER_RESTORE_BIN ?? BIN('glacier-restore');
    const env = { ...local.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, XDG_STATE_HOME: join(dir, 'state') };

    const measure = async (partSize: string): Promise<{ rssMiB: number; seconds: number }> => {
      const args = ['-f', 'peak-rss-kib %M', process.execPath, bin, '-v', 'big', '--to', `s3://big-archive/p${partSize}/`, '--storage-class', 'STANDARD', '--part-size', partSize, '--interval', '200ms'];
      const t0 = Date.now();
      const p = spawn('/usr/bin/time', args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.stdout!.resume();
      p.stdin!.end(line);
      const code = await new Promise((r) => p.on('close', r));
      assert.equal(code, 0, err);
      const seconds = (Date.now() - t0) / 1000;
      const o = await s3.send(new GetObjectCommand({ Bucket: 'big-archive', Key: `p${partSize}/big.bin` }));
      const whole = createHash('sha256');
      for await (const chunk of o.Body as AsyncIterable<Buffer>) whole.update(chunk);
      const want = createHash('sha256');
      for (let n = 0; n < PARTS; n++) want.update(glacierPart(base, n));
      assert.equal(whole.digest('hex'), want.digest('hex'), `bytes at part size ${partSize}`);
      const h = await s3.send(new HeadObjectCommand({ Bucket: 'big-archive', Key: `p${partSize}/big.bin`, ChecksumMode: 'ENABLED' }));
      const partBytes = Number(partSize.replace(/M$/, '')) * MiB;
      assert.equal(h.ChecksumSHA256?.replace(/-\d+$/, ''), composite(base, partBytes), `composite checksum at part size ${partSize}`);
      const rssMiB = Number(/peak-rss-kib (\d+)/.exec(err)![1]) / 1024;
      console.log(`# glacier-restore ${bin}: 2 GiB to S3 at ${partSize} parts: peak RSS ${rssMiB.toFixed(0)} MiB, ${seconds.toFixed(0)} s`);
      return { rssMiB, seconds };
    };
    const small = await measure('16M');
    const big = await measure('512M');
    console.log(`# glacier-restore ${bin}: 2 GiB to S3, peak RSS ${small.rssMiB.toFixed(0)} MiB at 16 MiB parts (${small.seconds.toFixed(0)} s), ${big.rssMiB.toFixed(0)} MiB at 512 MiB parts (${big.seconds.toFixed(0)} s): ratio ${(big.rssMiB / small.rssMiB).toFixed(2)}`);
    assert.ok(big.rssMiB < small.rssMiB + 64, `peak RSS ${big.rssMiB.toFixed(0)} MiB at 512 MiB parts, ${small.rssMiB.toFixed(0)} MiB at 16 MiB parts`);
  } finally {
    proxy.close();
    moto.kill('SIGTERM');
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
