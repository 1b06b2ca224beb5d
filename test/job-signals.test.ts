// glacier-job never hangs and obeys signals: SIGTERM during any of its requests (describe, list, wait, output
// of an archive and of an inventory, retrieve) is exit 143 with one line; `wait --timeout 2s` ends in about
// 2 s with exit 4 whatever the server does: answering slowly, or accepting the connection and never answering.
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
  await local?.stop();
  for (const s of sockets) s.destroy();
  silent?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

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
    it(name, async () => {
      await local.admin('PUT', 'faults', { spec: `${op}:slow:ms=20000` });
      try {
        const s = start('glacier-job', args(), { env });
        // Late enough for node to have started and sent the request even on a loaded machine; the answer takes 20 s.
        await new Promise((r) => setTimeout(r, 5000));
        const killedAt = Date.now();
        s.proc.kill('SIGTERM');
        const r = await s.done;
        const after = Date.now() - killedAt;
        assert.equal(r.code, 143, show(r));
        assert.match(r.stderr, /^glacier-job: interrupted by SIGTERM[^\n]*\n$/, show(r));
        assert.ok(after < 5_000, `ended at once (${after} ms after SIGTERM)`);
      } finally {
        await local.admin('PUT', 'faults', { spec: '' });
      }
    });
  }
});

describe('wait --timeout 2s: about 2 s and exit 4, whatever the server does', () => {
  it('a server that answers each poll after 20 s', async () => {
    await local.admin('PUT', 'faults', { spec: 'DescribeJob:slow:ms=20000' });
    try {
      const r = await run('glacier-job', ['wait', '-v', VAULT, '--timeout', '2s', '--', archiveJob], { env });
      assert.equal(r.code, 4, show(r));
      assert.match(r.stderr, /^glacier-job: job \S+ is still /);
      assert.ok(r.ms < 6_000, `${r.ms} ms`);
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('a server that accepts and never answers', async () => {
    const r = await run('glacier-job', ['wait', '-v', VAULT, '--timeout', '2s', '--endpoint', silentUrl, '--', archiveJob], { env });
    assert.equal(r.code, 4, show(r));
    assert.ok(r.ms < 6_000, `${r.ms} ms`);
  });
});
