// --limit-rate paces the wire, not only the reads: glacier-job output at 8 MiB/s with the default pieces (16 MiB,
// 4 at once) must not ask the server for more than the bucket allows, or the server bursts a batch of pieces into
// the kernel's socket buffers at full speed and then falls silent. A counting proxy between glacier-job and
// glacier-local reads everything glacier-local sends as soon as it is sent and notes when; the bytes per 4-second
// window must stay within 10% of 32 MiB.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { run, show } from '../helpers/bins.js';
import { startLocal, type Local } from '../helpers/local.js';
import { within } from '../helpers/time.js';

const MiB = 2 ** 20;
const RATE = 8 * MiB;
const SIZE = 112 * MiB; // 14 s at the rate
const WINDOW_MS = 10_000;
const SKIP_MS = 1000;

let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;
let proxy: Server;
/** [ms since the epoch, bytes] for every chunk glacier-local sent through the proxy. */
const served: [number, number][] = [];

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  work = mkdtempSync(join(tmpdir(), 'gp-limit-rate-wire-'));
  env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'wire' }));
  const target = new URL(local.endpoint);
  // Passes glacier-local's bytes on as the client takes them (pausing when the client's socket is full, as a
  // network would) and notes when each chunk left glacier-local.
  proxy = createServer((c) => {
    const s = connect(Number(target.port), target.hostname);
    c.pipe(s);
    s.on('data', (d: Buffer) => {
      served.push([Date.now(), d.length]);
      if (!c.write(d)) {
        s.pause();
        c.once('drain', () => s.resume());
      }
    });
    s.on('end', () => c.end());
    s.on('error', () => c.destroy());
    c.on('error', () => s.destroy());
    c.on('close', () => s.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
});
after(async () => {
  proxy?.close();
  await local?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('glacier-job output --limit-rate 8M: the bytes glacier-local sends per 10 s stay within 10% of the rate', { timeout: within(180_000) }, async (t) => {
  const file = join(work, 'archive');
  writeFileSync(file, randomBytes(SIZE));
  const put = await run('glacier-put', ['-v', 'wire', file], { env });
  assert.equal(put.code, 0, show(put));
  const archiveId = JSON.parse(put.stdout.toString()).archiveId as string;
  const job = await run('glacier-job', ['retrieve', '-v', 'wire', '--', archiveId], { env });
  assert.equal(job.code, 0, show(job));
  const jobId = JSON.parse(job.stdout.toString()).JobId as string;

  const port = (proxy.address() as { port: number }).port;
  const via = { ...env, AWS_ENDPOINT_URL_GLACIER: `${new URL(local.endpoint).protocol}//127.0.0.1:${port}` };
  served.length = 0;
  const out = await run('glacier-job', ['output', '-v', 'wire', '--wait', '--interval', '1s', '--limit-rate', '8M', '-o', join(work, 'out'), '--', jobId], { env: via });
  assert.equal(out.code, 0, show(out));

  // The transfer starts with the first chunk of archive bytes (the job's description before it is a few hundred).
  const startAt = served.findIndex(([, n]) => n >= 16 * 1024);
  assert.ok(startAt >= 0, 'no archive bytes went through the proxy');
  const t0 = served[startAt][0];
  const total = served.slice(startAt).reduce((a, [, n]) => a + n, 0);
  assert.ok(total >= SIZE, `only ${total} bytes went through the proxy`);
  // Windows run to the time the transfer takes at the rate, or to its last byte if later: a server sent ahead of
  // the rate shows as windows with too much in them, then as windows with too little.
  const end = Math.max(served[served.length - 1][0], t0 + (SIZE / RATE) * 1000);
  const bytesIn = (from: number, to: number) => served.slice(startAt).reduce((a, [at, n]) => (at >= from && at < to ? a + n : a), 0);
  const expected = (RATE * WINDOW_MS) / 1000;
  const windows: { at: number; off: number; bytes: number }[] = [];
  for (let from = t0 + SKIP_MS; from + WINDOW_MS <= end; from += 250) {
    const bytes = bytesIn(from, from + WINDOW_MS);
    windows.push({ at: from - t0, off: bytes / expected - 1, bytes });
  }
  const worst = windows.reduce((a, w) => (Math.abs(w.off) > Math.abs(a.off) ? w : a));
  const pct = (o: number) => `${o >= 0 ? '+' : ''}${(o * 100).toFixed(1)}%`;
  t.diagnostic(`${windows.length} windows of ${WINDOW_MS / 1000} s: served ${pct(Math.min(...windows.map((w) => w.off)))} to ${pct(Math.max(...windows.map((w) => w.off)))} of ${expected / MiB} MiB; last byte sent at ${((served[served.length - 1][0] - t0) / 1000).toFixed(2)} s for ${(SIZE / MiB)} MiB`);
  assert.ok(Math.abs(worst.off) <= 0.1, `the window from ${worst.at} ms: ${(worst.bytes / MiB).toFixed(1)} MiB served, ${pct(worst.off)} of ${expected / MiB} MiB`);
});
