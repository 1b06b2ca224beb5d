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

/**
 * Pieces covering output bytes [from, to] that start on MiB boundaries of the archive and are at most `max`
 * bytes (a multiple of 1 MiB), for a job whose range is not a tree node: only a service following the API
 * reference's megabyte rule sends their hashes. `from` must sit on a MiB boundary of the archive.
 */
export function planMegabytePieces(from: number, to: number, max: number): Piece[] {
  const pieces: Piece[] = [];
  for (let s = from; s <= to; ) {
    const e = Math.min(s + max - 1, to);
    pieces.push({ start: s, end: e });
    s = e + 1;
  }
  return pieces;
}

/**
 * The smallest tree-hash-aligned archive range covering bytes [first, last] (archive offsets, inclusive), so
 * that Glacier sends a tree hash for every piece of the job's output (developer guide, "Receive Checksums When
 * Downloading Data"). `first` must be a multiple of 1 MiB. With `archiveSize` unknown (undefined) the cover is
 * the full tree node, which holds only if the archive extends to its end; `fitsOnlyIfLonger` says so.
 */
export function alignedCover(first: number, last: number, archiveSize?: number): { start: number; end: number; fitsOnlyIfLonger: boolean } {
  if (archiveSize !== undefined && isTreeHashAligned(first, last, archiveSize)) return { start: first, end: last, fitsOnlyIfLonger: false };
  for (let span = MiB; ; span *= 2) {
    const start = first - (first % span);
    const nodeEnd = start + span - 1;
    if (nodeEnd < last) continue;
    if (archiveSize === undefined) return { start, end: nodeEnd, fitsOnlyIfLonger: true };
    const end = Math.min(nodeEnd, archiveSize - 1);
    if (isTreeHashAligned(start, end, archiveSize)) return { start, end, fitsOnlyIfLonger: false };
  }
}
