// Aborting multipart uploads: the ids given, or every upload of a vault (optionally only the old ones), and the
// local journals glacier-put kept for them, which could only ever point at a dead upload afterwards.
import type { Glacier } from '../core/glacier.js';
import { abortUpload, firstPart } from '../core/operations.js';
import { Journal, type JournalHeader } from '../upload/journal.js';
import { listUploads } from './listing.js';
import { isItemError, throwIfInterrupted } from './request.js';

export interface AbortOptions {
  glacier: Glacier;
  vault: string;
  journalDir: string;
  dryRun?: boolean;
  now?: () => number;
}

export type Selection = { ids: string[] } | { all: true; olderThanMs?: number };

export interface AbortOutcome {
  uploadId: string;
  vault: string;
  aborted: boolean;
  dryRun?: true;
  journalRemoved: boolean;
  /** The journal that was (or, with dryRun, would be) removed. */
  journal?: string;
  creationDate?: string;
  description?: string | null;
  /** The service's refusal for this upload; the others are still tried. */
  error?: unknown;
  /** The upload was aborted but its journal could not be removed. */
  journalError?: string;
}

interface Candidate {
  uploadId: string;
  creationDate?: string;
  description?: string | null;
}

async function* candidates(o: AbortOptions, sel: Selection): AsyncGenerator<Candidate> {
  if ('ids' in sel) {
    for (const uploadId of sel.ids) yield { uploadId };
    return;
  }
  const cutoff = sel.olderThanMs === undefined ? Infinity : (o.now ?? Date.now)() - sel.olderThanMs;
  // Collected before the first abort, so that aborting cannot shift the pages still to be read.
  const all: Candidate[] = [];
  for await (const u of listUploads(o.glacier, o.vault)) {
    if (cutoff !== Infinity && !(Date.parse(u.CreationDate ?? '') < cutoff)) continue;
    all.push({ uploadId: u.MultipartUploadId!, creationDate: u.CreationDate, description: u.ArchiveDescription ?? null });
  }
  yield* all;
}

export async function* abortUploads(o: AbortOptions, sel: Selection): AsyncGenerator<AbortOutcome> {
  const journalsOf = new Map<string, { path: string; header: JournalHeader }[]>();
  for (const j of Journal.find(o.journalDir, (h) => h.vault === o.vault)) journalsOf.set(j.header.uploadId, [...(journalsOf.get(j.header.uploadId) ?? []), j]);
  for await (const c of candidates(o, sel)) {
    throwIfInterrupted(o.glacier.signal);
    const journals = journalsOf.get(c.uploadId) ?? [];
    const id = { uploadId: c.uploadId, vault: o.vault };
    const info = c.creationDate ? { creationDate: c.creationDate, description: c.description } : {};
    const dry = o.dryRun ? { dryRun: true as const } : {};
    let error: unknown;
    try {
      // An id given by hand is checked without touching it: the smallest request that fails for an unknown upload.
      if (o.dryRun && 'ids' in sel) await firstPart(o.glacier, o.vault, c.uploadId);
      if (!o.dryRun) await abortUpload(o.glacier, o.vault, c.uploadId);
    } catch (e) {
      if (!isItemError(e)) throw e;
      error = e;
    }
    // After a refusal the journal stays: the upload may live on in another region or account than the one asked.
    if (error !== undefined) {
      yield { ...id, aborted: false, ...dry, journalRemoved: false, ...info, error };
      continue;
    }
    const journal = journals[0] ? { journal: journals[0].path } : {};
    if (o.dryRun) {
      yield { ...id, aborted: false, ...dry, journalRemoved: false, ...journal, ...info };
      continue;
    }
    let journalError: string | undefined;
    for (const j of journals) {
      try {
        new Journal(j.path, j.header).remove();
      } catch (e) {
        journalError = `cannot remove journal ${j.path}: ${(e as Error).message}`;
      }
    }
    yield { ...id, aborted: true, journalRemoved: journals.length > 0 && !journalError, ...journal, ...info, ...(journalError ? { journalError } : {}) };
  }
}
