// The inventory `glacier-ls --archives --inventory JOB_ID|FILE` reconciles the catalogue with: a file kept from
// `glacier-job output` (JSON or CSV), or a finished inventory job's output read as it arrives.
import { createReadStream, existsSync } from 'node:fs';
import { Readable } from 'node:stream';
import { NotReadyError, ServiceError, UsageError } from '../core/errors.js';
import type { Glacier } from '../core/glacier.js';
import { describe } from '../retrieve/jobs.js';
import { outputBytes } from '../retrieve/output.js';
import { formatOf, readInventory, type ArchiveRecord } from '../retrieve/inventory.js';
import { checkInventory } from '../restore/input.js';

async function firstChar(path: string): Promise<string> {
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 })) {
    const t = (chunk as string).trimStart();
    if (t) return t[0];
  }
  return '';
}

/**
 * The archives of an inventory, one at a time in bounded memory: `source` names a FILE when one exists at that
 * path (JSON when it starts with `{`, else Glacier's CSV), else an inventory job of `vault`. Throws NotReadyError
 * (exit 4) for a job still in progress, ServiceError for a failed one, UsageError for an archive retrieval job,
 * UsageError for an inventory FILE whose VaultARN names another vault, IntegrityError for output that is not an inventory, the request layer's GlacierError for an unknown job.
 */
export async function* inventorySource(g: Glacier, vault: string, source: string): AsyncGenerator<ArchiveRecord> {
  if (existsSync(source)) {
    // An inventory of another vault would add its archives to this vault's catalogue (and a retention pipe
    // would then try to delete them here): refused by its VaultARN, as glacier-restore refuses it.
    await checkInventory(source, vault);
    const format = (await firstChar(source)) === '{' ? 'JSON' : 'CSV';
    yield* readInventory(createReadStream(source), format);
    return;
  }
  if (!/^[A-Za-z0-9_-]+$/.test(source)) throw new UsageError(`--inventory ${source}: no such file, and not a job id (A-Z a-z 0-9 _ -)`);
  const t = { glacier: g, vault };
  const job = await describe(t, source);
  if (job.Action !== 'InventoryRetrieval') throw new UsageError(`--inventory ${source}: job is an archive retrieval, not an inventory (start one: glacier-job inventory -v ${vault})`);
  if (job.StatusCode === 'InProgress') throw new NotReadyError(`inventory job ${source} is still in progress; wait with: glacier-job wait -v ${vault} ${source}`);
  if (job.StatusCode === 'Failed') throw new ServiceError(`inventory job ${source} failed: ${job.StatusMessage ?? 'no reason given'}`);
  // Through the same reader as glacier-job output: an answer cut short is continued up to the size the job gives,
  // and one that is not the inventory's bytes is refused, so no archive is marked as gone for want of its line.
  yield* readInventory(Readable.from(outputBytes({ target: t, job })), formatOf(job.InventoryRetrievalParameters?.Format));
}
