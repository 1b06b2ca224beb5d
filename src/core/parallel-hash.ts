// Tree hash of a whole input using every core: the input is cut into power-of-two-MiB segments (each a
// subtree of the whole tree), the pool hashes segments in parallel, and their roots are combined.
import { BufferPool } from './buffer-pool.js';
import type { HashPool } from './hash-pool.js';
import { mapOrdered } from './ordered.js';
import { combineTreeHashesHex, MiB } from './tree-hash.js';

export interface Fill {
  fill(dst: Buffer, n: number): Promise<number>;
}

export async function parallelTreeHash(input: Fill, pool: HashPool, segment = 16 * MiB): Promise<{ treeHash: string; size: number }> {
  const buffers = new BufferPool(segment, pool.threads + 2);
  let size = 0;
  async function* segments() {
    for (;;) {
      const buf = await buffers.acquire();
      const n = await input.fill(buf, segment);
      if (n === 0) {
        buffers.release(buf);
        return;
      }
      size += n;
      yield { buf, n };
      if (n < segment) return;
    }
  }
  const roots: string[] = [];
  for await (const h of mapOrdered(segments(), pool.threads + 1, async ({ buf, n }) => {
    try {
      return (await pool.hash(buf.subarray(0, n), false)).treeHash;
    } finally {
      buffers.release(buf);
    }
  })) {
    roots.push(h);
  }
  return { treeHash: combineTreeHashesHex(roots), size };
}
