// Races inside one glacier-local --data DIR, over real HTTP, each case run RUNS times with random delays between
// the racing requests: Complete vs a re-sent part (same and different bytes), Complete vs Complete, Complete vs
// Abort, DeleteVault vs UploadArchive, and two `glacier-put --resume FILE` at once. After each case, and again
// after a restart on the same folder: every archive a client was told of reads back byte for byte, no archive
// id that no client was given exists (inventory and disk), no request was answered 5xx, and the data folder
// holds nothing beyond what the store lists (no temporary file, no folder of a deleted vault or closed upload).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateVaultCommand, DeleteVaultCommand, GetJobOutputCommand,
  InitiateJobCommand, InitiateMultipartUploadCommand, ListVaultsCommand, UploadArchiveCommand, UploadMultipartPartCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { combineTreeHashesHex, MiB, treeHash } from '../src/core/tree-hash.js';
import { Journal, journalDir } from '../src/upload/journal.js';
import { REGION, startLocal, type Local } from './helpers/local.js';
import { start, show } from './helpers/bins.js';

const RUNS = 50;
const A = { accountId: '-' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A random delay of 0 to 6 ms (0 half of the time: both requests leave in the same tick). */
const jitter = () => (Math.random() < 0.5 ? Promise.resolve() : sleep(Math.random() * 6));

let data: string;
let local: Local;
let g: GlacierClient;
/** Every archive id a client was given, with the bytes it must hold. */
const told = new Map<string, { vault: string; bytes: Buffer }>();
/** Every 5xx a client saw (the request log is checked too). */
const fivexx: string[] = [];

interface Outcome<T> {
  ok: boolean;
  status: number;
  name?: string;
  value?: T;
}

/** Runs a client call after a random delay and reports how it was answered; a 5xx or a dropped connection is noted. */
async function race<T extends { $metadata: { httpStatusCode?: number } }>(what: string, call: () => Promise<T>): Promise<Outcome<T>> {
  await jitter();
  try {
    const value = await call();
    return { ok: true, status: value.$metadata.httpStatusCode ?? 0, value };
  } catch (e) {
    const err = e as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
    const status = err.$metadata?.httpStatusCode ?? 0;
    if (status === 0 || status >= 500) fivexx.push(`${what}: ${status} ${err.name} ${err.message}`);
    return { ok: false, status, name: err.name };
  }
}

async function restart(): Promise<void> {
  await checkNoServerErrors();
  assert.equal(await local.stop(), 143);
  local = await startLocal(['--data', data, '--job-delay', '0']);
  g = local.client({ maxAttempts: 1 });
}

before(async () => {
  data = mkdtempSync(join(tmpdir(), 'gl-races-'));
  local = await startLocal(['--data', data, '--job-delay', '0']);
  g = local.client({ maxAttempts: 1 });
});
after(async () => {
  await local?.stop();
  rmSync(data, { recursive: true, force: true });
});

async function initiate(vaultName: string, parts: Buffer[]): Promise<string> {
  const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName, partSize: String(MiB) }));
  await Promise.all(parts.map((body, i) => g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, body, range: `bytes ${i * MiB}-${i * MiB + body.length - 1}/*` }))));
  return uploadId!;
}

const complete = (vaultName: string, uploadId: string, whole: Buffer) =>
  g.send(new CompleteMultipartUploadCommand({ ...A, vaultName, uploadId, archiveSize: String(whole.length), checksum: treeHash(whole) }));

const putPart = (vaultName: string, uploadId: string, index: number, body: Buffer) =>
  g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, body, range: `bytes ${index * MiB}-${index * MiB + body.length - 1}/*` }));

function tell(vault: string, id: string | undefined, bytes: Buffer): void {
  assert.ok(id, 'a success names its archive');
  const had = told.get(id);
  if (had) assert.ok(had.bytes.equals(bytes), `archive ${id.slice(0, 12)}… was announced twice with different contents`);
  told.set(id, { vault, bytes });
}

async function readBack(vaultName: string, archiveId: string): Promise<Buffer> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

async function inventoryIds(vaultName: string): Promise<string[]> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'inventory-retrieval' } }));
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return (JSON.parse(await out.body!.transformToString()) as { ArchiveList: { ArchiveId: string }[] }).ArchiveList.map((a) => a.ArchiveId);
}

async function checkNoServerErrors(): Promise<void> {
  const log = await local.admin<{ op: string; status: number; error?: string }[]>('GET', 'requests');
  const bad = log.filter((e) => e.status >= 500);
  assert.deepEqual(bad, [], 'no request was answered 5xx');
  assert.deepEqual(fivexx, [], 'no client saw a 5xx or a dropped connection');
}

/** Everything under the data folder beyond what the store can own: temporary files, trash, orphans. */
function strays(): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const e of readdirSync(join(data, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith('.tmp-')) out.push(p);
      if (e.isDirectory()) walk(p);
    }
  };
  walk('');
  if (existsSync(join(data, 'trash'))) out.push(...readdirSync(join(data, 'trash')).map((f) => `trash/${f}`));
  const vroot = join(data, 'r', REGION, 'v');
  for (const name of existsSync(vroot) ? readdirSync(vroot) : []) {
    const vdir = join(vroot, name);
    if (!existsSync(join(vdir, 'vault.json'))) out.push(`${name}: a vault folder without vault.json`);
    const staging = join(vdir, 'staging');
    if (existsSync(staging) && readdirSync(staging).length) out.push(`${name}/staging: ${readdirSync(staging).join(' ')}`);
    for (const id of existsSync(join(vdir, 'a')) ? readdirSync(join(vdir, 'a')) : []) {
      const adir = join(vdir, 'a', id);
      const meta = existsSync(join(adir, 'archive.json')) ? (JSON.parse(readFileSync(join(adir, 'archive.json'), 'utf8')) as { id: string; segments: { file: string }[] }) : undefined;
      if (!meta || meta.id !== id) {
        out.push(`${name}/a/${id}: no archive.json of its own`);
        continue;
      }
      // A completed upload's folder became the archive's: its upload.json and part records stay beside the data.
      const want = new Set(['archive.json', 'upload.json', ...meta.segments.map((s) => s.file)]);
      for (const f of readdirSync(adir)) if (!want.has(f) && !/^p\d+\.json$/.test(f)) out.push(`${name}/a/${id}/${f}`);
      if (!told.has(id)) out.push(`${name}/a/${id}: an archive no client was told of`);
    }
    for (const id of existsSync(join(vdir, 'u')) ? readdirSync(join(vdir, 'u')) : []) {
      const udir = join(vdir, 'u', id);
      const files = readdirSync(udir);
      if (!files.includes('upload.json')) out.push(`${name}/u/${id}: no upload.json`);
      const want = new Set(['upload.json']);
      for (const f of files.filter((f) => /^p\d+\.json$/.test(f))) {
        want.add(f);
        want.add((JSON.parse(readFileSync(join(udir, f), 'utf8')) as { file: string }).file);
      }
      for (const f of files) if (!want.has(f)) out.push(`${name}/u/${id}/${f}`);
    }
  }
  return out;
}

/** The checks run after each case and after each restart. */
async function checkStore(what: string): Promise<void> {
  await checkNoServerErrors();
  const vaults: string[] = [];
  let marker: string | undefined;
  do {
    const page = await g.send(new ListVaultsCommand({ ...A, marker }));
    vaults.push(...page.VaultList!.map((v) => v.VaultName!));
    marker = page.Marker ?? undefined;
  } while (marker);
  vaults.sort();
  const onDisk = existsSync(join(data, 'r', REGION, 'v')) ? readdirSync(join(data, 'r', REGION, 'v')).sort() : [];
  assert.deepEqual(onDisk, vaults, `${what}: a folder on disk for each vault, and only for those`);
  for (const [id, { vault, bytes }] of told) {
    const got = await readBack(vault, id);
    assert.ok(got.equals(bytes), `${what}: archive ${id.slice(0, 12)}… in ${vault} reads back exactly (${got.length} of ${bytes.length} bytes)`);
  }
  for (const vault of vaults) {
    for (const id of await inventoryIds(vault)) assert.ok(told.has(id), `${what}: ${vault}'s inventory lists ${id.slice(0, 12)}…, which no client was given`);
  }
  assert.deepEqual(strays(), [], `${what}: nothing stray in the data folder`);
}

/** Runs `one` RUNS times, a few at once (each run has its own upload or vault). */
async function runs(one: (i: number) => Promise<void>, at = 4): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: at }, async () => {
    while (next < RUNS) await one(next++);
  }));
}

test('Complete racing a re-sent part with the same bytes: the archive is always whole', { timeout: 60_000 }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'same' }));
  let completedFirst = 0;
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('same', parts);
    const index = Math.random() < 0.5 ? 0 : 1;
    const [done, part] = await Promise.all([race('complete', () => complete('same', uploadId, whole)), race('part', () => putPart('same', uploadId, index, parts[index]))]);
    assert.ok(done.ok, `Complete succeeds whatever the order (${done.status} ${done.name})`);
    assert.ok(part.ok || part.name === 'ResourceNotFoundException', `the re-sent part lands or finds the upload closed (${part.status} ${part.name})`);
    if (!part.ok) completedFirst++;
    tell('same', done.value!.archiveId, whole);
  });
  void completedFirst;
  await checkStore('same bytes');
  await restart();
  await checkStore('same bytes, after a restart');
});

test('Complete racing a re-sent part with other bytes: the archive holds one version whole, or Complete fails and the upload stays', { timeout: 60_000 }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'other' }));
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('other', parts);
    const index = Math.random() < 0.5 ? 0 : 1;
    const changed = parts.map((p, i) => (i === index ? randomBytes(p.length) : p));
    const [done, part] = await Promise.all([race('complete', () => complete('other', uploadId, whole)), race('part', () => putPart('other', uploadId, index, changed[index]))]);
    if (done.ok) {
      // Completed first: the re-sent part found the upload closed, the archive is the original.
      assert.equal(part.name, 'ResourceNotFoundException', `a part after Complete is refused (${part.status} ${part.name})`);
      tell('other', done.value!.archiveId, whole);
    } else {
      // The part landed first: Complete's tree hash no longer matches; the upload is open with the new part.
      assert.equal(done.name, 'InvalidParameterValueException', `Complete fails as a whole (${done.status} ${done.name})`);
      assert.ok(part.ok, 'and the part landed');
      const again = Buffer.concat(changed);
      const r = await complete('other', uploadId, again);
      tell('other', r.archiveId, again);
    }
  });
  await checkStore('other bytes');
  await restart();
  await checkStore('other bytes, after a restart');
});

test('Complete racing Complete (a client retry): both answer the same archive, one archive exists', { timeout: 60_000 }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'twice' }));
  const completed: { uploadId: string; archiveId: string }[] = [];
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('twice', parts);
    const [a, b] = await Promise.all([race('complete 1', () => complete('twice', uploadId, whole)), race('complete 2', () => complete('twice', uploadId, whole))]);
    assert.ok(a.ok && b.ok, `both Completes succeed (${a.status} ${a.name}, ${b.status} ${b.name})`);
    assert.equal(a.value!.archiveId, b.value!.archiveId, 'with the same archive id');
    tell('twice', a.value!.archiveId, whole);
    completed.push({ uploadId, archiveId: a.value!.archiveId! });
  });
  assert.equal((await inventoryIds('twice')).length, RUNS, 'one archive per upload');
  await checkStore('Complete twice');
  await restart();
  await checkStore('Complete twice, after a restart');
  // A Complete repeated after the restart still answers the same archive, and makes no other.
  const { uploadId, archiveId } = completed[0];
  const again = await g.send(new CompleteMultipartUploadCommand({ ...A, vaultName: 'twice', uploadId, archiveSize: '1', checksum: '0'.repeat(64) }));
  assert.equal(again.archiveId, archiveId);
  assert.equal((await inventoryIds('twice')).length, RUNS);
});

test('Complete racing Abort: never both succeed; the winner decides, whole', { timeout: 60_000 }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'abort' }));
  const wins = { complete: 0, abort: 0 };
  await runs(async () => {
    const parts = [randomBytes(MiB), randomBytes(1 + Math.floor(Math.random() * 5000))];
    const whole = Buffer.concat(parts);
    const uploadId = await initiate('abort', parts);
    const [done, aborted] = await Promise.all([
      race('complete', () => complete('abort', uploadId, whole)),
      race('abort', () => g.send(new AbortMultipartUploadCommand({ ...A, vaultName: 'abort', uploadId }))),
    ]);
    assert.ok(done.ok !== aborted.ok, `exactly one wins (complete ${done.status} ${done.name}, abort ${aborted.status} ${aborted.name})`);
    assert.equal((done.ok ? aborted : done).name, 'ResourceNotFoundException');
    if (done.ok) {
      wins.complete++;
      tell('abort', done.value!.archiveId, whole);
    } else wins.abort++;
  });
  assert.equal((await inventoryIds('abort')).length, wins.complete);
  await checkStore('Complete vs Abort');
  await restart();
  await checkStore('Complete vs Abort, after a restart');
});

test('DeleteVault racing UploadArchive: the vault is deleted and nothing was stored, or the archive is stored whole', { timeout: 60_000 }, async () => {
  const outcome = { deleted: 0, stored: 0 };
  await runs(async (i) => {
    const vaultName = `dv-${i}`;
    await g.send(new CreateVaultCommand({ ...A, vaultName }));
    const body = randomBytes(1 + Math.floor(Math.random() * 300_000));
    const [del, up] = await Promise.all([
      race('delete vault', () => g.send(new DeleteVaultCommand({ ...A, vaultName }))),
      race('upload', () => g.send(new UploadArchiveCommand({ ...A, vaultName, body }))),
    ]);
    assert.ok(del.ok !== up.ok, `exactly one succeeds (delete ${del.status} ${del.name}, upload ${up.status} ${up.name})`);
    if (up.ok) {
      assert.equal(del.name, 'InvalidParameterValueException', 'the vault is not empty or recently written to');
      tell(vaultName, up.value!.archiveId, body);
      outcome.stored++;
    } else {
      assert.equal(up.name, 'ResourceNotFoundException');
      assert.ok(!existsSync(join(data, 'r', REGION, 'v', vaultName)), `${vaultName}: no folder is left behind`);
      outcome.deleted++;
    }
  });
  await checkStore('DeleteVault vs UploadArchive');
  await restart();
  await checkStore('DeleteVault vs UploadArchive, after a restart');
});

test('two `glacier-put --resume FILE` at once: each one that exits 0 names an archive that reads back exactly', { timeout: 240_000 }, async () => {
  await g.send(new CreateVaultCommand({ ...A, vaultName: 'resume' }));
  const work = mkdtempSync(join(tmpdir(), 'gl-resume-'));
  const exits: Record<string, number> = {};
  try {
    await runs(async (i) => {
      // An interrupted upload of FILE: its journal names it, one part of three landed.
      const file = join(work, `f${i}.bin`);
      const bytes = randomBytes(2 * MiB + 1 + Math.floor(Math.random() * 5000));
      writeFileSync(file, bytes);
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName: 'resume', partSize: String(MiB), archiveDescription: basename(file) }));
      await putPart('resume', uploadId!, 0, bytes.subarray(0, MiB));
      const state = join(work, `state${i}`);
      Journal.create(journalDir({ XDG_STATE_HOME: state }), {
        type: 'glacier-put', version: 1, vault: 'resume', accountId: '-', region: REGION, endpoint: local.endpoint, uploadId: uploadId!, partSize: MiB,
        description: basename(file), source: { kind: 'file', path: file }, created: new Date().toISOString(),
      });
      const env = { ...local.env, XDG_STATE_HOME: state };
      const go = async () => {
        await jitter();
        return start('glacier-put', ['-v', 'resume', '-p', '1M', '--resume', file], { env }).done;
      };
      const ran = await Promise.all([go(), go()]);
      for (const r of ran) {
        exits[String(r.code)] = (exits[String(r.code)] ?? 0) + 1;
        // 1: the upload was closed under it by the other; 2: the other finished first and its journal is gone.
        assert.ok(r.code === 0 || r.code === 1 || (r.code === 2 && /no journal/.test(r.stderr)), `exit 0, 1, or 2 for no journal:\n${show(r)}`);
        if (r.code === 0) {
          const out = JSON.parse(r.stdout.toString('utf8').split('\n')[0]) as { archiveId: string; checksum: string };
          assert.equal(out.checksum, treeHash(bytes));
          tell('resume', out.archiveId, bytes);
        }
      }
      assert.ok(ran.some((r) => r.code === 0), `at least one of the two completes:\n${ran.map(show).join('\n')}`);
    }, 5);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  await checkStore('two resumes');
  await restart();
  await checkStore('two resumes, after a restart');
});

test('the suite saw every part of it', () => {
  // Guards against a run that asserted nothing: every case recorded archives.
  assert.ok(told.size >= 4 * RUNS, `${told.size} archives announced`);
  assert.ok(statSync(data).isDirectory());
  void combineTreeHashesHex;
});
