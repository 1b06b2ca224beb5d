// Vault operations of glacier-local: ListVaults, CreateVault, DescribeVault, DeleteVault (protocol §8).
import { invalidParam } from '../glacier-error.js';
import { VAULT_NAME_RE } from '../ids.js';
import { empty, json, location, page, vaultOf, type Ctx } from '../context.js';
import type { Vault } from '../store.js';

/** DescribeVault's body for a vault: counts and size of its archives. */
export function describeVault(v: Vault) {
  let size = 0;
  for (const a of v.archives.values()) size += a.size;
  return { CreationDate: v.creationDate, LastInventoryDate: v.lastInventoryDate, NumberOfArchives: v.archives.size, SizeInBytes: size, VaultARN: v.arn, VaultName: v.name };
}

export async function listVaults(c: Ctx): Promise<void> {
  const { page: vaults, marker } = page(c, c.local.store.listVaults(c.region), (v) => v.arn, 10);
  json(c, 200, { Marker: marker, VaultList: vaults.map(describeVault) });
}

export async function createVault(c: Ctx): Promise<void> {
  const name = c.route.vault!;
  if (!VAULT_NAME_RE.test(name)) throw invalidParam(`Invalid vault name: ${name}. Names are 1 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'.`);
  if (c.body && c.body.length > 0) throw invalidParam('The request body must be empty');
  await c.local.store.createVault(c.region, name, c.now);
  empty(c, 201, { Location: location(c, name) });
}

export async function describeVaultOp(c: Ctx): Promise<void> {
  json(c, 200, describeVault(vaultOf(c)));
}

export async function deleteVault(c: Ctx): Promise<void> {
  await c.local.store.deleteVault(vaultOf(c));
  empty(c, 204);
}
