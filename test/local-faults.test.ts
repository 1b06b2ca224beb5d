// glacier-local's injected faults, seen from a real SDK client: every kind fires, set both by `--faults` at
// start-up and by PUT /_local/faults; count/skip/rate shape when; /_local/counters reports requests and fired
// faults; the SDK's own retries get through a single 500; and a genuinely stalled upload body times out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CreateVaultCommand, DescribeVaultCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand, ListJobsCommand,
  ListMultipartUploadsCommand, ListPartsCommand, ListVaultsCommand, UploadArchiveCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { spawnSync } from 'node:child_process';
import { BIN, startLocal, type Local } from './helpers/local.js';
import { openSignedUpload } from './helpers/signed-request.js';
import { within } from './helpers/time.js';

const A = { accountId: '-' };
const VAULT = 'faults';

async function withLocal(args: string[], fn: (local: Local, c: GlacierClient) => Promise<void>): Promise<void> {
  const local = await startLocal(['--memory', '--job-delay', '0', ...args]);
  try {
    await fn(local, local.client({ maxAttempts: 1 }));
  } finally {
    await local.stop();
  }
}

/** The error a call rejects with (the test fails if it resolves). */
async function failure(p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; code?: string }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { $metadata?: { httpStatusCode?: number }; code?: string };
  }
  assert.fail('the call succeeded but a fault should have fired');
}

async function serviceError(p: Promise<unknown>, name: string, status: number): Promise<void> {
  const e = await failure(p);
  assert.equal(e.name, name, `${e.name}: ${e.message}`);
  assert.equal(e.$metadata?.httpStatusCode, status);
}

const body = (n: number) => randomBytes(n);
const upload = (c: GlacierClient, data: Buffer) => c.send(new UploadArchiveCommand({ ...A, vaultName: VAULT, body: data }));

async function firedCount(local: Local, op: string, kind: string): Promise<number | undefined> {
  const { faults } = await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters');
  return faults[op]?.[kind];
}

interface KindCase {
  kind: string;
  op: string;
  opts?: string; // extra rule options besides count=1
  /** Calls that must not touch `op`: they run before the fault is armed (admin) or with it armed (flag). */
  setup(c: GlacierClient): Promise<Record<string, unknown>>;
  /** Calls `op` once with the fault firing and checks what the client sees. */
  fires(c: GlacierClient, ctx: Record<string, unknown>): Promise<void>;
  /** Calls `op` again, now that count=1 is spent, and checks it behaves normally. */
  normal(c: GlacierClient, ctx: Record<string, unknown>): Promise<void>;
}

const createVault = async (c: GlacierClient) => (await c.send(new CreateVaultCommand({ ...A, vaultName: VAULT })), {});

const cases: KindCase[] = [
  {
    kind: '500', op: 'ListVaults', setup: async () => ({}),
    fires: (c) => serviceError(c.send(new ListVaultsCommand(A)), 'ServiceUnavailableException', 500),
    normal: async (c) => assert.deepEqual((await c.send(new ListVaultsCommand(A))).VaultList, []),
  },
  {
    kind: 'throttle', op: 'DescribeVault', setup: createVault,
    fires: (c) => serviceError(c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT })), 'ThrottlingException', 400),
    normal: async (c) => assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT }))).VaultName, VAULT),
  },
  {
    kind: '408', op: 'UploadArchive', setup: createVault,
    fires: (c) => serviceError(upload(c, body(100_000)), 'RequestTimeoutException', 408),
    normal: async (c) => {
      const data = body(100_000);
      assert.equal((await upload(c, data)).checksum, treeHash(data));
    },
  },
  {
    kind: 'drop', op: 'UploadArchive', setup: createVault,
    fires: async (c) => {
      const e = await failure(upload(c, body(512 * 1024)));
      // The connection is cut while the body is still arriving: a reset or a broken pipe, never an HTTP answer.
      assert.equal(e.$metadata?.httpStatusCode, undefined, `got an HTTP answer: ${e.name}`);
      assert.match(`${e.code} ${e.message}`, /ECONNRESET|EPIPE|socket hang up/);
    },
    normal: async (c) => {
      const data = body(512 * 1024);
      assert.equal((await upload(c, data)).checksum, treeHash(data));
    },
  },
  {
    kind: 'slow', op: 'ListVaults', opts: 'ms=800', setup: async () => ({}),
    fires: async (c) => {
      const t0 = performance.now();
      await c.send(new ListVaultsCommand(A));
      const ms = performance.now() - t0;
      assert.ok(ms >= 795, `slow call took only ${ms.toFixed(0)} ms`);
    },
    normal: async (c) => {
      const t0 = performance.now();
      await c.send(new ListVaultsCommand(A));
      const ms = performance.now() - t0;
      assert.ok(ms < within(600), `a call without the fault took ${ms.toFixed(0)} ms`);
    },
  },
  {
    kind: 'corrupt', op: 'GetJobOutput',
    setup: async (c) => {
      await createVault(c);
      const data = body(MiB + 300_000);
      const { archiveId } = await upload(c, data);
      const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
      return { data, jobId };
    },
    fires: async (c, ctx) => {
      const data = ctx.data as Buffer;
      const out = await c.send(new GetJobOutputCommand({ ...A, vaultName: VAULT, jobId: ctx.jobId as string }));
      const got = Buffer.from(await out.body!.transformToByteArray());
      assert.equal(got.length, data.length);
      assert.ok(!got.equals(data), 'the body should be corrupted');
      let differing = 0;
      for (let i = 0; i < got.length; i++) if (got[i] !== data[i]) differing++;
      assert.equal(differing, 1, 'exactly one byte is flipped');
      // The header still carries the true tree hash: that is how a careful client catches the corruption.
      assert.equal(out.checksum, treeHash(data));
      assert.notEqual(treeHash(got), out.checksum);
    },
    normal: async (c, ctx) => {
      const out = await c.send(new GetJobOutputCommand({ ...A, vaultName: VAULT, jobId: ctx.jobId as string }));
      assert.ok(Buffer.from(await out.body!.transformToByteArray()).equals(ctx.data as Buffer));
    },
  },
];

for (const k of cases) {
  const spec = `${k.op}:${k.kind}:count=1${k.opts ? `,${k.opts}` : ''}`;
  for (const how of ['flag', 'admin'] as const) {
    test(`${k.kind} fault on ${k.op}, set by ${how === 'flag' ? `--faults ${spec}` : 'PUT /_local/faults'}`, async () => {
      await withLocal(how === 'flag' ? ['--faults', spec] : [], async (local, c) => {
        const ctx = await k.setup(c);
        assert.equal(await firedCount(local, k.op, k.kind), undefined, 'nothing fired during setup');
        if (how === 'admin') {
          const rules = await local.admin<{ op: string; kind: string; remaining?: number }[]>('PUT', 'faults', { spec });
          assert.deepEqual(rules.map((r) => [r.op, r.kind, r.remaining]), [[k.op, k.kind, 1]]);
        }
        await k.fires(c, ctx);
        assert.equal(await firedCount(local, k.op, k.kind), 1);
        await k.normal(c, ctx);
        assert.equal(await firedCount(local, k.op, k.kind), 1, 'count=1: spent after one firing');
      });
    });
  }
}

// repeat-marker: a listing that answers the same non-null Marker on every page, for clients that must notice.
const listings: { op: string; page(c: GlacierClient, marker: string | undefined, ctx: { uploadId: string }): Promise<string | null | undefined> }[] = [
  { op: 'ListVaults', page: async (c, marker) => (await c.send(new ListVaultsCommand({ ...A, marker, limit: 1 }))).Marker },
  { op: 'ListMultipartUploads', page: async (c, marker) => (await c.send(new ListMultipartUploadsCommand({ ...A, vaultName: VAULT, marker, limit: 1 }))).Marker },
  { op: 'ListParts', page: async (c, marker, ctx) => (await c.send(new ListPartsCommand({ ...A, vaultName: VAULT, uploadId: ctx.uploadId, marker, limit: 1 }))).Marker },
  { op: 'ListJobs', page: async (c, marker) => (await c.send(new ListJobsCommand({ ...A, vaultName: VAULT, marker, limit: 1 }))).Marker },
];

for (const l of listings) {
  for (const how of ['flag', 'admin'] as const) {
    test(`repeat-marker on ${l.op}, set by ${how === 'flag' ? '--faults' : 'POST /_local/faults'}: every page answers the same Marker`, async () => {
      const spec = `${l.op}:repeat-marker`;
      await withLocal(how === 'flag' ? ['--faults', spec] : [], async (local, c) => {
        await createVault(c);
        const { uploadId } = await c.send(new InitiateMultipartUploadCommand({ ...A, vaultName: VAULT, partSize: String(MiB) }));
        if (how === 'admin') await local.admin('POST', 'faults', { spec });
        // A vault with one item (one vault, one upload, no part, no job): without the fault the first page ends the listing.
        const first = await l.page(c, undefined, { uploadId: uploadId! });
        assert.equal(typeof first, 'string');
        assert.ok(first, 'a non-null marker');
        for (let i = 0; i < 5; i++) assert.equal(await l.page(c, first!, { uploadId: uploadId! }), first);
        assert.equal(await firedCount(local, l.op, 'repeat-marker'), 6);
        await local.admin('DELETE', 'faults');
        assert.equal(await l.page(c, undefined, { uploadId: uploadId! }), undefined, 'without the fault, one page and no marker');
      });
    });
  }
}

test('repeat-marker is refused on an operation that is not a listing, and spares other operations under *', async () => {
  const r = spawnSync(process.execPath, [BIN('glacier-local'), '--faults', 'DescribeVault:repeat-marker'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^glacier-local: .*repeat-marker applies to ListVaults, ListMultipartUploads, ListParts, ListJobs or \*\n$/);
  await withLocal(['--faults', '*:repeat-marker'], async (local, c) => {
    await createVault(c);
    assert.equal((await c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT }))).VaultName, VAULT);
    assert.equal(await l0(c), 'glacier-local-repeated-marker');
    const { faults } = await local.admin<{ faults: Record<string, unknown> }>('GET', 'counters');
    assert.deepEqual(Object.keys(faults), ['ListVaults']);
  });
});
const l0 = (c: GlacierClient) => listings[0].page(c, undefined, { uploadId: '' });

/** Outcome of `n` ListVaults calls: true where the call failed with the injected 500. */
async function listVaultsOutcomes(c: GlacierClient, n: number): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < n; i++) {
    try {
      await c.send(new ListVaultsCommand(A));
      out.push(false);
    } catch (e) {
      assert.equal((e as Error).name, 'ServiceUnavailableException');
      out.push(true);
    }
  }
  return out;
}

test('count=N fires N times, then the rule is spent', async () => {
  await withLocal(['--faults', 'ListVaults:500:count=2'], async (local, c) => {
    assert.deepEqual(await listVaultsOutcomes(c, 5), [true, true, false, false, false]);
    const [rule] = await local.admin<{ remaining: number }[]>('GET', 'faults');
    assert.equal(rule.remaining, 0);
    assert.equal(await firedCount(local, 'ListVaults', '500'), 2);
  });
});

test('skip=N lets the first N matching requests through', async () => {
  await withLocal([], async (local, c) => {
    await local.admin('PUT', 'faults', { spec: 'ListVaults:500:skip=2' });
    assert.deepEqual(await listVaultsOutcomes(c, 5), [false, false, true, true, true]);
    // skip and count together: the window is requests 2 and 3.
    await local.admin('PUT', 'faults', { spec: 'ListVaults:500:skip=1,count=2' });
    assert.deepEqual(await listVaultsOutcomes(c, 5), [false, true, true, false, false]);
  });
});

test('rate=0 never fires, rate=1 always fires', async () => {
  await withLocal(['--faults', 'ListVaults:500:rate=0'], async (local, c) => {
    assert.deepEqual(await listVaultsOutcomes(c, 20), Array(20).fill(false));
    assert.equal(await firedCount(local, 'ListVaults', '500'), undefined);
    await local.admin('PUT', 'faults', { spec: 'ListVaults:500:rate=1' });
    assert.deepEqual(await listVaultsOutcomes(c, 10), Array(10).fill(true));
    assert.equal(await firedCount(local, 'ListVaults', '500'), 10);
  });
});

test('a rule on one operation leaves the others alone; * matches every operation', async () => {
  await withLocal(['--faults', 'DescribeVault:500'], async (local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: VAULT }));
    await c.send(new ListVaultsCommand(A));
    await serviceError(c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT })), 'ServiceUnavailableException', 500);
    await local.admin('PUT', 'faults', { spec: '*:throttle:count=2' });
    await serviceError(c.send(new ListVaultsCommand(A)), 'ThrottlingException', 400);
    await serviceError(c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT })), 'ThrottlingException', 400);
    await c.send(new ListVaultsCommand(A));
  });
});

test('GET /_local/counters counts requests per operation, faulted ones included, and reports fired faults', async () => {
  await withLocal(['--faults', 'ListVaults:500:count=1'], async (local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: VAULT }));
    await listVaultsOutcomes(c, 3);
    await c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT }));
    await c.send(new DescribeVaultCommand({ ...A, vaultName: VAULT }));
    assert.deepEqual(await local.admin('GET', 'counters'), {
      requests: { CreateVault: 1, ListVaults: 3, DescribeVault: 2 },
      faults: { ListVaults: { 500: 1 } },
    });
    assert.deepEqual(await local.counters(), { CreateVault: 1, ListVaults: 3, DescribeVault: 2 });
    await local.admin('DELETE', 'counters');
    await c.send(new ListVaultsCommand(A));
    assert.deepEqual(await local.admin('GET', 'counters'), { requests: { ListVaults: 1 }, faults: {} });
  });
});

test("the SDK's default retries (maxAttempts 3) get an UploadArchive through a single 500", async () => {
  await withLocal(['--faults', 'UploadArchive:500:count=1'], async (local) => {
    const c = local.client({ maxAttempts: 3 });
    await c.send(new CreateVaultCommand({ ...A, vaultName: VAULT }));
    const data = body(MiB + 4096);
    const r = await upload(c, data);
    assert.equal(r.checksum, treeHash(data));
    assert.match(r.archiveId!, /^[A-Za-z0-9_-]{138}$/);
    const { requests, faults } = await local.admin<{ requests: Record<string, number>; faults: Record<string, Record<string, number>> }>('GET', 'counters');
    assert.equal(requests.UploadArchive, 2, 'one failed attempt, one retry');
    assert.deepEqual(faults, { UploadArchive: { 500: 1 } });
  });
});

test('an upload body that stalls longer than --body-timeout gets 408 RequestTimeoutException or a closed connection', async () => {
  await withLocal(['--body-timeout', '500ms'], async (local, c) => {
    await c.send(new CreateVaultCommand({ ...A, vaultName: VAULT }));
    const data = body(256 * 1024);
    const t0 = performance.now();
    const { req, done } = await openSignedUpload(local.endpoint, 'POST', `/-/vaults/${VAULT}/archives`, data);
    req.write(data.subarray(0, 64 * 1024)); // then nothing: the body stalls
    const outcome = await Promise.race([done, new Promise<'hang'>((r) => setTimeout(() => r('hang'), 5000).unref())]);
    const ms = performance.now() - t0;
    req.destroy();
    if (outcome === 'hang') assert.fail('the server kept waiting for the stalled body');
    assert.ok(ms >= 450, `gave up after only ${ms.toFixed(0)} ms`);
    if ('error' in outcome) assert.match(`${outcome.error.code} ${outcome.error.message}`, /ECONNRESET|EPIPE|socket hang up/);
    else {
      assert.equal(outcome.status, 408);
      assert.equal(JSON.parse(outcome.body).code, 'RequestTimeoutException');
    }
    // Either way the server saw it as a body timeout, and stored nothing.
    const log = await local.admin<{ op: string; error?: string; status: number }[]>('GET', 'requests');
    assert.deepEqual(log.filter((l) => l.op === 'UploadArchive').map((l) => [l.error, l.status]), [['RequestTimeoutException', 408]]);
    const { jobId } = await c.send(new InitiateJobCommand({ ...A, vaultName: VAULT, jobParameters: { Type: 'inventory-retrieval' } }));
    const inv = await c.send(new GetJobOutputCommand({ ...A, vaultName: VAULT, jobId }));
    assert.deepEqual(JSON.parse(await inv.body!.transformToString()).ArchiveList, []);
  });
});
