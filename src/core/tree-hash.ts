// SHA-256 tree hash as Glacier defines it: 1 MiB leaves, adjacent pairs hashed together level by level,
// an unpaired last node promoted unchanged. Shared by the clients and by glacier-local.
import { createHash, type Hash } from 'node:crypto';

export const MiB = 1024 * 1024;
/** Bytes both hashes of TreeHasher({ linear: true }) take in turn: well inside a core's L2 cache. */
const LINEAR_STEP = 128 * 1024;

function sha256(...parts: Buffer[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Combines sibling subtree roots given left to right (leaf hashes, or the tree hashes of aligned parts). */
export function combineTreeHashes(nodes: readonly Buffer[]): Buffer {
  if (nodes.length === 0) return sha256();
  let level = nodes.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? sha256(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}

export function combineTreeHashesHex(hexes: readonly string[]): string {
  return combineTreeHashes(hexes.map((h) => Buffer.from(h, 'hex'))).toString('hex');
}

/**
 * Folds 1 MiB leaf digests, given in order, into the tree hash. Completed subtrees are combined as soon as their
 * sibling arrives (a binary counter), so memory is O(log n) whatever the size.
 */
export class TreeCombiner {
  // Roots of completed subtrees, levels strictly decreasing from bottom to top.
  private readonly stack: { level: number; hash: Buffer }[] = [];

  push(leaf: Buffer): void {
    let node: { level: number; hash: Buffer } = { level: 0, hash: leaf };
    for (let top = this.stack.at(-1); top && top.level === node.level; top = this.stack.at(-1)) {
      this.stack.pop();
      node = { level: node.level + 1, hash: sha256(top.hash, node.hash) };
    }
    this.stack.push(node);
  }

  /** The root over every leaf pushed; an unpaired right subtree is promoted, as Glacier does. */
  digest(): Buffer {
    if (this.stack.length === 0) return sha256();
    let root = this.stack[this.stack.length - 1].hash;
    // Folding from the right gives the promote-unpaired result: each lower (larger) subtree is a left sibling.
    for (let i = this.stack.length - 2; i >= 0; i--) root = sha256(this.stack[i].hash, root);
    return root;
  }

  /**
   * The roots of the completed subtrees, largest first: with the number of leaves pushed (which gives their
   * levels, one per bit set), the whole state, so it can be kept and continued later (resume).
   */
  roots(): Buffer[] {
    return this.stack.map((n) => n.hash);
  }

  /**
   * A combiner continuing after `leaves` leaves whose subtree roots are `roots` (as roots() gave them). Throws
   * when their number is not the number of bits set in `leaves`.
   */
  static resume(leaves: number, roots: readonly Buffer[]): TreeCombiner {
    const c = new TreeCombiner();
    const levels: number[] = [];
    for (let level = 0, n = leaves; n > 0; level++, n = Math.floor(n / 2)) if (n % 2) levels.unshift(level);
    if (levels.length !== roots.length || roots.some((r) => r.length !== 32)) throw new Error(`${roots.length} subtree roots do not fit ${leaves} leaves`);
    levels.forEach((level, i) => c.stack.push({ level, hash: roots[i] }));
    return c;
  }
}

/**
 * Streaming tree hash (and, optionally, the linear SHA-256 of the same bytes) over input fed in pieces of any size.
 * Completed subtrees are folded as soon as their sibling arrives, so memory is O(log n) hashes.
 */
export class TreeHasher {
  private leaf: Hash = createHash('sha256');
  private leafBytes = 0;
  private readonly linear: Hash | null;
  private readonly tree = new TreeCombiner();
  private total = 0;
  private done = false;
  /** Every 1 MiB leaf digest in order, when asked for (glacier-local keeps them to answer ranged hashes). */
  readonly leaves: Buffer[] | null;

  constructor(opts: { linear?: boolean; leaves?: boolean } = {}) {
    this.linear = opts.linear ? createHash('sha256') : null;
    this.leaves = opts.leaves ? [] : null;
  }

  get size(): number {
    return this.total;
  }

  update(data: Uint8Array): this {
    if (this.done) throw new Error('TreeHasher already finished');
    this.total += data.length;
    // With the linear SHA-256 too, both hashes take each LINEAR_STEP of the input in turn, so the second reads it
    // from the core's cache rather than from memory (a part is larger than the caches).
    const step = this.linear ? LINEAR_STEP : MiB;
    let off = 0;
    while (off < data.length) {
      const take = Math.min(MiB - this.leafBytes, data.length - off, step);
      const chunk = off === 0 && take === data.length ? data : data.subarray(off, off + take);
      this.linear?.update(chunk);
      this.leaf.update(chunk);
      this.leafBytes += take;
      off += take;
      if (this.leafBytes === MiB) this.pushLeaf();
    }
    return this;
  }

  private pushLeaf(): void {
    const leaf = this.leaf.digest();
    this.leaves?.push(leaf);
    this.tree.push(leaf);
    this.leaf = createHash('sha256');
    this.leafBytes = 0;
  }

  /** Tree hash (and linear SHA-256 when asked for) as raw digests. */
  digestRaw(): { treeHash: Buffer; sha256: Buffer | null; size: number } {
    if (this.done) throw new Error('TreeHasher already finished');
    this.done = true;
    if (this.leafBytes > 0 || this.total === 0) {
      const leaf = this.leaf.digest();
      this.leaves?.push(leaf);
      this.tree.push(leaf);
    }
    return { treeHash: this.tree.digest(), sha256: this.linear ? this.linear.digest() : null, size: this.total };
  }

  digest(): { treeHash: string; sha256: string | null; size: number } {
    const r = this.digestRaw();
    return { treeHash: r.treeHash.toString('hex'), sha256: r.sha256 ? r.sha256.toString('hex') : null, size: r.size };
  }
}

export function treeHash(data: Uint8Array): string {
  return new TreeHasher().update(data).digest().treeHash;
}

/** Tree hash and linear SHA-256 of one buffer, both as lowercase hex. */
export function hashBoth(data: Uint8Array): { treeHash: string; sha256: string } {
  const d = new TreeHasher({ linear: true }).update(data).digest();
  return { treeHash: d.treeHash, sha256: d.sha256 as string };
}

/** Part sizes Glacier accepts: 1 MiB × 2^n up to 4 GiB. */
export function isValidPartSize(n: number): boolean {
  if (!Number.isSafeInteger(n) || n < MiB || n > 4 * 1024 * MiB) return false;
  const m = n / MiB;
  return Number.isInteger(m) && (m & (m - 1)) === 0;
}

/** Start on a MiB boundary; end+1 on a MiB boundary or at the end of the archive. */
export function isMegabyteAligned(start: number, endIncl: number, size: number): boolean {
  if (start < 0 || endIncl < start || endIncl >= size) return false;
  return start % MiB === 0 && ((endIncl + 1) % MiB === 0 || endIncl + 1 === size);
}

/** True when the range [start, endIncl] of an archive of `size` bytes is one node of the archive's hash tree. */
export function isTreeHashAligned(start: number, endIncl: number, size: number): boolean {
  if (start < 0 || start % MiB || endIncl >= size || endIncl < start) return false;
  const length = endIncl + 1 - start;
  for (let span = MiB; ; span *= 2) {
    if (start % span) return false;
    if (endIncl + 1 === start + span) return true;
    if (endIncl + 1 === size && length <= span) return true;
    if (span >= length) return false;
  }
}
