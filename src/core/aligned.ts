// Page-aligned memory, for writes that bypass the page cache (O_DIRECT): the kernel then moves the bytes from this
// memory itself, and asks that its address, the file offset and the length be multiples of the device's block size.
// JavaScript gives no address of a Buffer; a WebAssembly.Memory's is a multiple of its 64 KiB page.

/** Alignment of alignedBuffers' memory, and the unit of every write that bypasses the page cache (bytes). */
export const DIRECT_ALIGN = 4096;

const aligned = new WeakSet<ArrayBufferLike>();
/** Buffers of alignedBuffers' memory not in use, by length. */
const spare = new Map<number, Buffer[]>();

/**
 * `count` Buffers of `size` bytes each (a multiple of DIRECT_ALIGN), each starting on a DIRECT_ALIGN boundary of
 * memory, for isAligned. The first call makes one WebAssembly.Memory of `budget` bytes (up to 4 GiB) and cuts it
 * into Buffers of `size`: a Memory reserves about 10 GiB of address space (guard regions), so a process makes one,
 * not one per download; its pages take memory only once written. Null, and nothing taken, when fewer than `count`
 * are free (downloads running side by side share them: at most `budget` bytes in use at once), or when the
 * reservation is refused (a `ulimit -v`): the caller then writes through the page cache.
 */
export function alignedBuffers(count: number, size: number, budget: number): Buffer[] | null {
  let free = spare.get(size);
  if (!free) {
    spare.set(size, (free = []));
    try {
      const mem = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(budget / 65536)) });
      aligned.add(mem.buffer);
      for (let at = 0; at + size <= budget; at += size) free.push(Buffer.from(mem.buffer, at, size));
    } catch {
      // refused: never aligned memory of this size in this process
    }
  }
  if (free.length < count) return null;
  return free.splice(free.length - count);
}

/** Hands Buffers from alignedBuffers back, to be given out again. The caller has no write from them in flight. */
export function releaseAligned(buffers: Buffer[]): void {
  for (const b of buffers) {
    if (!aligned.has(b.buffer)) continue;
    const list = spare.get(b.length) ?? [];
    list.push(b);
    spare.set(b.length, list);
  }
}

/** Whether `data` starts on a DIRECT_ALIGN boundary of memory (it lies in an alignedBuffers Buffer at such an offset). */
export function isAligned(data: Uint8Array): boolean {
  return aligned.has(data.buffer) && data.byteOffset % DIRECT_ALIGN === 0;
}
