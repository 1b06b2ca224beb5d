// glacier-ls: the vaults, a vault's in-progress multipart uploads, or an upload's parts; every page, always.
import { UsageError } from '../core/errors.js';
import { formatBytes } from '../core/units.js';
import { listParts, listUploads, listVaults } from '../manage/listing.js';
import { common, COMMON_HELP, withCommon } from './common.js';
import { run } from './runtime.js';
import { formatTable, shortDate, type Column } from './table.js';

const usage = `Usage: glacier-ls [--json]                         the vaults
       glacier-ls -v VAULT [--json]                 its in-progress multipart uploads
       glacier-ls -v VAULT [--json] [--] UPLOAD_ID  that upload's parts, with range and tree hash

Lists everything, following every page. Prints JSON lines with the service's field names when stdout is a
pipe or a file (VaultName, NumberOfArchives, SizeInBytes, CreationDate ...; MultipartUploadId,
PartSizeInBytes, ArchiveDescription ...; parts as {"part","RangeInBytes","SHA256TreeHash"}), and an aligned
table when stdout is a terminal. An upload id that starts with '-' goes after --.

Options:
  --json                JSON lines even on a terminal
${COMMON_HELP}

Exit: 0 done, 1 service/network failure (unknown vault or upload), 2 bad usage, 130/143 interrupted.

Examples:
  glacier-ls | jq -r 'select(.NumberOfArchives > 0) | .VaultName'
  glacier-ls -v backups | jq -r .MultipartUploadId | glacier-abort -v backups -
  glacier-ls -v backups -- "$UPLOAD_ID" | jq -r .SHA256TreeHash
`;

const spec = withCommon({ name: 'glacier-ls', usage, boolean: ['json'] });

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

run(spec, async (argv) => {
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
