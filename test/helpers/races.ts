// The harness of the race suites (test/local-races*.test.ts): one glacier-local --data DIR per test file, the
// archives clients were told of, and the checks run after each case and each restart: every told archive reads
// back exactly, no archive id no client was given exists (inventory and disk), no 5xx, nothing stray on disk.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand, ListVaultsCommand, UploadMultipartPartCommand,
  type GlacierClient,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../../src/core/tree-hash.js';
import { REGION, startLocal, type Local } from './local.js';

export const RUNS = 50;
export const A = { accountId: '-' };
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
/** A random delay of 0 to 6 ms (0 half of the time: both requests leave in the same tick). */
export const jitter = () => (Math.random() < 0.5 ? Promise.resolve() : sleep(Math.random() * 6));

export let data: string;
export let local: Local;
export let g: GlacierClient;
/** Every archive id a client was given, with the bytes it must hold. */
export const told = new Map<string, { vault: string; bytes: Buffer }>();
/** Every 5xx a client saw (the request log is checked too). */
const fivexx: string[] = [];

interface Outcome<T> {
  ok: boolean;
  status: number;
  name?: string;
  value?: T;
}

/** Runs a client call after a random delay and reports how it was answered; a 5xx or a dropped connection is noted. */
export async function race<T extends { $metadata: { httpStatusCode?: number } }>(what: string, call: () => Promise<T>): Promise<Outcome<T>> {
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

export async function restart(): Promise<void> {
  await checkNoServerErrors();
  assert.equal(await local.stop(), 143);
  local = await startLocal(['--data', data, '--job-delay', '0']);
  g = local.client({ maxAttempts: 1 });
  verified.clear();
}

/** Registers the suite's glacier-local --data DIR: started before the file's tests, stopped and removed after. */
export function useRaceServer(): void {
  before(async () => {
    data = mkdtempSync(join(tmpdir(), 'gl-races-'));
    local = await startLocal(['--data', data, '--job-delay', '0']);
    g = local.client({ maxAttempts: 1 });
  });
  after(async () => {
    await local?.stop();
    rmSync(data, { recursive: true, force: true });
  });
}

export async function initiate(vaultName: string, parts: Buffer[]): Promise<string> {
  const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName, partSize: String(MiB) }));
  await Promise.all(parts.map((body, i) => g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, body, range: `bytes ${i * MiB}-${i * MiB + body.length - 1}/*` }))));
  return uploadId!;
}

export const complete = (vaultName: string, uploadId: string, whole: Buffer) =>
  g.send(new CompleteMultipartUploadCommand({ ...A, vaultName, uploadId, archiveSize: String(whole.length), checksum: treeHash(whole) }));

export const putPart = (vaultName: string, uploadId: string, index: number, body: Buffer) =>
  g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, body, range: `bytes ${index * MiB}-${index * MiB + body.length - 1}/*` }));

export function tell(vault: string, id: string | undefined, bytes: Buffer): void {
  assert.ok(id, 'a success names its archive');
  const had = told.get(id);
  if (had) assert.ok(had.bytes.equals(bytes), `archive ${id.slice(0, 12)}… was announced twice with different contents`);
  told.set(id, { vault, bytes });
}

export async function readBack(vaultName: string, archiveId: string): Promise<Buffer> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

export async function inventoryIds(vaultName: string): Promise<string[]> {
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

/** Archive ids read back since the server last started: a case re-reads only its own before a restart. */
const verified = new Set<string>();

/**
 * The checks run after each case and after each restart: no 5xx, a folder for each vault and only those, every
 * told archive reads back exactly (before a restart only those not read back since the last start: the others
 * were, and a restart re-reads them all), inventories list only told ids, nothing stray on disk.
 */
export async function checkStore(what: string): Promise<void> {
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
    if (verified.has(id)) continue;
    verified.add(id);
    const got = await readBack(vault, id);
    assert.ok(got.equals(bytes), `${what}: archive ${id.slice(0, 12)}… in ${vault} reads back exactly (${got.length} of ${bytes.length} bytes)`);
  }
  for (const vault of vaults) {
    for (const id of await inventoryIds(vault)) assert.ok(told.has(id), `${what}: ${vault}'s inventory lists ${id.slice(0, 12)}…, which no client was given`);
  }
  assert.deepEqual(strays(), [], `${what}: nothing stray in the data folder`);
}

/** Runs `one` RUNS times, a few at once (each run has its own upload or vault). */
export async function runs(one: (i: number) => Promise<void>, at = 4): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: at }, async () => {
    while (next < RUNS) await one(next++);
  }));
}

