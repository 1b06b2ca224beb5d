// Glacier's three listings as async generators over every page (the request layer's paginate), so a caller
// sees one sequence of items and can stream them (pipe) or collect them (table).
import type { DescribeVaultOutput, UploadListElement } from '@aws-sdk/client-glacier';
import type { Glacier } from '../core/glacier.js';
import { listPartsPages, listUploadsPages, listVaultsPages } from '../core/operations.js';

export interface PartLine {
  part: number;
  RangeInBytes: string;
  SHA256TreeHash: string;
}

export async function* listVaults(g: Glacier): AsyncGenerator<DescribeVaultOutput> {
  for await (const r of listVaultsPages(g)) yield* r.VaultList ?? [];
}

export async function* listUploads(g: Glacier, vaultName: string): AsyncGenerator<UploadListElement> {
  for await (const r of listUploadsPages(g, vaultName)) yield* r.UploadsList ?? [];
}

/** The parts of an upload, each with its index (its first byte over the part size). */
export async function* listParts(g: Glacier, vaultName: string, uploadId: string): AsyncGenerator<PartLine> {
  for await (const r of listPartsPages(g, vaultName, uploadId)) {
    const partSize = Number(r.PartSizeInBytes);
    for (const p of r.Parts ?? []) {
      const start = Number((p.RangeInBytes ?? '').split('-')[0]);
      yield { part: partSize > 0 ? Math.floor(start / partSize) : NaN, RangeInBytes: p.RangeInBytes ?? '', SHA256TreeHash: p.SHA256TreeHash ?? '' };
    }
  }
}
