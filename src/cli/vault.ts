// glacier-vault: creates, describes and deletes vaults, so a new user needs no console.
import { CreateVaultCommand, DeleteVaultCommand, DescribeVaultCommand } from '@aws-sdk/client-glacier';
import { ServiceError, UsageError } from '../core/errors.js';
import { common, COMMON_HELP, explain, withCommon } from './common.js';
import { interruption, run } from './runtime.js';

const usage = `Usage: glacier-vault create NAME      prints {"vault","location"}
       glacier-vault describe NAME    prints the vault as the service describes it: VaultName, VaultARN,
                                      CreationDate, LastInventoryDate, NumberOfArchives, SizeInBytes
       glacier-vault delete NAME      prints {"vault","deleted":true}

NAME may be given as -v NAME instead (describe and create also take GLACIER_VAULT). Creating a vault that
exists succeeds, as the service says. Only an empty vault can be deleted: one with no archives as of its
last inventory and nothing written since; the service refuses the others.

${COMMON_HELP}

Exit: 0 done, 1 refused or failed (vault not found, not empty, service, network), 2 bad usage, 130/143 interrupted.

Examples:
  glacier-vault create backups && tar -cf - ~/docs | glacier-put -v backups
  glacier-vault describe backups | jq .NumberOfArchives
  glacier-ls | jq -r .VaultName | xargs -n1 glacier-vault describe | jq -c '{VaultName, NumberOfArchives}'
`;

const spec = withCommon({ name: 'glacier-vault', usage });
const ACTIONS = ['create', 'describe', 'delete'];

run(spec, async (argv) => {
  const [action, name, ...rest] = argv._.map(String);
  if (!action || !ACTIONS.includes(action)) throw new UsageError(action ? `unknown action "${action}": create, describe or delete` : 'give an action: glacier-vault create|describe|delete NAME');
  if (rest.length) throw new UsageError(`one vault at a time (got ${rest.length + 1} names)`);
  if (name !== undefined && argv.vault !== undefined && String(argv.vault) !== name) throw new UsageError(`two vault names: "${name}" and -v "${argv.vault}"`);
  // Deleting is the one action that must not fall back on GLACIER_VAULT: name the vault to delete.
  if (action === 'delete' && name === undefined && argv.vault === undefined) throw new UsageError('name the vault to delete: glacier-vault delete NAME');
  const c = common('glacier-vault', { ...argv, vault: name ?? argv.vault });
  const req = { accountId: c.accountId, vaultName: c.vault };
  const opts = { abortSignal: interruption.signal };
  try {
    if (action === 'create') {
      const r = await c.client.send(new CreateVaultCommand(req), opts);
      process.stdout.write(`${JSON.stringify({ vault: c.vault, location: r.location ?? null })}\n`);
    } else if (action === 'describe') {
      const { $metadata: _, ...vault } = await c.client.send(new DescribeVaultCommand(req), opts);
      process.stdout.write(`${JSON.stringify(vault)}\n`);
    } else {
      await c.client.send(new DeleteVaultCommand(req), opts);
      process.stdout.write(`${JSON.stringify({ vault: c.vault, deleted: true })}\n`);
    }
  } catch (e) {
    if (interruption.signal.aborted) throw interruption.signal.reason;
    const err = e as Error;
    if (action === 'delete' && err.name === 'InvalidParameterValueException' && /not empty/i.test(err.message)) {
      throw new ServiceError(
        `cannot delete vault "${c.vault}": it is not empty or was written to recently (${err.message}); ` +
          `delete its archives (jq -r '.ArchiveList[].ArchiveId' inventory.json | glacier-rm -v ${c.vault}), abort its uploads ` +
          `(glacier-abort -v ${c.vault} --all), and retry once a new inventory shows it empty`,
      );
    }
    // No "create it with" hint when the vault to delete is not there.
    if (action === 'delete' && err.name === 'ResourceNotFoundException') throw new ServiceError(`vault "${c.vault}" not found (${err.message}); nothing to delete`);
    throw explain(e, { vault: c.vault, endpoint: c.endpoint });
  }
});
