// The part-size policy, in one place for glacier-put and glacier-chunk: parts are 1 MiB × 2^n up to 4 GiB
// (Glacier's rule), at most 10,000 of them; 8 MiB by default for input of known size, grown to fit, and 64 MiB
// (archives up to 625 GiB) when the size is unknown.
import { UsageError } from '../core/errors.js';
import { isValidPartSize, MiB } from '../core/tree-hash.js';

export const MAX_PARTS = 10_000;
export const DEFAULT_PART_SIZE = 8 * MiB;
export const UNKNOWN_SIZE_PART_SIZE = 64 * MiB;

/** The smallest part size (1 MiB × 2^n, at least `min`) that holds `size` bytes in maxParts parts. UsageError past 4 GiB parts. */
export function fitPartSize(size: number, min = DEFAULT_PART_SIZE, maxParts = MAX_PARTS): number {
  let ps = MiB;
  while (ps < min) ps *= 2;
  while (ps * maxParts < size) ps *= 2;
  if (ps > 4096 * MiB) throw new UsageError(`${size} bytes do not fit in ${maxParts} parts of at most 4 GiB`);
  return ps;
}

/** A requested size rounded up to 1 MiB × 2^n. UsageError over 4 GiB. */
export function roundPartSize(n: number): number {
  let ps = MiB;
  while (ps < n) ps *= 2;
  if (!isValidPartSize(ps)) throw new UsageError(`invalid --part-size: ${n} bytes is over the 4 GiB limit`);
  return ps;
}

export interface PartSizeChoice {
  partSize: number;
  /** Set when the request was not 1 MiB × 2^n and was rounded up. */
  roundedFrom?: number;
  /** The input's size is unknown: the part size bounds the archive (partSize × 10,000). */
  unknownSize: boolean;
}

/**
 * The part size for an input: `requested` (-p, rounded up unless `exact`, where a size that is not 1 MiB × 2^n
 * is a UsageError), else one that fits `size` (the input's size, or --expected-size), else 64 MiB.
 */
export function choosePartSize(o: { requested?: number; size?: number; exact?: boolean }): PartSizeChoice {
  if (o.requested !== undefined && o.exact && !isValidPartSize(o.requested)) throw new UsageError(`invalid --part-size: 1 MiB x 2^n (1M, 2M, 4M ... 4G)`);
  const min = o.requested !== undefined ? roundPartSize(o.requested) : DEFAULT_PART_SIZE;
  const roundedFrom = o.requested !== undefined && min !== o.requested ? o.requested : undefined;
  if (o.size !== undefined) return { partSize: o.requested !== undefined && o.exact ? min : fitPartSize(o.size, min), roundedFrom, unknownSize: false };
  return { partSize: o.requested !== undefined ? min : UNKNOWN_SIZE_PART_SIZE, roundedFrom, unknownSize: true };
}
