// Glacier's three listings as async generators that follow Marker through every page, so a caller sees one
// sequence of items and can stream them (pipe) or collect them (table).
import {
  ListMultipartUploadsCommand, ListPartsCommand, ListVaultsCommand,
  type DescribeVaultOutput, type UploadListElement,
} from '@aws-sdk/client-glacier';
import { ServiceError } from '../core/errors.js';
import { call, throwIfInterrupted, type Target } from './request.js';

export interface PartLine {
  part: number;
  RangeInBytes: string;
  SHA256TreeHash: string;
}

async function* pages<R extends { Marker?: string | null }>(t: Target, page: (marker: string | undefined, abortSignal?: AbortSignal) => Promise<R>): AsyncGenerator<R> {
  let marker: string | undefined;
  do {
    throwIfInterrupted(t.signal);
    const r = await call(t, (abortSignal) => page(marker, abortSignal));
    yield r;
    // A service that hands back the marker it was given would otherwise keep us here forever.
    if (r.Marker && r.Marker === marker) throw new ServiceError(`the service returned the same page marker twice (${marker}); stopping`);
    marker = r.Marker ?? undefined;
  } while (marker);
}

export async function* listVaults(t: Target): AsyncGenerator<DescribeVaultOutput> {
  for await (const r of pages(t, (marker, abortSignal) => t.client.send(new ListVaultsCommand({ accountId: t.accountId, marker }), { abortSignal }))) {
    yield* r.VaultList ?? [];
  }
}

export async function* listUploads(t: Target, vaultName: string): AsyncGenerator<UploadListElement> {
  for await (const r of pages(t, (marker, abortSignal) => t.client.send(new ListMultipartUploadsCommand({ accountId: t.accountId, vaultName, marker }), { abortSignal }))) {
    yield* r.UploadsList ?? [];
  }
}

/** The parts of an upload, each with its index (its first byte over the part size). */
export async function* listParts(t: Target, vaultName: string, uploadId: string): AsyncGenerator<PartLine> {
  for await (const r of pages(t, (marker, abortSignal) => t.client.send(new ListPartsCommand({ accountId: t.accountId, vaultName, uploadId, marker }), { abortSignal }))) {
    const partSize = Number(r.PartSizeInBytes);
    for (const p of r.Parts ?? []) {
      const start = Number((p.RangeInBytes ?? '').split('-')[0]);
      yield { part: partSize > 0 ? Math.floor(start / partSize) : NaN, RangeInBytes: p.RangeInBytes ?? '', SHA256TreeHash: p.SHA256TreeHash ?? '' };
    }
  }
}
