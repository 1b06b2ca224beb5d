// Maps a request to one of the vault API's 33 operations (protocol §8). One path can carry several operations,
// told apart by method.
export interface Route {
  op: string;
  account: string;
  vault?: string;
  id?: string; // archive, upload, job or lock id
  sub?: string;
}

const table: [method: string, pattern: RegExp, op: string][] = [
  ['GET', /^\/([^/]+)\/vaults$/, 'ListVaults'],
  ['PUT', /^\/([^/]+)\/vaults\/([^/]+)$/, 'CreateVault'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)$/, 'DescribeVault'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)$/, 'DeleteVault'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/archives$/, 'UploadArchive'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)\/archives\/([^/]+)$/, 'DeleteArchive'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads$/, 'InitiateMultipartUpload'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads$/, 'ListMultipartUploads'],
  ['PUT', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads\/([^/]+)$/, 'UploadMultipartPart'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads\/([^/]+)$/, 'CompleteMultipartUpload'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads\/([^/]+)$/, 'AbortMultipartUpload'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/multipart-uploads\/([^/]+)$/, 'ListParts'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/jobs$/, 'InitiateJob'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/jobs$/, 'ListJobs'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/jobs\/([^/]+)$/, 'DescribeJob'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/jobs\/([^/]+)\/output$/, 'GetJobOutput'],
  ['PUT', /^\/([^/]+)\/vaults\/([^/]+)\/notification-configuration$/, 'SetVaultNotifications'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/notification-configuration$/, 'GetVaultNotifications'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)\/notification-configuration$/, 'DeleteVaultNotifications'],
  ['PUT', /^\/([^/]+)\/vaults\/([^/]+)\/access-policy$/, 'SetVaultAccessPolicy'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/access-policy$/, 'GetVaultAccessPolicy'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)\/access-policy$/, 'DeleteVaultAccessPolicy'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/lock-policy$/, 'InitiateVaultLock'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/lock-policy$/, 'GetVaultLock'],
  ['DELETE', /^\/([^/]+)\/vaults\/([^/]+)\/lock-policy$/, 'AbortVaultLock'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/lock-policy\/([^/]+)$/, 'CompleteVaultLock'],
  ['POST', /^\/([^/]+)\/vaults\/([^/]+)\/tags$/, 'AddOrRemoveTags'],
  ['GET', /^\/([^/]+)\/vaults\/([^/]+)\/tags$/, 'ListTagsForVault'],
  ['GET', /^\/([^/]+)\/policies\/data-retrieval$/, 'GetDataRetrievalPolicy'],
  ['PUT', /^\/([^/]+)\/policies\/data-retrieval$/, 'SetDataRetrievalPolicy'],
  ['GET', /^\/([^/]+)\/provisioned-capacity$/, 'ListProvisionedCapacity'],
  ['POST', /^\/([^/]+)\/provisioned-capacity$/, 'PurchaseProvisionedCapacity'],
];

export const IMPLEMENTED = new Set(table.slice(0, 16).map((t) => t[2]));

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

export function route(method: string, path: string): Route | undefined {
  for (const [m, re, op] of table) {
    if (m !== method) continue;
    const match = re.exec(path);
    if (!match) continue;
    const [account, vault, id] = match.slice(1).map(decode);
    if (account === undefined || (match[2] !== undefined && vault === undefined) || (match[3] !== undefined && id === undefined)) return undefined;
    return { op, account, vault, id };
  }
  return undefined;
}
