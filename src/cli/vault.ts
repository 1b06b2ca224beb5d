// glacier-vault: creates, describes and deletes vaults, so a new user needs no console.
import { UsageError } from '../core/errors.js';
import { VAULT_ACTIONS, vaultAction, type VaultAction } from '../manage/vault.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { run } from './runtime.js';

const usage = `Usage: glacier-vault create NAME      prints {"vault","location"}
       glacier-vault describe NAME    prints the vault as the service describes it: VaultName, VaultARN,
                                      CreationDate, LastInventoryDate, NumberOfArchives, SizeInBytes
       glacier-vault delete NAME      prints {"vault","deleted":true}

NAME may be given as -v NAME instead (describe and create also take GLACIER_VAULT). Creating a vault that
exists succeeds, as the service says. Only an empty vault can be deleted: one with no archives as of its
last inventory and nothing written since; the service refuses the others.

${COMMON_HELP}

Exit: 0 done, 1 refused or failed (vault not found, not empty, service, network), 2 bad usage, 129/130/143
interrupted.

Examples:
  glacier-vault create backups && tar -cf - ~/docs | glacier-put -v backups
  glacier-vault describe backups | jq .NumberOfArchives
  glacier-ls | jq -r .VaultName | xargs -n1 glacier-vault describe | jq -c '{VaultName, NumberOfArchives}'
`;

const spec = withCommon({ name: 'glacier-vault', usage });

run(spec, async (argv) => {
  const [action, name, ...rest] = argv._.map(String);
  if (!action || !(VAULT_ACTIONS as string[]).includes(action)) throw new UsageError(action ? `unknown action "${action}": create, describe or delete` : 'give an action: glacier-vault create|describe|delete NAME');
  if (rest.length) throw new UsageError(`one vault at a time (got ${rest.length + 1} names)`);
  if (name !== undefined && argv.vault !== undefined && String(argv.vault) !== name) throw new UsageError(`two vault names: "${name}" and -v "${argv.vault}"`);
  // Deleting is the one action that must not fall back on GLACIER_VAULT: name the vault to delete.
  if (action === 'delete' && name === undefined && argv.vault === undefined) throw new UsageError('name the vault to delete: glacier-vault delete NAME');
  const c = common('glacier-vault', { ...argv, vault: name ?? argv.vault });
  process.stdout.write(`${JSON.stringify(await vaultAction(c.glacier, action as VaultAction, c.vault))}\n`);
});
