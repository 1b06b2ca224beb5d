// Where glacier-restore's archives come from: JSON lines on stdin (what `glacier-job output --archives`
// prints), an inventory file, or an inventory job (started here, or given) whose output is kept next to the
// state file so a rerun does not wait for another one.
import { createReadStream, promises as fsp } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { GlacierJobDescription } from '@aws-sdk/client-glacier';
import { pipeline } from 'node:stream/promises';
import { ServiceError, UsageError } from '../core/errors.js';
import { createTemp } from '../core/files.js';
import type { Journal } from './journal.js';
import { checkArchive } from './planner.js';
import { describeJob, errorCode, initiateJob, readInventoryFile, sleep, type Glacier, type InventoryArchive } from './seam.js';
import { outputBytes } from '../retrieve/output.js';

/** Archives as JSON lines (blank lines skipped); a bad line is a UsageError naming its number. */
export async function* jsonLines(input: Readable, what = 'stdin'): AsyncGenerator<InventoryArchive> {
  let n = 0;
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    n++;
    if (!line.trim()) continue;
    try {
      yield checkArchive(JSON.parse(line) as InventoryArchive);
    } catch (e) {
      throw new UsageError(`${what} line ${n}: ${(e as Error).message} (expected one archive per line, as glacier-job output --archives prints them)`);
    }
  }
}

export async function* checked(items: AsyncIterable<InventoryArchive>, what: string): AsyncGenerator<InventoryArchive> {
  let n = 0;
  for await (const a of items) {
    n++;
    try {
      yield checkArchive(a);
    } catch (e) {
      throw new UsageError(`${what}, archive ${n}: ${(e as Error).message}`);
    }
  }
}

export interface InventoryJobOptions {
  glacier: Glacier;
  vault: string;
  journal: Journal;
  /** Where the inventory is kept (FILE, written as FILE.tmp and renamed when whole). */
  file: string;
  jobId?: string;
  /** Take a new inventory even when one is kept from an earlier run (--refresh-inventory). */
  refresh?: boolean;
  intervalMs: number;
  signal: AbortSignal;
  warn(m: string): void;
  info(m: string): void;
}

/**
 * The path of an inventory of the vault: the one kept from an earlier run, else the output of `jobId`, else of
 * an inventory job started here (recorded in the journal first, so a rerun waits for the same job).
 */
export async function inventoryFromJob(o: InventoryJobOptions): Promise<string> {
  const rec = o.journal.inventoryJob();
  if (rec?.file && !o.refresh && (!o.jobId || rec.j === o.jobId) && (await fsp.stat(rec.file).catch(() => null))) return rec.file;
  // --refresh-inventory: a job whose output is kept is not waited for again; one still pending (a rerun) is.
  let jobId = o.jobId ?? (o.refresh && rec?.file ? undefined : rec?.j);
  const ours = !o.jobId;
  const start = async () => {
    const id = await initiateJob(o.glacier, o.vault, { Type: 'inventory-retrieval', Format: 'JSON' });
    await o.journal.recordInventory(id);
    o.info(`inventory job ${id} started; waiting for it (Glacier takes hours)`);
    return id;
  };
  if (!jobId) jobId = await start();
  let succeeded: GlacierJobDescription | undefined;
  for (;;) {
    let job;
    try {
      job = await describeJob(o.glacier, o.vault, jobId);
    } catch (e) {
      if (errorCode(e) === 'ResourceNotFoundException' && !ours) {
        throw new UsageError(
          `inventory job ${jobId} is not in vault ${o.vault} (a job's output is kept about 24 hours after it completes, then it expires): ` +
            `run without --inventory to start a new inventory job and wait for it, or give --inventory FILE with an inventory saved earlier (glacier-job output -o FILE)`,
        );
      }
      if (errorCode(e) !== 'ResourceNotFoundException') throw e;
      o.warn(`inventory job ${jobId} is gone (expired)`);
      jobId = await start();
      continue;
    }
    if (job.Action !== 'InventoryRetrieval') throw new UsageError(`job ${jobId} is not an inventory job`);
    if (job.StatusCode === 'Succeeded') {
      succeeded = job;
      break;
    }
    if (job.StatusCode === 'Failed') {
      if (!ours) throw new ServiceError(`inventory job ${jobId} failed: ${job.StatusMessage ?? 'no reason given'}`);
      o.warn(`inventory job ${jobId} failed (${job.StatusMessage ?? 'no reason given'})`);
      jobId = await start();
      continue;
    }
    await sleep(o.intervalMs, o.signal);
  }
  const tmp = `${o.file}.tmp`;
  try {
    await fetchInventory(o, succeeded!, tmp);
    await fsp.rename(tmp, o.file);
  } catch (e) {
    // Nothing half-fetched is left beside the state (a signal, the last attempt failing, or no rename into place):
    // the next run fetches the inventory whole again.
    await fsp.unlink(tmp).catch(() => {});
    throw e;
  }
  await o.journal.recordInventory(jobId, o.file);
  return o.file;
}

/**
 * The output of the succeeded inventory job `job` into `tmp` (created O_EXCL|O_NOFOLLOW, 0600), on disk when it
 * resolves; fetched again up to 5 times when cut short. Throws the last attempt's error, or InterruptedError on a
 * signal; `tmp` may then hold part of it.
 */
async function fetchInventory(o: Pick<InventoryJobOptions, 'glacier' | 'vault' | 'signal' | 'warn'>, job: GlacierJobDescription, tmp: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Read as glacier-job output reads it: continued when cut short, up to the size the job gives; an answer that is
      // not the inventory's bytes is refused (and fetched again here).
      const bytes = outputBytes({ target: { glacier: o.glacier, vault: o.vault }, job, warn: o.warn });
      const first = await bytes.next(); // the first answer before the file: an expired job leaves nothing behind
      const out = await createTemp(tmp); // O_EXCL|O_NOFOLLOW, 0600: a link planted at FILE.tmp is never followed
      await pipeline(Readable.from((async function* () {
        if (!first.done) yield first.value;
        yield* bytes;
      })()), out.createWriteStream());
      const fh = await fsp.open(tmp, 'r+');
      await fh.datasync(); // on disk before the journal says it is there
      await fh.close();
      break;
    } catch (e) {
      // A body cut mid-way is not retried by send (it already returned): fetch it again a few times.
      if (o.signal.aborted || attempt >= 5 || errorCode(e) === 'ResourceNotFoundException') throw e;
      o.warn(`fetching the inventory again (${(e as Error).message})`);
      await sleep(1000 * attempt, o.signal);
    }
  }
}

/** What an inventory says of itself: the vault it lists (VaultARN) and when it was taken (InventoryDate). */
export interface InventoryHead {
  vaultArn?: string;
  /** The vault's name, from the ARN's last part. */
  vault?: string;
  /** ISO 8601, as the inventory gives it. */
  date?: string;
}

/**
 * The head of a JSON inventory file: Glacier writes VaultARN and InventoryDate before ArchiveList (protocol §7.4),
 * so only the text before "ArchiveList" (within the first 64 KiB) is read. A CSV inventory has no head: {}.
 */
export async function inventoryHead(path: string): Promise<InventoryHead> {
  const fh = await fsp.open(path, 'r');
  let text: string;
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    text = buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
  if (!text.trimStart().startsWith('{')) return {};
  const list = text.indexOf('"ArchiveList"');
  const head = list < 0 ? text : text.slice(0, list);
  const field = (name: string) => {
    const m = new RegExp(`"${name}"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`).exec(head);
    return m ? (JSON.parse(`"${m[1]}"`) as string) : undefined;
  };
  const vaultArn = field('VaultARN');
  return { vaultArn, vault: vaultArn ? /:vaults\/(.+)$/.exec(vaultArn)?.[1] : undefined, date: field('InventoryDate') };
}

/**
 * Refuses an inventory of another vault (UsageError, exit 2): every archive of it would fail, and a rerun
 * would fail for ever. Returns its head, for the caller to say which inventory is in use.
 */
export async function checkInventory(path: string, vault: string): Promise<InventoryHead> {
  const head = await inventoryHead(path);
  if (head.vault !== undefined && head.vault !== vault) {
    throw new UsageError(`the inventory ${path} is of vault ${head.vault} (VaultARN ${head.vaultArn}), not ${vault}: give ${vault}'s inventory, or -v ${head.vault}`);
  }
  return head;
}

export function inventoryArchives(path: string): AsyncIterable<InventoryArchive> {
  return checked(readInventoryFile(path), path);
}

export { createReadStream };
