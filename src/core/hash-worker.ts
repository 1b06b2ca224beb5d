// Piscina worker: hashes one part held in shared memory. Pure function; nothing is copied in or out.
import { TreeHasher } from './tree-hash.js';

export interface HashTask {
  sab: SharedArrayBuffer;
  offset: number;
  length: number;
  linear: boolean;
  /** Also return the 1 MiB leaf digests, concatenated (32 bytes each). */
  leaves?: boolean;
}

export default function hashPart(task: HashTask): { treeHash: string; sha256: string | null; leaves?: Uint8Array } {
  const view = new Uint8Array(task.sab, task.offset, task.length);
  const h = new TreeHasher({ linear: task.linear, leaves: task.leaves });
  const d = h.update(view).digest();
  return { treeHash: d.treeHash, sha256: d.sha256, leaves: h.leaves ? Buffer.concat(h.leaves) : undefined };
}
