// --shard K/N: an archive belongs to shard K when the first 8 bytes of its id's SHA-256, as a number, are K mod
// N. Every host computes the same split with no coordination, and it never changes with the input's order.
import { createHash } from 'node:crypto';
import { UsageError } from '../core/errors.js';

export interface Shard {
  k: number;
  n: number;
}

export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m || +m[2] < 1 || +m[1] >= +m[2] || +m[2] > 1_000_000) throw new UsageError(`invalid --shard "${text}": K/N with 0 <= K < N, e.g. 0/3`);
  return { k: +m[1], n: +m[2] };
}

export function inShard(archiveId: string, s: Shard): boolean {
  const h = createHash('sha256').update(archiveId).digest();
  return Number(h.readBigUInt64BE(0) % BigInt(s.n)) === s.k;
}
