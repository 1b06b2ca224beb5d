// Sends parts to a vault: one UploadArchive request when the input fits in one part, else a multipart upload
// with `concurrency` workers pulling from one shared iterator (bounded memory, backpressure for free).
// A failed part fails the upload, never a silently incomplete archive: the first error stops the pulling,
// every request in flight settles, and then either the upload is aborted (nothing landed: nothing left
// dangling) or its journal stays with the command that resumes it.
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, InitiateMultipartUploadCommand, ListPartsCommand,
  UploadArchiveCommand, UploadMultipartPartCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { registerBodyHashes } from '../core/client.js';
import { IntegrityError, InterruptedError, UsageError } from '../core/errors.js';
import type { HashPool, PartHashes } from '../core/hash-pool.js';
import { withRetry } from '../core/retry.js';
import { combineTreeHashesHex, MiB } from '../core/tree-hash.js';
import { Journal, type JournalHeader } from './journal.js';
import type { SourcePart } from './sources.js';

export const MAX_PARTS = 10_000;

export interface UploadOptions {
  client: GlacierClient;
  pool: HashPool;
  vault: string;
  accountId: string;
  description: string | null;
  partSize: number;
  concurrency: number;
  maxParts?: number;
  dryRun?: boolean;
  /** An open upload to continue: the parts Glacier already holds are checked, not sent. */
  resume?: { uploadId: string; journal?: Journal };
  /** Where to keep the journal; none is kept when undefined. */
  journal?: { dir: string; header: Omit<JournalHeader, 'uploadId' | 'partSize' | 'created' | 'type' | 'version' | 'description' | 'vault' | 'accountId'> };
  retry?: { attempts?: number; baseMs?: number; capMs?: number };
  signal?: AbortSignal;
  onPart?: (bytes: number, sent: boolean) => void;
  /** Called once when the input turns out to need a multipart upload. */
  onMultipart?: () => void;
  warn?: (message: string) => void;
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
}

/** The smallest part size (1 MiB × 2^n, at least `min`) that holds `size` bytes in maxParts parts. */
export function fitPartSize(size: number, min = 8 * MiB, maxParts = MAX_PARTS): number {
  let ps = MiB;
  while (ps < min) ps *= 2;
  while (ps * maxParts < size) ps *= 2;
  if (ps > 4096 * MiB) throw new UsageError(`${size} bytes do not fit in ${maxParts} parts of at most 4 GiB`);
  return ps;
}

export async function listAllParts(client: GlacierClient, accountId: string, vault: string, uploadId: string, signal?: AbortSignal) {
  const parts = new Map<number, { treeHash: string; start: number; end: number }>();
  let marker: string | undefined;
  let partSize = 0;
  let description: string | null = null;
  do {
    const r = await withRetry(() => client.send(new ListPartsCommand({ accountId, vaultName: vault, uploadId, marker }), { abortSignal: signal }), { signal });
    partSize = Number(r.PartSizeInBytes);
    description = r.ArchiveDescription ?? null;
    for (const p of r.Parts ?? []) {
      const [start, end] = (p.RangeInBytes ?? '').split('-').map(Number);
      parts.set(start / partSize, { treeHash: p.SHA256TreeHash!, start, end });
    }
    marker = r.Marker ?? undefined;
  } while (marker);
  return { parts, partSize, description };
}

export async function upload(source: AsyncIterable<SourcePart>, o: UploadOptions): Promise<UploadResult> {
  const maxParts = o.maxParts ?? MAX_PARTS;
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new UsageError('empty input: an archive must be at least 1 byte');
  const hashOf = async (p: SourcePart): Promise<PartHashes> => p.hashes ?? (await o.pool.hash(p.data));
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
      const r = await sendWithRetry(o, () => {
        registerBodyHashes(p.data, h.sha256, h.treeHash);
        return o.client.send(
          new UploadArchiveCommand({ accountId: o.accountId, vaultName: o.vault, body: p.data, checksum: h.treeHash, archiveDescription: o.description ?? undefined }),
          { abortSignal: o.signal },
        );
      });
      if (r.checksum !== h.treeHash) throw new IntegrityError(`Glacier computed tree hash ${r.checksum} for the archive, ours is ${h.treeHash}`);
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
  if (o.resume) {
    const listed = await listAllParts(o.client, o.accountId, o.vault, o.resume.uploadId, o.signal);
    if (listed.partSize !== o.partSize) throw new UsageError(`upload ${o.resume.uploadId} uses ${listed.partSize}-byte parts, not ${o.partSize}`);
    landed = listed.parts;
  } else if (!o.dryRun) {
    // Not cut short by a signal: an upload the service opened but whose id never reached us would dangle unseen.
    // Once the id is known, an interruption before any part lands aborts it (below).
    const r = await sendWithRetry(o, () =>
      o.client.send(new InitiateMultipartUploadCommand({ accountId: o.accountId, vaultName: o.vault, partSize: String(o.partSize), archiveDescription: o.description ?? undefined })),
    );
    uploadId = r.uploadId!;
    if (o.journal) {
      journal = Journal.create(o.journal.dir, {
        ...o.journal.header, type: 'glacier-put', version: 1, vault: o.vault, accountId: o.accountId, uploadId, partSize: o.partSize,
        description: o.description, created: new Date().toISOString(),
      });
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

  const worker = async () => {
    for (let part = await pull(); part; part = await pull()) {
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
          if (have.treeHash !== h.treeHash || have.end - have.start + 1 !== p.data.length) {
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
        const range = `bytes ${p.offset}-${p.offset + p.data.length - 1}/*`;
        const r = await sendWithRetry(o, () => {
          registerBodyHashes(p.data, h.sha256, h.treeHash);
          return o.client.send(
            new UploadMultipartPartCommand({ accountId: o.accountId, vaultName: o.vault, uploadId: uploadId!, body: p.data, range, checksum: h.treeHash }),
            { abortSignal: o.signal },
          );
        });
        if (r.checksum !== h.treeHash) throw new IntegrityError(`Glacier computed tree hash ${r.checksum} for part ${p.index}, ours is ${h.treeHash}`);
        sentThisRun++;
        journal?.addPart({ part: p.index, size: p.data.length, treeHash: h.treeHash });
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
    if (failure instanceof UsageError || (!o.resume && sentThisRun === 0 && uploadId)) {
      // Nothing worth keeping (or input that can never fit): leave nothing behind in the vault.
      if (uploadId && !o.dryRun) {
        await o.client.send(new AbortMultipartUploadCommand({ accountId: o.accountId, vaultName: o.vault, uploadId })).catch(() => {});
        journal?.remove();
      }
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
  const r = await sendWithRetry(o, () =>
    o.client.send(new CompleteMultipartUploadCommand({ accountId: o.accountId, vaultName: o.vault, uploadId: uploadId!, archiveSize: String(size), checksum })),
  ).catch((e) => {
    throw new ResumableError(e, uploadId!, journal?.path);
  });
  journal?.remove();
  return result({ archiveId: r.archiveId!, checksum, size, parts: partCount, uploadId, location: r.location ?? null });
}

function sendWithRetry<T>(o: UploadOptions, fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, {
    attempts: o.retry?.attempts ?? 10,
    baseMs: o.retry?.baseMs ?? 250,
    capMs: o.retry?.capMs ?? 20_000,
    signal: o.signal,
    onRetry: (e, n, ms) => o.warn?.(`retrying after ${(e as Error).name ?? 'error'} (attempt ${n + 1} in ${ms} ms)`),
  }).catch((e) => {
    if (o.signal?.aborted) throw o.signal.reason instanceof InterruptedError ? o.signal.reason : new InterruptedError('SIGINT');
    throw e;
  });
}
