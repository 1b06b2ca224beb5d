// glacier-ls: the vaults, a vault's in-progress multipart uploads, or an upload's parts; every page, always.
import { once } from 'node:events';
import { CatalogueWriter, cataloguePath, readCatalogue, thisHost } from '../catalogue/catalogue.js';
import { inventorySource } from '../catalogue/inventory.js';
import { checkGlob, listCatalogue, reconcile, type Listed } from '../catalogue/listing.js';
import { UsageError } from '../core/errors.js';
import { durationArg, formatBytes } from '../core/units.js';
import { listParts, listUploads, listVaults } from '../manage/listing.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { run, type Argv } from './runtime.js';
import { formatTable, shortDate, type Column } from './table.js';

const usage = `Usage: glacier-ls [--json]                         the vaults
       glacier-ls -v VAULT [--json]                 its in-progress multipart uploads
       glacier-ls -v VAULT [--json] [--] UPLOAD_ID  that upload's parts, with range and tree hash
       glacier-ls -v VAULT --archives [--older-than D] [--newer-than D] [--name GLOB] [--all-hosts|--host H]
                  [--inventory JOB_ID|FILE]         the vault's archives, from the local catalogue

Lists everything, following every page. Prints JSON lines with the service's field names when stdout is a
pipe or a file (VaultName, NumberOfArchives, SizeInBytes, CreationDate ...; MultipartUploadId,
PartSizeInBytes, ArchiveDescription ...; parts as {"part","RangeInBytes","SHA256TreeHash"}), and an aligned
table when stdout is a terminal. An upload id that starts with '-' goes after --.

--archives lists the archives glacier-put uploaded from this host (and glacier-rm has not deleted), from the
local catalogue, no request needed; oldest first. Lines are named as glacier-job output --archives names them
(ArchiveId, ArchiveDescription, CreationDate, Size, SHA256TreeHash, Name: the name glacier-restore gives, photos/
for a folder marker, decoded when listed) plus
Source (file, stdin, command, or inventory) and Host, so they go as they are to glacier-restore and glacier-rm.
Only this host's own uploads are listed (Host = this host's name), so a retention pipe into glacier-rm never
picks archives of other hosts or tools, such as those --inventory adds (Host null): --all-hosts lists every
line, --host H those host H uploaded.

Options:
  --json                JSON lines even on a terminal
  --archives            the vault's archives from the catalogue (with -v)
  --older-than D, --newer-than D
                        only archives created more / less than the DURATION D ago (35d, 12h, 1w); m is
                        minutes and an uppercase M is refused (use d or w); --older-than 0 is refused
  --name GLOB           only archives whose Name matches GLOB ('mydb-[0-9]*', 'docs/**.pdf'; * stops at /);
                        match only the names you mean: 'mydb-*' also picks mydb-test-1; an unclosed [ is
                        refused (exit 2): \\[ is a literal [
  --all-hosts           every archive of the catalogue, other hosts' and those an inventory added included
  --host H              only the archives host H uploaded (as the HOST column shows it)
  --inventory JOB_ID|FILE
                        reconcile the catalogue with a vault inventory (a finished inventory job, or its
                        output kept in FILE, JSON or CSV): archives other hosts or tools uploaded are added to
                        the catalogue (Source "inventory", Host null, Name decoded), and every line carries
                        InInventory (false: uploaded after the inventory was taken, or deleted elsewhere);
                        the added lines are listed with --all-hosts
  --catalogue FILE      the catalogue to read (else GLACIER_CATALOGUE, else \${XDG_STATE_HOME:-~/.local/state}/
                        glacier-pipes/catalogue/REGION.VAULT.jsonl, with and without --account-id alike)
${COMMON_HELP}

Exit: 0 done, 1 service/network failure (unknown vault or upload), 2 bad usage, 3 an inventory that is
not one (integrity), 4 inventory job not finished yet, 129/130/143 interrupted.

Examples:
  glacier-ls | jq -r 'select(.NumberOfArchives > 0) | .VaultName'
  glacier-ls -v backups | jq -r .MultipartUploadId | glacier-abort -v backups -
  glacier-ls -v backups -- "$UPLOAD_ID" | jq -r .SHA256TreeHash
  glacier-ls -v backups --archives --older-than 35d --name 'mydb-[0-9]*' --json | glacier-rm -v backups -
  glacier-ls -v backups --archives --name 'docs/report.pdf' --json | glacier-restore -v backups --to ./back
  glacier-ls -v backups --archives --all-hosts --inventory inventory.json --json | jq -c 'select(.InInventory == false)'
`;

const spec = withCommon({ name: 'glacier-ls', usage, boolean: ['json', 'archives', 'all-hosts'], string: ['older-than', 'newer-than', 'name', 'inventory', 'catalogue', 'host'] });

type Vault = { VaultName?: string; NumberOfArchives?: number; SizeInBytes?: number; CreationDate?: string; LastInventoryDate?: string };
type Upload = { MultipartUploadId?: string; PartSizeInBytes?: number; CreationDate?: string; ArchiveDescription?: string };
type Part = { part: number; RangeInBytes: string; SHA256TreeHash: string };

const VAULT_COLUMNS: Column<Vault>[] = [
  { title: 'VAULT', value: (v) => v.VaultName },
  { title: 'ARCHIVES', value: (v) => v.NumberOfArchives, right: true },
  { title: 'SIZE', value: (v) => formatBytes(v.SizeInBytes ?? 0), right: true },
  { title: 'CREATED', value: (v) => shortDate(v.CreationDate) },
  { title: 'LAST INVENTORY', value: (v) => shortDate(v.LastInventoryDate) },
];
const UPLOAD_COLUMNS: Column<Upload>[] = [
  { title: 'UPLOAD ID', value: (u) => u.MultipartUploadId },
  { title: 'PART SIZE', value: (u) => formatBytes(u.PartSizeInBytes ?? 0), right: true },
  { title: 'CREATED', value: (u) => shortDate(u.CreationDate) },
  { title: 'DESCRIPTION', value: (u) => u.ArchiveDescription },
];
const PART_COLUMNS: Column<Part>[] = [
  { title: 'PART', value: (p) => p.part, right: true },
  { title: 'RANGE', value: (p) => p.RangeInBytes, right: true },
  { title: 'TREE HASH', value: (p) => p.SHA256TreeHash },
];

async function print<T>(items: AsyncIterable<T>, columns: Column<T>[], table: boolean): Promise<void> {
  if (!table) {
    for await (const item of items) process.stdout.write(`${JSON.stringify(item)}\n`); // streamed page by page
    return;
  }
  const rows: T[] = [];
  for await (const item of items) rows.push(item);
  process.stdout.write(formatTable(rows, columns));
}

const ARCHIVE_COLUMNS: Column<Listed>[] = [
  { title: 'CREATED', value: (a) => shortDate(a.CreationDate) },
  { title: 'SIZE', value: (a) => formatBytes(a.Size), right: true },
  { title: 'NAME', value: (a) => a.Name },
  { title: 'SOURCE', value: (a) => a.Source },
  { title: 'HOST', value: (a) => a.Host },
  { title: 'IN INVENTORY', value: (a) => (a.InInventory === undefined ? undefined : a.InInventory ? 'yes' : 'NO') },
  { title: 'ARCHIVE ID', value: (a) => a.ArchiveId },
];

async function archives(argv: Argv): Promise<void> {
  if (argv._.length) throw new UsageError(`--archives takes no UPLOAD_ID (got ${argv._[0]})`);
  const c = common('glacier-ls', argv);
  const key = { account: c.accountId, region: c.glacier.region ?? '', vault: c.vault };
  const path = cataloguePath(key, argv.catalogue === undefined ? undefined : String(argv.catalogue));
  if (argv['all-hosts'] && argv.host !== undefined) throw new UsageError('give --all-hosts or --host H, not both');
  if (argv.host !== undefined && !String(argv.host)) throw new UsageError('--host needs a host name (as the HOST column shows it)');
  // This host's own uploads unless asked: lines an inventory added (other hosts', other tools') or another host's
  // uploads in a shared catalogue must never reach a retention pipe (... | glacier-rm -) by default.
  const host = argv['all-hosts'] ? undefined : argv.host !== undefined ? String(argv.host) : thisHost();
  if (argv.name !== undefined) checkGlob(String(argv.name));
  const sel = {
    host,
    olderThanMs: argv['older-than'] === undefined ? undefined : durationArg('--older-than', argv['older-than'], { age: true, positive: true }),
    newerThanMs: argv['newer-than'] === undefined ? undefined : durationArg('--newer-than', argv['newer-than'], { age: true }),
    name: argv.name === undefined ? undefined : String(argv.name),
  };
  const state = await readCatalogue(path, key);
  if (!state.exists && argv.inventory === undefined) c.warn(`no catalogue at ${path} yet (nothing uploaded from here to this vault, region and account); --inventory JOB_ID|FILE fills it from a vault inventory`);
  if (state.skipped) c.warn(`${state.skipped} line(s) of ${path} are not catalogue lines (cut by a crash?): skipped`);
  let listed: Listed[];
  if (argv.inventory !== undefined) {
    const writer = CatalogueWriter.open(path, key);
    try {
      const r = await reconcile(state, inventorySource(c.glacier, c.vault, String(argv.inventory)), writer, sel);
      listed = r.archives;
      if (r.added || r.missing) c.warn(`the inventory had ${r.added} archive(s) the catalogue lacked (now added${r.added && host !== undefined ? ', Host null: listed with --all-hosts' : ''}); the catalogue has ${r.missing} listed here the inventory lacks (InInventory false)`);
    } finally {
      writer.close();
    }
  } else listed = listCatalogue(state, sel);
  const table = !argv.json && Boolean(process.stdout.isTTY);
  if (!table) {
    let batch = '';
    for (const a of listed) {
      batch += `${JSON.stringify(a)}\n`;
      if (batch.length >= 64 * 1024) {
        if (!process.stdout.write(batch)) await once(process.stdout, 'drain');
        batch = '';
      }
    }
    process.stdout.write(batch);
  } else process.stdout.write(formatTable(listed, argv.inventory === undefined ? ARCHIVE_COLUMNS.filter((col) => col.title !== 'IN INVENTORY') : ARCHIVE_COLUMNS));
}

run(spec, async (argv) => {
  if (argv.archives) return archives(argv);
  for (const o of ['older-than', 'newer-than', 'name', 'inventory', 'catalogue', 'host']) if (argv[o] !== undefined) throw new UsageError(`--${o} goes with --archives: glacier-ls -v VAULT --archives --${o} ...`);
  if (argv['all-hosts']) throw new UsageError('--all-hosts goes with --archives: glacier-ls -v VAULT --archives --all-hosts');
  if (argv._.length > 1) throw new UsageError(`one UPLOAD_ID at most (got ${argv._.length})`);
  const uploadId = argv._.length ? String(argv._[0]) : undefined;
  if (uploadId !== undefined && !/^[A-Za-z0-9_-]+$/.test(uploadId)) throw new UsageError(`malformed upload id ${JSON.stringify(uploadId)}: expected the characters A-Z a-z 0-9 _ -`);
  if (uploadId !== undefined && !argv.vault && !process.env.GLACIER_VAULT) throw new UsageError(`an UPLOAD_ID needs its vault: glacier-ls -v VAULT -- ${uploadId}`);
  const c = common('glacier-ls', argv, { vaultRequired: false });
  const table = !argv.json && Boolean(process.stdout.isTTY);
  if (!c.vault) await print(listVaults(c.glacier), VAULT_COLUMNS, table);
  else if (uploadId === undefined) await print(listUploads(c.glacier, c.vault), UPLOAD_COLUMNS, table);
  else await print(listParts(c.glacier, c.vault, uploadId), PART_COLUMNS, table);
});
