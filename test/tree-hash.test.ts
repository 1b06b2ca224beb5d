import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  MiB, TreeHasher, treeHash, hashBoth, combineTreeHashesHex, isTreeHashAligned, isMegabyteAligned, isValidPartSize,
} from '../src/core/tree-hash.js';

const pattern = (n: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = i % 256;
  return b;
};

// Expected values computed independently with botocore.utils.calculate_tree_hash and hashlib.sha256.
const vectors: [string, Buffer, string, string][] = [
  ['0 bytes', Buffer.alloc(0), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  ['1 byte', Buffer.from('a'), 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb', 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb'],
  ['"hello glacier"', Buffer.from('hello glacier'), 'fb847ff5db2a4fa46ba71380f37a8acd8320468f2aced210b3a586c8dc795e36', 'fb847ff5db2a4fa46ba71380f37a8acd8320468f2aced210b3a586c8dc795e36'],
  ['1 MiB - 1', pattern(MiB - 1), 'd8222d77ac43a9391cb348ce3a3bb3c0221a4a666e907b5bc77de56a41f37848', 'd8222d77ac43a9391cb348ce3a3bb3c0221a4a666e907b5bc77de56a41f37848'],
  ['1 MiB', pattern(MiB), 'fbbab289f7f94b25736c58be46a994c441fd02552cc6022352e3d86d2fab7c83', 'fbbab289f7f94b25736c58be46a994c441fd02552cc6022352e3d86d2fab7c83'],
  ['1 MiB + 1', pattern(MiB + 1), '607deb6eccbc844880b9d7b523751a4cdba0452727b885c74264bfe1fb7843e2', 'd5a80a74925851bc5683564d57cb1608dfb63786a9462b54f541fcf5c15dc619'],
  ['3 MiB + 5', pattern(3 * MiB + 5), 'd09d5825e312c54b0560e26291d95cfef6d1d21520b4703296a4bba94f01a7b4', '3a40c480b40f7bb85bf09feb4f90c63207c26a9aa101b0c611aa2ad9464e97c9'],
  ['5 MiB pattern (protocol §3.2)', pattern(5 * MiB), '2e7cab6314e9614b6f2da12630661c3038e5592025f6534ba5823c3b340a1cb6', 'b14281df2d69cf71773d792acaf16356facfe66935c67529976f5102a96315c9'],
  ['1 MiB + 1 of zeros (protocol §3.2)', Buffer.alloc(MiB + 1), '2cb74edba754a81d121c9db6833704a8e7d417e5b13d1a19f4a52f007d644264', '28638dab8d5e1754a4ecb38b0ebe6df66c844f94aed142d4d0283d208bb786cd'],
  ['3 MiB of zeros (protocol §3.2)', Buffer.alloc(3 * MiB), 'bbd05cf6097ac9b1f89ea29d2542c1b7b67ee46848393895f5a9e43fa1f621e5', 'ca6cc129a4514ec765de86a4e7a49adf44842c9cac213c383ebe4071271bdf21'],
  ['6.5 MiB of zeros (protocol §3.2)', Buffer.alloc(6815744), 'd85ef2a08aeac2812a648deb875485a6e3848fc3d43ce4aa380937f08199f86b', '7fce0b2525bccf5bd8ed75ec7b7eb52de9b5c0aac4cf60f485aed45a934e9cf5'],
];

for (const [name, data, sha, tree] of vectors) {
  test(`known answer: ${name}`, () => {
    assert.deepEqual(hashBoth(data), { sha256: sha, treeHash: tree });
    assert.equal(treeHash(data), tree);
  });
}

test('any fragmentation of the input gives the same tree hash and SHA-256', () => {
  const data = pattern(7 * MiB + 12345);
  const expected = hashBoth(data);
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const cutters: [string, (i: number) => number][] = [
    ['single bytes, then 4 MiB pieces', (i) => (i < 3000 ? 1 : 4 * MiB)],
    ['1 MiB', () => MiB],
    ['1 MiB - 1', () => MiB - 1],
    ['1 MiB + 1', () => MiB + 1],
    ['64 KiB', () => 65536],
    ['3 MiB', () => 3 * MiB],
    ['random up to 2 MiB', () => 1 + Math.floor(rand() * 2 * MiB)],
    ['random up to 777 bytes, then random', (i) => 1 + Math.floor(rand() * (i < 5000 ? 777 : MiB))],
  ];
  for (const [name, cut] of cutters) {
    const h = new TreeHasher({ linear: true });
    for (let off = 0, i = 0; off < data.length; i++) {
      const n = Math.min(cut(i), data.length - off);
      h.update(data.subarray(off, off + n));
      off += n;
    }
    const got = h.digest();
    assert.deepEqual({ sha256: got.sha256, treeHash: got.treeHash }, expected, name);
  }
});

test('part tree hashes combine to the archive tree hash (protocol §3.2, 2 MiB parts)', () => {
  const data = pattern(5 * MiB);
  const parts = [0, 2, 4].map((m) => treeHash(data.subarray(m * MiB, Math.min((m + 2) * MiB, data.length))));
  assert.equal(parts[0].slice(0, 16), '159967700b653cc4');
  assert.equal(parts[2].slice(0, 16), 'fbbab289f7f94b25');
  assert.equal(combineTreeHashesHex(parts), 'b14281df2d69cf71773d792acaf16356facfe66935c67529976f5102a96315c9');
});

test('combining many part sizes agrees with the streaming hash', () => {
  const data = pattern(13 * MiB + 7);
  const whole = treeHash(data);
  for (const ps of [MiB, 2 * MiB, 4 * MiB, 8 * MiB, 16 * MiB]) {
    const parts: string[] = [];
    for (let o = 0; o < data.length; o += ps) parts.push(treeHash(data.subarray(o, o + ps)));
    assert.equal(combineTreeHashesHex(parts), whole, `part size ${ps}`);
  }
});

test('a tree hash differs from SHA-256 above 1 MiB, so plain SHA-256 cannot pass for it', () => {
  const data = pattern(MiB + 1);
  assert.notEqual(treeHash(data), createHash('sha256').update(data).digest('hex'));
});

test('alignment rules of protocol §3.3 (6.5 MiB example)', () => {
  const size = 6.5 * MiB;
  assert.equal(isTreeHashAligned(2 * MiB, 4 * MiB - 1, size), true);
  assert.equal(isTreeHashAligned(1 * MiB, 3 * MiB - 1, size), false);
  assert.equal(isTreeHashAligned(4 * MiB, size - 1, size), true);
  assert.equal(isTreeHashAligned(0, size - 1, size), true);
  assert.equal(isTreeHashAligned(6 * MiB, size - 1, size), true);
  assert.equal(isTreeHashAligned(0, 3 * MiB - 1, size), false);
  assert.equal(isTreeHashAligned(5, MiB, size), false);
  assert.equal(isTreeHashAligned(0, size, size), false);
  // every tree-hash aligned range is megabyte aligned, not the reverse
  assert.equal(isMegabyteAligned(1 * MiB, 3 * MiB - 1, size), true);
  assert.equal(isMegabyteAligned(1 * MiB, 3 * MiB, size), false);
  assert.equal(isMegabyteAligned(MiB + 1, 3 * MiB - 1, size), false);
  assert.equal(isMegabyteAligned(0, size - 1, size), true);
  for (let s = 0; s < size; s += MiB) {
    for (let e = s; e < size; e += MiB / 2) {
      if (isTreeHashAligned(s, e, size)) assert.ok(isMegabyteAligned(s, e, size), `${s}-${e}`);
    }
  }
});

test('part sizes: 1 MiB × 2^n up to 4 GiB', () => {
  for (let n = 0; n <= 12; n++) assert.ok(isValidPartSize(MiB * 2 ** n));
  for (const bad of [0, MiB - 1, 3 * MiB, 10 * MiB, 8 * 1024 * MiB, MiB + 1, -MiB, NaN]) assert.equal(isValidPartSize(bad), false, String(bad));
});


// Node 20.19+ aborts the whole process (SIGABRT, an assertion in its require(esm) path) when the process exits
// while a piscina worker is still loading an ES module through require(); test/slow/hash-pool-exit.test.ts sweeps
// that race. Here, deterministically: the pool's workers run with require(esm) off, so piscina's require() of the
// hash worker fails at once and it loads the module with import(), which an exit interrupts safely.
test('hash workers cannot load their module through require(esm), so piscina imports it', async () => {
  const { Worker } = await import('node:worker_threads');
  const { HashPool, WORKER_EXEC_ARGV } = await import('../src/core/hash-pool.js');
  const pool = new HashPool(1);
  try {
    const data = new Uint8Array(new SharedArrayBuffer(3 * MiB + 1)).fill(9);
    assert.equal((await pool.hash(data)).treeHash, treeHash(Buffer.from(data)));
    const piscina = await (pool as unknown as { piscina: Promise<{ options: { execArgv?: string[] } }> }).piscina;
    assert.deepEqual(piscina.options.execArgv, WORKER_EXEC_ARGV);
  } finally {
    await pool.close();
  }
  if (!process.allowedNodeEnvironmentFlags.has('--experimental-require-module')) return; // no require(esm) at all
  const worker = new URL('../src/core/hash-worker.js', import.meta.url);
  const code = await new Promise<string>((resolve, reject) => {
    const w = new Worker(`const { parentPort } = require('node:worker_threads'); try { require(${JSON.stringify(worker.pathname)}); parentPort.postMessage('loaded') } catch (e) { parentPort.postMessage(e.code) }`,
      { eval: true, execArgv: WORKER_EXEC_ARGV });
    w.once('message', (m: string) => { resolve(m); void w.terminate(); });
    w.once('error', reject);
  });
  assert.equal(code, 'ERR_REQUIRE_ESM');
});

test('a small part is hashed on the calling thread: no worker thread starts for it', async () => {
  const { HashPool, INLINE_MAX } = await import('../src/core/hash-pool.js');
  const pool = new HashPool(1);
  const started = () => (pool as unknown as { piscina: unknown }).piscina !== undefined;
  try {
    const small = new Uint8Array(new SharedArrayBuffer(8 * MiB), 0, INLINE_MAX).fill(7);
    assert.equal((await pool.hash(small)).treeHash, treeHash(Buffer.from(small)));
    assert.equal(started(), false, 'a part of INLINE_MAX bytes started the pool');
    const large = new Uint8Array(new SharedArrayBuffer(8 * MiB), 0, INLINE_MAX + 1).fill(7);
    assert.equal((await pool.hash(large)).treeHash, treeHash(Buffer.from(large)));
    assert.equal(started(), true, 'a larger part went to a worker');
  } finally {
    await pool.close();
  }
});
