// glacier-job never hangs and obeys signals: SIGTERM during any of its requests (describe, list, wait, output
// of an archive and of an inventory, retrieve) is exit 143 with one line; `wait --timeout 2s` ends in about
// 2 s (plus node's start) with exit 4 whatever the server does: answering slowly, or accepting and never answering.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { treeHash } from '../src/core/tree-hash.js';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const VAULT = 'signals';

let local: Local;
let env: NodeJS.ProcessEnv;
let dir: string;
let archiveId: string;
let archiveJob: string;
let inventoryJob: string;
let silent: Server;
let silentUrl: string;
const sockets: Socket[] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-job-signals-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  const g = local.client();
  assert.equal((await run('glacier-vault', ['create', VAULT], { env })).code, 0);
  const data = randomBytes(3 << 20);
  archiveId = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, checksum: treeHash(data) }))).archiveId!;
  archiveJob = (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }))).jobId!;
  inventoryJob = (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'inventory-retrieval' } }))).jobId!;
  // A server that accepts connections and never answers.
  silent = createServer((s) => {
    sockets.push(s);
    s.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
});

after(async () => {
  // SIGKILL: glacier-local's SIGTERM waits for the requests its slow faults still hold (a minute each), and nothing
  // of this in-memory server needs a clean stop.
  await local?.kill9();
  for (const s of sockets) s.destroy();
  silent?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Whether glacier-local has held back a request of `op` with its slow fault (counted as the request arrives). */
async function slowed(op: string): Promise<boolean> {
  const c = await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters');
  return (c.faults[op]?.slow ?? 0) > 0;
}

describe('SIGTERM during a glacier-job request: exit 143, one line', () => {
  const cases: [string, string, () => string[]][] = [
    ['describe', 'DescribeJob', () => ['describe', '-v', VAULT, '--', archiveJob]],
    ['list', 'ListJobs', () => ['list', '-v', VAULT]],
    ['wait', 'DescribeJob', () => ['wait', '-v', VAULT, '--', archiveJob]],
    ['retrieve', 'InitiateJob', () => ['retrieve', '-v', VAULT, '--', archiveId]],
    ['output of an archive', 'GetJobOutput', () => ['output', '-v', VAULT, '-o', join(dir, 'a.bin'), '--', archiveJob]],
    ['output of an inventory', 'GetJobOutput', () => ['output', '-v', VAULT, '--', inventoryJob]],
    ['output --archives', 'GetJobOutput', () => ['output', '-v', VAULT, '--archives', '--', inventoryJob]],
  ];
  for (const [name, op, args] of cases) {
    it(name, { timeout: within(120_000) }, async () => {
      await local.admin('DELETE', 'counters');
      await local.admin('PUT', 'faults', { spec: `${op}:slow:ms=${within(60_000)}` });
      try {
        const s = start('glacier-job', args(), { env });
        // Killed once the request is in glacier-local's hands (its slow fault fired), whatever the machine's load.
        await until(async () => (await slowed(op)) || s.proc.exitCode !== null, `${op} to reach glacier-local`);
        const killedAt = Date.now();
        s.proc.kill('SIGTERM');
        const r = await s.done;
        const after = Date.now() - killedAt;
        assert.equal(r.code, 143, show(r));
        assert.match(r.stderr, /^glacier-job: interrupted by SIGTERM[^\n]*\n$/, show(r));
        assert.ok(after < within(5_000), `ended at once (${after} ms after SIGTERM)`);
      } finally {
        await local.admin('PUT', 'faults', { spec: '' });
      }
    });
  }
});

describe('SIGTERM under --limit-rate: exit 143 at once, not when the pieces already booked are due', () => {
  // 3 MiB at 8 KiB/s: 1 MiB pieces, the second and third booked 128 s and 256 s ahead. Before, a booked piece's
  // wait ignored the signal and the run went on for minutes after SIGTERM.
  const cases: [string, string[]][] = [
    ['to stdout', []],
    ['-o FILE', ['-o', 'rate.bin']],
  ];
  for (const [name, extra] of cases) {
    it(name, { timeout: within(120_000) }, async () => {
      await local.admin('DELETE', 'counters');
      const args = ['output', '-v', VAULT, '--limit-rate', '8K', ...extra.map((a) => (a === 'rate.bin' ? join(dir, a) : a)), '--', archiveJob];
      const s = start('glacier-job', args, { env });
      // Killed once the first piece is being sent (its GetJobOutput counted), the others waiting for their slots.
      await until(async () => ((await local.counters()).GetJobOutput ?? 0) > 0 || s.proc.exitCode !== null, 'the first piece asked for');
      const killedAt = Date.now();
      s.proc.kill('SIGTERM');
      const r = await s.done;
      const after = Date.now() - killedAt;
      assert.equal(r.code, 143, show(r));
      assert.match(r.stderr, /^glacier-job: interrupted by SIGTERM/m, show(r));
      assert.ok(after < within(5_000), `ended at once (${after} ms after SIGTERM)`);
      assert.equal((await local.counters()).GetJobOutput, 1, 'no piece asked for after the signal');
    });
  }
});

describe('wait --timeout 2s: about 2 s and exit 4, whatever the server does', () => {
  // The bound counts node's start too (seconds on a busy machine), and stays far below the server's answer.
  it('a server that answers each poll after a minute', { timeout: within(120_000) }, async () => {
    await local.admin('PUT', 'faults', { spec: `DescribeJob:slow:ms=${within(60_000)}` });
    try {
      const r = await run('glacier-job', ['wait', '-v', VAULT, '--timeout', '2s', '--', archiveJob], { env });
      assert.equal(r.code, 4, show(r));
      assert.match(r.stderr, /^glacier-job: job \S+ is still /);
      assert.ok(r.ms < within(12_000), `${r.ms} ms`);
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('a server that accepts and never answers', { timeout: within(60_000) }, async () => {
    const r = await run('glacier-job', ['wait', '-v', VAULT, '--timeout', '2s', '--endpoint', silentUrl, '--', archiveJob], { env });
    assert.equal(r.code, 4, show(r));
    assert.ok(r.ms < within(12_000), `${r.ms} ms`);
  });
});
