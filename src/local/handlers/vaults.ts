// Vault operations of glacier-local: ListVaults, CreateVault, DescribeVault, DeleteVault (protocol §8).
import { invalidParam } from '../glacier-error.js';
import { VAULT_NAME_RE } from '../ids.js';
import { empty, json, location, page, vaultOf, type Ctx } from '../context.js';
import type { Vault } from '../store.js';

/** DescribeVault's body for a vault: counts and size of its archives, live or as of the last snapshot. */
export function describeVault(c: Ctx, v: Vault) {
  const inv = c.local.inventories;
  const view = inv.view(v);
  return { CreationDate: v.creationDate, LastInventoryDate: inv.lastInventoryDate(v), NumberOfArchives: view.size, SizeInBytes: view.totalBytes(), VaultARN: v.arn, VaultName: v.name };
}

export async function listVaults(c: Ctx): Promise<void> {
  const { page: vaults, marker } = page(c, c.local.store.listVaults(c.region), (v) => v.arn, 10);
  json(c, 200, { Marker: marker, VaultList: vaults.map((v) => describeVault(c, v)) });
}

export async function createVault(c: Ctx): Promise<void> {
  const name = c.route.vault!;
  if (!VAULT_NAME_RE.test(name)) throw invalidParam(`Invalid vault name: ${name}. Names are 1 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'.`);
  if (c.body && c.body.length > 0) throw invalidParam('The request body must be empty');
  await c.local.store.createVault(c.region, name, c.now);
  empty(c, 201, { Location: location(c, name) });
}

export async function describeVaultOp(c: Ctx): Promise<void> {
  json(c, 200, describeVault(c, vaultOf(c)));
}

/** DeleteVault: refused while the vault holds archives, and in snapshot mode also while its last snapshot does. */
export async function deleteVault(c: Ctx): Promise<void> {
  const v = vaultOf(c);
  if (c.local.inventories.view(v).size > 0) throw invalidParam(`Vault not empty or recently written to: ${v.arn}`);
  await c.local.store.deleteVault(v);
  empty(c, 204);
}
