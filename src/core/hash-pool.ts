// A piscina pool that computes tree hashes and SHA-256s of parts off the main thread. Parts live in
// SharedArrayBuffers (see buffer-pool.ts), so a task hands the worker a reference, never a copy.
import { availableParallelism } from 'node:os';
import type { Piscina } from 'piscina';
import type { HashTask } from './hash-worker.js';
import { TreeHasher } from './tree-hash.js';

export interface PartHashes {
  treeHash: string;
  sha256: string;
}

// piscina loads the worker with require() first, and Node 20.19+ then loads our ES module through its
// require(esm) path, which aborts the whole process (an assertion in ModuleWrap::CreateRequiredModuleFacade)
// when the process exits while a worker is still loading. With that path turned off in the workers,
// require() throws and piscina falls back to import(), which a process exit can interrupt safely.
/** The hash workers' Node options: require(esm) off where this Node has it (see above). */
export const WORKER_EXEC_ARGV: string[] = process.allowedNodeEnvironmentFlags.has('--experimental-require-module')
  ? ['--no-experimental-require-module']
  : [];

/** Pieces up to this many bytes are hashed on the calling thread (tens of microseconds at most). */
export const INLINE_MAX = 64 * 1024;

/** Whether a worker hashes `data`: it lives in shared memory (no copy to hand over) and is over INLINE_MAX bytes. */
function toWorker(data: Uint8Array): data is Uint8Array<SharedArrayBuffer> {
  return data.buffer instanceof SharedArrayBuffer && data.byteLength > INLINE_MAX;
}

export class HashPool {
  private piscina: Promise<Piscina> | undefined;
  readonly threads: number;

  constructor(threads = availableParallelism()) {
    this.threads = Math.max(1, threads);
  }

  // Started at the first hash handed to a worker, every worker at once: a run that fails before hashing anything
  // (a refused Initiate) then never tears down workers still loading their module, which can abort Node itself.
  // piscina itself is imported then too: a run that hashes only on its own thread (a download, a small put)
  // never loads its modules nor worker_threads (a few tens of ms of CPU at start-up).
  private pool(): Promise<Piscina> {
    this.piscina ??= import('piscina').then(
      ({ Piscina }) =>
        new Piscina({
          // Through ../core/: this module is also bundled into dist/src/bundle/ (scripts/bundle.mjs), a sibling
          // folder of dist/src/core/, and the worker is loaded unbundled from there.
          filename: new URL('../core/hash-worker.js', import.meta.url).href,
          minThreads: this.threads,
          maxThreads: this.threads,
          // Callers bound how many parts exist at once (the buffer pool); the queue only ever holds those.
          idleTimeout: 5_000,
          execArgv: WORKER_EXEC_ARGV,
          // A hash worker allocates next to nothing (digests, a task record): a small young generation keeps each
          // thread's heap from growing to V8's default semi-spaces (16 MiB each), which counts against the RSS bound.
          resourceLimits: { maxYoungGenerationSizeMb: 1 },
        }),
    );
    return this.piscina;
  }

  hash(data: Uint8Array): Promise<PartHashes>;
  hash(data: Uint8Array, linear: false): Promise<{ treeHash: string; sha256: null }>;
  async hash(data: Uint8Array, linear = true): Promise<{ treeHash: string; sha256: string | null }> {
    if (!toWorker(data)) {
      // Not shareable without a copy, or small (a one-line archive): quicker hashed right here than handed to a
      // worker, and a run whose parts are all small starts no worker thread (each costs tens of ms of CPU).
      const d = new TreeHasher({ linear }).update(data).digest();
      return { treeHash: d.treeHash, sha256: d.sha256 };
    }
    const task: HashTask = { sab: data.buffer, offset: data.byteOffset, length: data.byteLength, linear };
    return (await this.pool()).run(task);
  }

  /** Tree hash of a piece plus its 1 MiB leaf digests (to fold pieces into a whole in order). */
  async hashWithLeaves(data: Uint8Array): Promise<{ treeHash: string; leaves: Buffer[] }> {
    let r: { treeHash: string; leaves?: Uint8Array };
    // A small piece (a restore of many small archives) costs more to hand to a worker and back than to hash here.
    if (toWorker(data)) {
      r = await (await this.pool()).run({ sab: data.buffer, offset: data.byteOffset, length: data.byteLength, linear: false, leaves: true } satisfies HashTask);
    } else {
      const h = new TreeHasher({ leaves: true });
      r = { treeHash: h.update(data).digest().treeHash, leaves: Buffer.concat(h.leaves!) };
    }
    const all = Buffer.from(r.leaves!.buffer, r.leaves!.byteOffset, r.leaves!.byteLength);
    const leaves: Buffer[] = [];
    for (let i = 0; i < all.length; i += 32) leaves.push(all.subarray(i, i + 32));
    return { treeHash: r.treeHash, leaves };
  }

  async close(): Promise<void> {
    await (await this.piscina)?.destroy();
  }
}
