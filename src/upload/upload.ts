// Sends parts to a vault: one UploadArchive request when the input fits in one part, else a multipart upload
// with `concurrency` workers pulling from one shared iterator (bounded memory, backpressure for free).
// A failed part fails the upload, never a silently incomplete archive: the first error stops the pulling,
// every request in flight settles, and then either the upload is aborted (nothing landed: nothing left
// dangling) or its journal stays with the command that resumes it.
import { GlacierPipesError, IntegrityError, InputChangedError, ServiceError, UsageError } from '../core/errors.js';
import { classify, sameHash, type Glacier } from '../core/glacier.js';
import { abortUpload, completeUpload, initiateUpload, listPartsPages, uploadArchive, uploadPart } from '../core/operations.js';
import type { HashPool, PartHashes } from '../core/hash-pool.js';
import { shellCommand, whereArgs, type Where } from '../core/shell.js';
import { combineTreeHashesHex, MiB } from '../core/tree-hash.js';
import { Journal, PendingJournal, type JournalHeader } from './journal.js';
import { fitPartSize, MAX_PARTS } from './part-size.js';
import type { SourcePart } from './sources.js';

export { fitPartSize, MAX_PARTS } from './part-size.js';

export interface UploadOptions {
  glacier: Glacier;
  pool: HashPool;
  vault: string;
  description: string | null;
  partSize: number;
  concurrency: number;
  maxParts?: number;
  dryRun?: boolean;
  /** An open upload to continue (its parts listed once, by listUpload): those parts are checked, not sent. */
  resume?: { uploadId: string; journal?: Journal; listed: ListedUpload };
  /** Where to keep the journal; none is kept when undefined. */
  journal?: { dir: string; header: Omit<JournalHeader, 'uploadId' | 'partSize' | 'created' | 'type' | 'version' | 'description' | 'vault' | 'accountId'> };
  onPart?: (bytes: number, sent: boolean) => void;
  /** Called once when the input turns out to need a multipart upload. */
  onMultipart?: () => void;
}

export interface UploadResult {
  vault: string;
  archiveId: string | null;
  checksum: string;
  size: number;
  parts: number;
  partSize: number;
  uploadId: string | null;
  location: string | null;
  description: string | null;
}

/** Raised when an upload fails after parts landed; carries what is needed to resume it. */
export class ResumableError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly uploadId: string,
    readonly journalPath: string | undefined,
  ) {
    super((cause as Error)?.message ?? String(cause));
  }

  /** The cause, classified (one line, its exit code). */
  get typed(): GlacierPipesError {
    return classify(this.cause);
  }
}

export interface ListedUpload {
  /** Parts by index (first byte / part size). */
  parts: Map<number, { treeHash: string; start: number; end: number }>;
  partSize: number;
  description: string | null;
}

/** Every part of an open upload (ListParts, every page). Throws GlacierError for an unknown upload. */
export async function listUpload(g: Glacier, vault: string, uploadId: string): Promise<ListedUpload> {
  const parts: ListedUpload['parts'] = new Map();
  let partSize = 0;
  let description: string | null = null;
  for await (const r of listPartsPages(g, vault, uploadId)) {
    partSize = Number(r.PartSizeInBytes);
    description = r.ArchiveDescription ?? null;
    for (const p of r.Parts ?? []) {
      const [start, end] = (p.RangeInBytes ?? '').split('-').map(Number);
      parts.set(start / partSize, { treeHash: p.SHA256TreeHash ?? '', start, end });
    }
  }
  return { parts, partSize, description };
}

/**
 * The command that removes an upload left open, for messages: shell-quoted, with every option that says where the
 * upload is (profile, region, endpoint, account id). The id goes after --, so one that starts with '-' works.
 */
export function abortCommand(vault: string, uploadId: string, where: Where = {}): string {
  return shellCommand(['glacier-abort', '-v', vault, ...whereArgs(where), '--', uploadId]);
}

export async function upload(source: AsyncIterable<SourcePart>, o: UploadOptions): Promise<UploadResult> {
  const maxParts = o.maxParts ?? MAX_PARTS;
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new UsageError('empty input: an archive must be at least 1 byte');
  // Hashes a chunk stream or spool carries are the producer's word: Glacier checks them against the bytes it
  // receives, and a dry run, which sends nothing, checks them here.
  const hashOf = async (p: SourcePart): Promise<PartHashes> => {
    if (p.hashes && !o.dryRun) return p.hashes;
    const h = await o.pool.hash(p.data);
    if (p.hashes && (!sameHash(p.hashes.treeHash, h.treeHash) || !sameHash(p.hashes.sha256, h.sha256))) {
      throw new IntegrityError(`part ${p.index} (bytes ${p.offset}-${p.offset + p.data.length - 1}): its bytes hash to ${h.treeHash}, the input says ${p.hashes.treeHash}`);
    }
    return h;
  };
  const result = (r: { archiveId: string | null; checksum: string; size: number; parts: number; uploadId: string | null; location: string | null }): UploadResult => ({
    vault: o.vault, archiveId: r.archiveId, checksum: r.checksum, size: r.size, parts: r.parts, partSize: o.partSize,
    uploadId: r.uploadId, location: r.location, description: o.description,
  });

  if (first.value.last && !o.resume) {
    const p = first.value;
    try {
      const h = await hashOf(p);
      o.onPart?.(p.data.length, false);
      if (o.dryRun) return result({ archiveId: null, checksum: h.treeHash, size: p.data.length, parts: 1, uploadId: null, location: null });
      const r = await uploadArchive(o.glacier, o.vault, p.data, h, o.description);
      if (!sameHash(r.checksum, h.treeHash)) throw new IntegrityError(`Glacier computed tree hash ${r.checksum ?? '(none)'} for the archive, ours is ${h.treeHash}`);
      if (!r.archiveId) throw new IntegrityError(`Glacier stored the archive (tree hash ${h.treeHash}) but its reply carries no archive id`);
      o.onPart?.(p.data.length, true);
      return result({ archiveId: r.archiveId!, checksum: h.treeHash, size: p.data.length, parts: 1, uploadId: null, location: r.location ?? null });
    } finally {
      p.release();
    }
  }

  // Multipart.
  o.onMultipart?.();
  let uploadId: string | null = o.resume?.uploadId ?? null;
  let landed = new Map<number, { treeHash: string; start: number; end: number }>();
  let journal = o.resume?.journal;
  const g = o.glacier;
  const where: Where = { endpoint: o.journal?.header.endpoint, region: o.journal?.header.region, profile: o.journal?.header.profile, accountId: g.accountId };
  if (o.resume) {
    landed = o.resume.listed.parts;
  } else if (!o.dryRun) {
    const header = {
      ...o.journal?.header, source: o.journal?.header.source ?? { kind: 'stdin' as const }, type: 'glacier-put' as const, version: 1 as const, vault: o.vault,
      accountId: g.accountId, partSize: o.partSize, description: o.description, created: new Date().toISOString(),
    };
    // The journal's folder is found writable before the upload exists: a failure here leaves nothing anywhere.
    const pending = o.journal ? PendingJournal.prepare(o.journal.dir, header) : undefined;
    // Not cut short by a signal: an upload the service opened but whose id never reached us would dangle unseen.
    // Once the id is known, an interruption before any part lands aborts it (below).
    const r = await initiateUpload(g, o.vault, o.partSize, o.description)
      .catch((e) => {
        pending?.discard();
        throw e;
      });
    if (!r.uploadId) {
      pending?.discard();
      throw new ServiceError('InitiateMultipartUpload: the reply carries no upload id');
    }
    uploadId = r.uploadId;
    try {
      journal = pending?.commit({ ...header, uploadId });
    } catch (e) {
      await abandon(g, o.vault, uploadId, undefined, e as GlacierPipesError, where);
    }
  }

  const hashes: string[] = [];
  let size = 0;
  let partCount = 0;
  let sentThisRun = 0;
  let failure: unknown = null;
  const mismatches: number[] = [];
  let pending: IteratorResult<SourcePart> | null = first;
  const next = async (): Promise<SourcePart | null> => {
    if (failure) return null;
    const r = pending ?? (await it.next());
    pending = null;
    return r.done ? null : r.value;
  };
  // One pull at a time: the source is an async generator and must not be re-entered.
  let pulling: Promise<unknown> = Promise.resolve();
  const pull = () => {
    const p = pulling.then(next);
    pulling = p.catch(() => {});
    return p;
  };

  // On resume a missing part goes out only once every landed part before it matched the input: input that is
  // not this upload's must not put its parts into it (the right input could then never finish it).
  const checked = new Map<number, { done: Promise<void>; resolve: () => void }>();
  for (const i of landed.keys()) {
    let resolve!: () => void;
    checked.set(i, { done: new Promise<void>((r) => (resolve = r)), resolve });
  }

  // A source that fails (input that lies about itself, a file torn while read) fails the upload like a part.
  const pullOrFail = () =>
    pull().catch((e) => {
      failure ??= e;
      return null;
    });
  const worker = async () => {
    for (let part = await pullOrFail(); part; part = await pullOrFail()) {
      const p = part;
      try {
        if (p.index >= maxParts) {
          const fit = fitPartSize((p.index + 1) * o.partSize * 2, o.partSize * 2, maxParts);
          throw new UsageError(
            `the input outgrew ${maxParts} parts of ${o.partSize} bytes (${(maxParts * o.partSize) / MiB} MiB); nothing was kept. ` +
              `Run again with -p ${fit / MiB}M (or more), or give --expected-size`,
          );
        }
        const h = await hashOf(p);
        hashes[p.index] = h.treeHash;
        size += p.data.length;
        partCount = Math.max(partCount, p.index + 1);
        const have = landed.get(p.index);
        if (have) {
          if (!sameHash(have.treeHash, h.treeHash) || have.end - have.start + 1 !== p.data.length) {
            mismatches.push(p.index);
            throw new IntegrityError(`part ${p.index} (bytes ${p.offset}-${p.offset + p.data.length - 1}) differs from the part already uploaded`);
          }
          o.onPart?.(p.data.length, false);
          continue;
        }
        if (o.dryRun) {
          o.onPart?.(p.data.length, false);
          continue;
        }
        if (landed.size) {
          await Promise.all([...checked].filter(([i]) => i < p.index).map(([, c]) => c.done));
          if (failure) continue;
        }
        const r = await uploadPart(g, o.vault, uploadId!, p.offset, p.data, h);
        sentThisRun++;
        if (!sameHash(r.checksum, h.treeHash)) throw new IntegrityError(`Glacier computed tree hash ${r.checksum ?? '(none)'} for part ${p.index}, ours is ${h.treeHash}`);
        o.onPart?.(p.data.length, true);
      } catch (e) {
        failure ??= e;
      } finally {
        p.release();
        checked.get(p.index)?.resolve();
        checked.delete(p.index);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));

  if (failure) {
    await it.return?.(undefined).catch(() => {});
    if (mismatches.length) {
      const i = Math.min(...mismatches);
      failure = new IntegrityError(`part ${i} (bytes ${i * o.partSize}-${i * o.partSize + landed.get(i)!.end - landed.get(i)!.start}) of the input differs from the part already uploaded; this is not the input of upload ${uploadId}`);
    }
    const inputFailed = failure instanceof UsageError || failure instanceof InputChangedError || (failure instanceof IntegrityError && !o.resume && !mismatches.length);
    if (inputFailed || (!o.resume && sentThisRun === 0 && uploadId)) {
      // Nothing worth keeping (input that can never fit, that lied about itself or was torn while read): leave
      // nothing in the vault.
      if (uploadId && !o.dryRun) await abandon(g, o.vault, uploadId, journal, failure, where);
      throw failure;
    }
    if (uploadId && !o.dryRun && !(failure instanceof IntegrityError && mismatches.length)) throw new ResumableError(failure, uploadId, journal?.path);
    throw failure;
  }

  const checksum = combineTreeHashesHex(hashes);
  if (o.dryRun) return result({ archiveId: null, checksum, size, parts: partCount, uploadId: null, location: null });
  if (landed.size > 0) {
    for (const i of landed.keys()) {
      if (i >= partCount) throw new IntegrityError(`upload ${uploadId} holds part ${i}, beyond the end of this input (${partCount} parts): this is not its input`);
    }
  }
  // Not cut short by a signal either: a completion the service performed but we never heard of would leave a
  // journal that can no longer resume anything, and an archive whose id nobody printed.
  const r = await completeUpload(g, o.vault, uploadId!, size, checksum)
    .catch((e) => {
      throw new ResumableError(e, uploadId!, journal?.path);
    });
  // A reply that does not confirm our bytes leaves the journal: it names the upload for whoever looks into it.
  const kept = journal ? `; the journal ${journal.path} is kept` : '';
  if (!sameHash(r.checksum, checksum)) throw new IntegrityError(`Glacier completed upload ${uploadId} with tree hash ${r.checksum ?? '(none)'}, ours is ${checksum}: the archive does not hold this input${kept}`);
  if (!r.archiveId) throw new IntegrityError(`Glacier's reply to completing upload ${uploadId} carries no archive id (tree hash ${checksum})${kept}`);
  journal?.remove();
  return result({ archiveId: r.archiveId!, checksum, size, parts: partCount, uploadId, location: r.location ?? null });
}

/**
 * Aborts an upload that holds nothing worth keeping, under the retry policy and past a signal. When the abort
 * still fails, the journal stays and the error names the upload and the command that removes it. Always throws:
 * `failure` (the reason for abandoning) once the upload is gone.
 */
async function abandon(g: Glacier, vault: string, uploadId: string, journal: Journal | undefined, failure: unknown, where: Where): Promise<never> {
  try {
    await abortUpload(g, vault, uploadId, { mustFinish: true });
  } catch (e) {
    const why = classify(failure).message;
    throw new ServiceError(
      `${why}; upload ${uploadId} could not be aborted (${classify(e).message}) and stays open in vault "${vault}"` +
        `${journal ? ` (journal ${journal.path} kept)` : ''}; remove it with: ${abortCommand(vault, uploadId, where)}`,
    );
  }
  journal?.remove();
  throw failure;
}
