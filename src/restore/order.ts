// Oldest first: archives of an inventory in CreationDate order, then by archive id, as a vault is served fastest
// in the order it was written (AWS's quotas page throttles restores out of order per PiB a day; AWS's own transfer
// solution requests archives in creation order). An inventory lists archives in no promised order and may hold
// millions of them, so the sort is external: runs of `runSize` records sorted in memory and spilled as JSON lines
// to 0600 files, created O_EXCL|O_NOFOLLOW in a private (0700, mkdtemp) folder, then merged with one record per
// run in memory; the folder is removed when the generator ends, is returned or throws.
import { constants as C, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { InventoryArchive } from './seam.js';

/** Records sorted in memory before a run is spilled: about 15 MB of records at inventory sizes. */
export const RUN_SIZE = 20_000;

interface Keyed {
  t: number;
  a: InventoryArchive;
}

/** ms since the epoch of a CreationDate; a missing or unreadable date sorts last. */
const timeOf = (a: InventoryArchive): number => {
  const t = Date.parse(String(a.CreationDate ?? ''));
  return Number.isFinite(t) ? t : Number.MAX_SAFE_INTEGER;
};

/** Oldest first; equal dates by archive id (code-unit order, the same on every host). */
export const compareKeyed = (x: Keyed, y: Keyed): number => x.t - y.t || (x.a.ArchiveId < y.a.ArchiveId ? -1 : x.a.ArchiveId > y.a.ArchiveId ? 1 : 0);

/**
 * `input` in CreationDate order, then by ArchiveId. Memory: at most `runSize` records, plus one record and one read
 * buffer (64 KiB) per spilled run. Spill files go to a folder made by mkdtemp under `tmpRoot` (default the system's
 * temp folder, $TMPDIR). Throws what reading `input` or the spill files throws; the folder is removed either way.
 */
export async function* oldestFirst(input: AsyncIterable<InventoryArchive>, o: { tmpRoot?: string; runSize?: number } = {}): AsyncGenerator<InventoryArchive> {
  const runSize = o.runSize ?? RUN_SIZE;
  let buf: Keyed[] = [];
  let dir: string | undefined;
  const runs: string[] = [];
  try {
    for await (const a of input) {
      buf.push({ t: timeOf(a), a });
      if (buf.length >= runSize) {
        dir ??= await fsp.mkdtemp(join(o.tmpRoot ?? tmpdir(), 'glacier-restore-sort-'));
        runs.push(await spill(buf, join(dir, `run-${runs.length}.jsonl`)));
        buf = [];
      }
    }
    buf.sort(compareKeyed);
    if (!runs.length) {
      for (const k of buf) yield k.a;
      return;
    }
    yield* merge(runs, buf);
  } finally {
    buf = [];
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
  }
}

/** Sorts `buf` and writes it as JSON lines to a new file at `path` (O_EXCL|O_NOFOLLOW, 0600). */
async function spill(buf: Keyed[], path: string): Promise<string> {
  buf.sort(compareKeyed);
  const fh = await fsp.open(path, C.O_CREAT | C.O_EXCL | C.O_WRONLY | C.O_NOFOLLOW, 0o600);
  try {
    let chunk: string[] = [];
    let size = 0;
    for (const k of buf) {
      const line = JSON.stringify(k.a);
      chunk.push(line);
      size += line.length;
      if (size > 1 << 20) {
        await fh.write(`${chunk.join('\n')}\n`);
        chunk = [];
        size = 0;
      }
    }
    if (chunk.length) await fh.write(`${chunk.join('\n')}\n`);
  } finally {
    await fh.close();
  }
  return path;
}

/** A k-way merge of the sorted run files and the sorted in-memory `tail`, through a binary heap. */
async function* merge(runs: string[], tail: Keyed[]): AsyncGenerator<InventoryArchive> {
  type Source = { head: Keyed; next(): Promise<Keyed | undefined>; close(): Promise<void> };
  const sources: Source[] = [];
  try {
    for (const path of runs) {
      // A spill file is opened as it was made: no link followed.
      const stream = (await fsp.open(path, C.O_RDONLY | C.O_NOFOLLOW)).createReadStream({ encoding: 'utf8' });
      const lines = createInterface({ input: stream, crlfDelay: Infinity })[Symbol.asyncIterator]();
      const next = async (): Promise<Keyed | undefined> => {
        const n = await lines.next();
        if (n.done) return undefined;
        const a = JSON.parse(n.value) as InventoryArchive;
        return { t: timeOf(a), a };
      };
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await lines.return?.();
        stream.destroy();
      };
      const head = await next();
      if (head) sources.push({ head, next, close });
      else await close();
    }
    let i = 0;
    if (tail.length) sources.push({ head: tail[i++], next: async () => tail[i++], close: async () => {} });
    const heap = new SourceHeap(sources);
    while (heap.size) {
      const s = heap.top();
      yield s.head.a;
      const n = await s.next();
      if (n) {
        s.head = n;
        heap.fix();
      } else {
        heap.pop();
        await s.close();
      }
    }
  } finally {
    for (const s of sources) await s.close().catch(() => {});
  }
}

/** A min-heap of sources by their head record. */
class SourceHeap<S extends { head: Keyed }> {
  private readonly h: S[];
  constructor(items: S[]) {
    this.h = [...items];
    for (let i = (this.h.length >> 1) - 1; i >= 0; i--) this.down(i);
  }
  get size(): number {
    return this.h.length;
  }
  top(): S {
    return this.h[0];
  }
  /** The top's key grew: restore the order. */
  fix(): void {
    this.down(0);
  }
  pop(): void {
    const last = this.h.pop()!;
    if (this.h.length) {
      this.h[0] = last;
      this.down(0);
    }
  }
  private down(i: number): void {
    const h = this.h;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && compareKeyed(h[l].head, h[m].head) < 0) m = l;
      if (r < h.length && compareKeyed(h[r].head, h[m].head) < 0) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m], h[i]];
      i = m;
    }
  }
}
