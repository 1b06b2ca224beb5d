// Vault actions: create, describe, delete, each one request through the request layer.
import type { Glacier } from '../core/glacier.js';
import { createVault, deleteVault, describeVault } from '../core/operations.js';

export type VaultAction = 'create' | 'describe' | 'delete';
export const VAULT_ACTIONS: VaultAction[] = ['create', 'describe', 'delete'];

/**
 * Runs one vault action and resolves with its result line: create → {vault, location}, describe → the vault as
 * the service describes it (VaultName, VaultARN, CreationDate, ...), delete → {vault, deleted: true}. Throws the
 * classified GlacierError (vault not found, not empty, ...) or the signal's InterruptedError.
 */
export async function vaultAction(g: Glacier, action: VaultAction, vaultName: string): Promise<Record<string, unknown>> {
  if (action === 'create') {
    const r = await createVault(g, vaultName);
    return { vault: vaultName, location: r.location ?? null };
  }
  if (action === 'describe') {
    const { $metadata: _, ...vault } = await describeVault(g, vaultName);
    return vault;
  }
  await deleteVault(g, vaultName);
  return { vault: vaultName, deleted: true };
}
