// Piscina worker: hashes one part held in shared memory. Pure function; nothing is copied in or out.
import { TreeHasher } from './tree-hash.js';

export interface HashTask {
  sab: SharedArrayBuffer;
  offset: number;
  length: number;
  linear: boolean;
}

export default function hashPart(task: HashTask): { treeHash: string; sha256: string | null } {
  const view = new Uint8Array(task.sab, task.offset, task.length);
  const d = new TreeHasher({ linear: task.linear }).update(view).digest();
  return { treeHash: d.treeHash, sha256: d.sha256 };
}
