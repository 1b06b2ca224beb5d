// Cuts a job's output into pieces that are nodes of the archive's hash tree, so that Glacier sends the tree
// hash of each piece (x-amz-sha256-tree-hash) and every byte can be verified before it is passed on.
import { isTreeHashAligned, MiB } from '../core/tree-hash.js';

export interface Piece {
  start: number; // offsets into the job output, inclusive
  end: number;
}

export interface JobGeometry {
  /** Archive offset of the output's first byte (RetrievalByteRange start). */
  rangeStart: number;
  rangeEnd: number; // inclusive, archive offsets
  archiveSize: number;
}

/** Whether Glacier gives hashes for this job's output at all: the retrieved range must be a tree node. */
export function jobIsVerifiable(g: JobGeometry): boolean {
  return isTreeHashAligned(g.rangeStart, g.rangeEnd, g.archiveSize);
}

/**
 * Pieces covering output bytes [from, to], each at most `max` bytes and each a tree-hash-aligned range of the
 * archive. `from` must sit on a MiB boundary of the archive; `max` is a power-of-two number of MiB.
 */
export function planPieces(g: JobGeometry, from: number, to: number, max: number): Piece[] {
  const pieces: Piece[] = [];
  let s = g.rangeStart + from;
  const last = g.rangeStart + to;
  while (s <= last) {
    let span = max;
    while (span > MiB && (s % span !== 0 || !isTreeHashAligned(s, Math.min(s + span - 1, last), g.archiveSize))) span /= 2;
    const e = Math.min(s + span - 1, last);
    if (!isTreeHashAligned(s, e, g.archiveSize)) throw new Error(`output range ${s - g.rangeStart}-${e - g.rangeStart} is not tree-hash aligned`);
    pieces.push({ start: s - g.rangeStart, end: e - g.rangeStart });
    s = e + 1;
  }
  return pieces;
}
