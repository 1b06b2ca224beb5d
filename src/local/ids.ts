// Opaque identifiers shaped like the real service's: base64url, 138 chars for archives, 92 for uploads and jobs.
// Archive ids carry a digest of their vault's ARN so that a delete through the wrong vault can be told apart
// from a repeated delete (which is idempotent).
import { createHash, randomBytes } from 'node:crypto';

const b64url = (b: Buffer) => b.toString('base64url');

export const ID_RE = /^[A-Za-z0-9_-]{1,256}$/;
export const VAULT_NAME_RE = /^[A-Za-z0-9_.-]{1,255}$/;
export const REGION_RE = /^[a-z0-9-]{1,40}$/;

export function vaultTag(vaultArn: string): string {
  return b64url(createHash('sha256').update(vaultArn).digest()).slice(0, 16);
}

export function newArchiveId(vaultArn: string): string {
  return (vaultTag(vaultArn) + b64url(randomBytes(92))).slice(0, 138);
}

export function newUploadId(): string {
  return b64url(randomBytes(69));
}

export const newJobId = newUploadId;

export function newRequestId(): string {
  return b64url(randomBytes(35)).slice(0, 47);
}

/** Whether an archive id could have been issued for this vault. */
export function archiveIdMatchesVault(archiveId: string, vaultArn: string): boolean {
  return archiveId.length === 138 && archiveId.startsWith(vaultTag(vaultArn));
}
