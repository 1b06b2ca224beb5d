// Glacier's operations as plain functions over the request layer (glacier.ts), so that no module outside src/core
// builds SDK commands: each sends one command with `send` (or every page with `paginate`) and returns the
// service's answer. Initiate, Complete and the abort of a failed upload are sent to the end after a signal.
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateVaultCommand, DeleteArchiveCommand, DeleteVaultCommand,
  DescribeVaultCommand, InitiateMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand, ListVaultsCommand,
  UploadArchiveCommand, UploadMultipartPartCommand, InitiateJobCommand, DescribeJobCommand, ListJobsCommand, GetJobOutputCommand,
  type JobParameters,
} from '@aws-sdk/client-glacier';
import { paginate, send, type Glacier, type SendOptions } from './glacier.js';

type Hashes = { sha256: string; treeHash: string };

/** UploadArchive: `body` (at most 4 GiB) with its hashes; description null for none. */
export const uploadArchive = (g: Glacier, vaultName: string, body: Uint8Array, hashes: Hashes, description: string | null) =>
  send(g, new UploadArchiveCommand({ accountId: g.accountId, vaultName, body, checksum: hashes.treeHash, archiveDescription: description ?? undefined }), { hashes });

/** InitiateMultipartUpload; sent to the end even after a signal (an opened upload nobody heard of would dangle). */
export const initiateUpload = (g: Glacier, vaultName: string, partSize: number, description: string | null) =>
  send(g, new InitiateMultipartUploadCommand({ accountId: g.accountId, vaultName, partSize: String(partSize), archiveDescription: description ?? undefined }), { mustFinish: true });

/** UploadMultipartPart: bytes [offset, offset + body.length) of the archive. */
export const uploadPart = (g: Glacier, vaultName: string, uploadId: string, offset: number, body: Uint8Array, hashes: Hashes) =>
  send(g, new UploadMultipartPartCommand({ accountId: g.accountId, vaultName, uploadId, body, range: `bytes ${offset}-${offset + body.length - 1}/*`, checksum: hashes.treeHash }), { hashes });

/** CompleteMultipartUpload with the archive's size (bytes) and tree hash; sent to the end even after a signal. */
export const completeUpload = (g: Glacier, vaultName: string, uploadId: string, archiveSize: number, treeHash: string) =>
  send(g, new CompleteMultipartUploadCommand({ accountId: g.accountId, vaultName, uploadId, archiveSize: String(archiveSize), checksum: treeHash }), { mustFinish: true });

/** AbortMultipartUpload; `mustFinish` for the clean-up of a failed upload, which a signal must not cut. */
export const abortUpload = (g: Glacier, vaultName: string, uploadId: string, o: { mustFinish?: boolean } = {}) =>
  send(g, new AbortMultipartUploadCommand({ accountId: g.accountId, vaultName, uploadId }), o);

/** ListParts, every page (or only the first `limit` parts, one page, to check an upload exists). */
export const listPartsPages = (g: Glacier, vaultName: string, uploadId: string) =>
  paginate(g, (marker) => new ListPartsCommand({ accountId: g.accountId, vaultName, uploadId, marker }));
export const firstPart = (g: Glacier, vaultName: string, uploadId: string) => send(g, new ListPartsCommand({ accountId: g.accountId, vaultName, uploadId, limit: 1 }));

export const listUploadsPages = (g: Glacier, vaultName: string) => paginate(g, (marker) => new ListMultipartUploadsCommand({ accountId: g.accountId, vaultName, marker }));
export const listVaultsPages = (g: Glacier) => paginate(g, (marker) => new ListVaultsCommand({ accountId: g.accountId, marker }));

export const deleteArchive = (g: Glacier, vaultName: string, archiveId: string) => send(g, new DeleteArchiveCommand({ accountId: g.accountId, vaultName, archiveId }));
export const createVault = (g: Glacier, vaultName: string) => send(g, new CreateVaultCommand({ accountId: g.accountId, vaultName }));
export const describeVault = (g: Glacier, vaultName: string) => send(g, new DescribeVaultCommand({ accountId: g.accountId, vaultName }));
export const deleteVault = (g: Glacier, vaultName: string) => send(g, new DeleteVaultCommand({ accountId: g.accountId, vaultName }));

/** InitiateJob: starts a retrieval or inventory job; the answer carries its jobId. `o.mustFinish` keeps the request
 * going after Ctrl-C (a job Glacier started unheard of is paid for and lost). */
export const initiateJob = (g: Glacier, vaultName: string, jobParameters: JobParameters, o: SendOptions = {}) =>
  send(g, new InitiateJobCommand({ accountId: g.accountId, vaultName, jobParameters }), o);
export const describeJob = (g: Glacier, vaultName: string, jobId: string) => send(g, new DescribeJobCommand({ accountId: g.accountId, vaultName, jobId }));
export const listJobsPages = (g: Glacier, vaultName: string, filter: { completed?: string; statuscode?: string }) =>
  paginate(g, (marker) => new ListJobsCommand({ accountId: g.accountId, vaultName, marker, ...filter }));
/** One ListJobs page, asked with `marker` (undefined: the first page); its Marker names the next page, if any. */
export const listJobsPage = (g: Glacier, vaultName: string, marker?: string) => send(g, new ListJobsCommand({ accountId: g.accountId, vaultName, marker }));
/** GetJobOutput: `range` as the Range header wants it ("bytes=A-B" or "bytes=A-"), undefined for all of it. */
export const getJobOutput = (g: Glacier, vaultName: string, jobId: string, range?: string) => send(g, new GetJobOutputCommand({ accountId: g.accountId, vaultName, jobId, range }));
