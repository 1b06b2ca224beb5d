// Glacier's three listings as async generators over every page (the request layer's paginate), so a caller
// sees one sequence of items and can stream them (pipe) or collect them (table).
import {
  ListMultipartUploadsCommand, ListPartsCommand, ListVaultsCommand,
  type DescribeVaultOutput, type UploadListElement,
} from '@aws-sdk/client-glacier';
import { paginate, type Glacier } from '../core/glacier.js';

export interface PartLine {
  part: number;
  RangeInBytes: string;
  SHA256TreeHash: string;
}

export async function* listVaults(g: Glacier): AsyncGenerator<DescribeVaultOutput> {
  for await (const r of paginate(g, (marker) => new ListVaultsCommand({ accountId: g.accountId, marker }))) yield* r.VaultList ?? [];
}

export async function* listUploads(g: Glacier, vaultName: string): AsyncGenerator<UploadListElement> {
  for await (const r of paginate(g, (marker) => new ListMultipartUploadsCommand({ accountId: g.accountId, vaultName, marker }))) yield* r.UploadsList ?? [];
}

/** The parts of an upload, each with its index (its first byte over the part size). */
export async function* listParts(g: Glacier, vaultName: string, uploadId: string): AsyncGenerator<PartLine> {
  for await (const r of paginate(g, (marker) => new ListPartsCommand({ accountId: g.accountId, vaultName, uploadId, marker }))) {
    const partSize = Number(r.PartSizeInBytes);
    for (const p of r.Parts ?? []) {
      const start = Number((p.RangeInBytes ?? '').split('-')[0]);
      yield { part: partSize > 0 ? Math.floor(start / partSize) : NaN, RangeInBytes: p.RangeInBytes ?? '', SHA256TreeHash: p.SHA256TreeHash ?? '' };
    }
  }
}
