// Page-aligned memory, for writes that bypass the page cache (O_DIRECT): the kernel then moves the bytes from this
// memory itself, and asks that its address, the file offset and the length be multiples of the device's block size.
// JavaScript gives no address of a Buffer; a WebAssembly.Memory's is a multiple of its 64 KiB page.

/** Alignment of alignedBuffers' memory, and the unit of every write that bypasses the page cache (bytes). */
export const DIRECT_ALIGN = 4096;

const aligned = new WeakSet<ArrayBufferLike>();
/** Buffers handed back by releaseAligned, by length: given out again before any new memory. */
const spare = new Map<number, Buffer[]>();

/** Bytes handed out by alignedBuffers and not yet released, in this process. */
let inUse = 0;

/**
 * `count` Buffers of `size` bytes each (a multiple of DIRECT_ALIGN, all of them together up to 4 GiB), each starting
 * on a DIRECT_ALIGN boundary of memory, for isAligned: those releaseAligned handed back first, the rest cut from one
 * new WebAssembly.Memory. Each Memory reserves address space (guard regions of about 10 GiB) until V8 collects it, so
 * one is made per call, never one per Buffer. Null, and nothing taken, when that would put more than `budget` bytes
 * in use in this process at once (downloads running side by side share it), or when the reservation is refused
 * (a `ulimit -v`): the caller then writes through the page cache. The memory stays with the process once made.
 */
export function alignedBuffers(count: number, size: number, budget: number): Buffer[] | null {
  if (inUse + count * size > budget) return null;
  const kept = spare.get(size) ?? [];
  const out = kept.splice(Math.max(0, kept.length - count));
  const need = count - out.length;
  if (need > 0) {
    let mem: WebAssembly.Memory;
    try {
      mem = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil((need * size) / 65536)) });
    } catch {
      kept.push(...out);
      spare.set(size, kept);
      return null;
    }
    aligned.add(mem.buffer);
    for (let i = 0; i < need; i++) out.push(Buffer.from(mem.buffer, i * size, size));
  }
  inUse += count * size;
  return out;
}

/** Hands Buffers from alignedBuffers back, to be given out again. The caller has no write from them in flight. */
export function releaseAligned(buffers: Buffer[]): void {
  for (const b of buffers) {
    if (!aligned.has(b.buffer)) continue;
    inUse -= b.length;
    const list = spare.get(b.length) ?? [];
    list.push(b);
    spare.set(b.length, list);
  }
}

/** Whether `data` starts on a DIRECT_ALIGN boundary of memory (it lies in an alignedBuffers Buffer at such an offset). */
export function isAligned(data: Uint8Array): boolean {
  return aligned.has(data.buffer) && data.byteOffset % DIRECT_ALIGN === 0;
}
