// The vault API's route table (protocol §8): each row maps a method and path to an operation and the handler
// that serves it. A row without a handler is an operation glacier-local knows but does not serve (answered
// UnsupportedOperationException). Paths differ in shape or method, so at most one row matches a request
// and row order does not matter.
import type { Handler } from './context.js';
import { deleteArchive, uploadArchive } from './handlers/archives.js';
import { describeJob, getJobOutput, initiateJob, listJobs } from './handlers/jobs.js';
import {
  abortMultipartUpload, completeMultipartUpload, initiateMultipartUpload, listMultipartUploads, listParts, uploadMultipartPart,
} from './handlers/uploads.js';
import { createVault, deleteVault, describeVaultOp, listVaults } from './handlers/vaults.js';

export interface Route {
  op: string;
  account: string;
  vault?: string;
  id?: string; // archive, upload, job or lock id
  /** Undefined for an operation glacier-local does not serve. */
  handler?: Handler;
  /** The handler streams the request body itself (uploads); other bodies are read whole before it is called. */
  streamsBody: boolean;
}

interface Row {
  method: string;
  path: RegExp;
  op: string;
  handler?: Handler;
  streamsBody?: boolean;
}

const A = '([^/]+)'; // one path segment
const V = `^/${A}/vaults/${A}`;
const row = (method: string, path: string, op: string, handler?: Handler, streamsBody = false): Row => ({ method, path: new RegExp(`${path}$`), op, handler, streamsBody });

const table: Row[] = [
  row('GET', `^/${A}/vaults`, 'ListVaults', listVaults),
  row('PUT', V, 'CreateVault', createVault),
  row('GET', V, 'DescribeVault', describeVaultOp),
  row('DELETE', V, 'DeleteVault', deleteVault),
  row('POST', `${V}/archives`, 'UploadArchive', uploadArchive, true),
  row('DELETE', `${V}/archives/${A}`, 'DeleteArchive', deleteArchive),
  row('POST', `${V}/multipart-uploads`, 'InitiateMultipartUpload', initiateMultipartUpload),
  row('GET', `${V}/multipart-uploads`, 'ListMultipartUploads', listMultipartUploads),
  row('PUT', `${V}/multipart-uploads/${A}`, 'UploadMultipartPart', uploadMultipartPart, true),
  row('POST', `${V}/multipart-uploads/${A}`, 'CompleteMultipartUpload', completeMultipartUpload),
  row('DELETE', `${V}/multipart-uploads/${A}`, 'AbortMultipartUpload', abortMultipartUpload),
  row('GET', `${V}/multipart-uploads/${A}`, 'ListParts', listParts),
  row('POST', `${V}/jobs`, 'InitiateJob', initiateJob),
  row('GET', `${V}/jobs`, 'ListJobs', listJobs),
  row('GET', `${V}/jobs/${A}`, 'DescribeJob', describeJob),
  row('GET', `${V}/jobs/${A}/output`, 'GetJobOutput', getJobOutput),
  row('PUT', `${V}/notification-configuration`, 'SetVaultNotifications'),
  row('GET', `${V}/notification-configuration`, 'GetVaultNotifications'),
  row('DELETE', `${V}/notification-configuration`, 'DeleteVaultNotifications'),
  row('PUT', `${V}/access-policy`, 'SetVaultAccessPolicy'),
  row('GET', `${V}/access-policy`, 'GetVaultAccessPolicy'),
  row('DELETE', `${V}/access-policy`, 'DeleteVaultAccessPolicy'),
  row('POST', `${V}/lock-policy`, 'InitiateVaultLock'),
  row('GET', `${V}/lock-policy`, 'GetVaultLock'),
  row('DELETE', `${V}/lock-policy`, 'AbortVaultLock'),
  row('POST', `${V}/lock-policy/${A}`, 'CompleteVaultLock'),
  row('POST', `${V}/tags`, 'AddOrRemoveTags'),
  row('GET', `${V}/tags`, 'ListTagsForVault'),
  row('GET', `^/${A}/policies/data-retrieval`, 'GetDataRetrievalPolicy'),
  row('PUT', `^/${A}/policies/data-retrieval`, 'SetDataRetrievalPolicy'),
  row('GET', `^/${A}/provisioned-capacity`, 'ListProvisionedCapacity'),
  row('POST', `^/${A}/provisioned-capacity`, 'PurchaseProvisionedCapacity'),
];

/** The route table's rows (method, path pattern, operation, whether served), for tests. */
export const ROUTES: readonly { method: string; path: RegExp; op: string; served: boolean }[] = table.map((r) => ({ method: r.method, path: r.path, op: r.op, served: !!r.handler }));

/** The operations glacier-local serves. */
export const SERVED_OPS: ReadonlySet<string> = new Set(table.filter((r) => r.handler).map((r) => r.op));

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

/** The route of a request (path already stripped of its query), or undefined when no operation matches. */
export function route(method: string, path: string): Route | undefined {
  for (const r of table) {
    if (r.method !== method) continue;
    const match = r.path.exec(path);
    if (!match) continue;
    const [account, vault, id] = match.slice(1).map(decode);
    if (account === undefined || (match[2] !== undefined && vault === undefined) || (match[3] !== undefined && id === undefined)) return undefined;
    return { op: r.op, account, vault, id, handler: r.handler, streamsBody: r.streamsBody ?? false };
  }
  return undefined;
}
