// The glacier-restore tests' common start: a glacier-local, a vault holding archives of the given sizes (random
// bytes, described f0.bin, f1.bin, ...), and the inventory lines (JSON Lines) glacier-restore reads on stdin.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, show } from './bins.js';
import { startLocal, type Local } from './local.js';

export interface RestoreFixture {
  local: Local;
  /** The binaries' environment, with a private XDG_STATE_HOME under `work`. */
  env: NodeJS.ProcessEnv;
  /** A fresh folder of the test's own (the caller removes it). */
  work: string;
  /** Each archive's bytes by its archive id. */
  data: Map<string, Buffer>;
  /** The archives as inventory lines, one a line, in upload order. */
  jsonl: string;
}

/**
 * Starts glacier-local with `localArgs` (in memory, or with `onDisk` its vaults under WORK/vaults: then its job
 * output comes in 1 MiB chunks, which its `slow` fault paces), creates `vault` and uploads one archive a size
 * (bytes). `prefix` names the work folder under the system's temporary folder.
 */
export async function restoreFixture(vault: string, localArgs: string[], sizes: number[], o: { prefix: string; onDisk?: boolean }): Promise<RestoreFixture> {
  const work = mkdtempSync(join(tmpdir(), o.prefix));
  const local = await startLocal(o.onDisk ? ['--data', join(work, 'vaults'), ...localArgs] : localArgs);
  const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
  const data = new Map<string, Buffer>();
  const lines: string[] = [];
  for (const [i, size] of sizes.entries()) {
    const body = randomBytes(size);
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body, archiveDescription: `f${i}.bin` }));
    data.set(r.archiveId!, body);
    lines.push(JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: `f${i}.bin`, CreationDate: new Date().toISOString(), Size: size, SHA256TreeHash: r.checksum }));
  }
  return { local, env, work, data, jsonl: `${lines.join('\n')}\n` };
}

/**
 * A vault's inventory through the real binaries, as a user takes it: `glacier-job inventory -v VAULT` (with
 * `jobArgs`, e.g. --format CSV), then `glacier-job output -v VAULT --wait` of that job with `outputArgs` (default
 * --archives: JSON Lines, one archive a line; `-o FILE` saves it instead). The job id goes after `--` (one in 64
 * starts with '-'). Asserts both exit 0; returns the output's stdout.
 */
export async function inventoryOutput(vault: string, env: NodeJS.ProcessEnv, outputArgs: string[] = ['--archives'], jobArgs: string[] = []): Promise<Buffer> {
  const inv = await run('glacier-job', ['inventory', '-v', vault, ...jobArgs], { env });
  assert.equal(inv.code, 0, show(inv));
  const jobId = (JSON.parse(inv.stdout.toString()) as { JobId: string }).JobId;
  const out = await run('glacier-job', ['output', '-v', vault, '--wait', '--interval', '200ms', ...outputArgs, '--', jobId], { env });
  assert.equal(out.code, 0, show(out));
  return out.stdout;
}
