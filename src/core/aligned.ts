// Page-aligned memory, for writes that bypass the page cache (O_DIRECT): the kernel then moves the bytes from this
// memory itself, and asks that its address, the file offset and the length be multiples of the device's block size.
// JavaScript gives no address of a Buffer; a WebAssembly.Memory's is a multiple of its 64 KiB page.

/** Alignment of alignedBuffer's memory, and the unit of every write that bypasses the page cache (bytes). */
export const DIRECT_ALIGN = 4096;

const aligned = new WeakSet<ArrayBufferLike>();
const spare = new Map<number, Buffer[]>();

/**
 * A Buffer of `size` bytes whose first byte sits on a 64 KiB boundary of memory (a WebAssembly.Memory), for
 * isAligned. Buffers handed back by releaseAligned are given out again first: each Memory reserves address space
 * V8 frees only when it collects it. Throws RangeError beyond 4 GiB.
 */
export function alignedBuffer(size: number): Buffer {
  const kept = spare.get(size)?.pop();
  if (kept) return kept;
  const mem = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(size / 65536)) });
  aligned.add(mem.buffer);
  return Buffer.from(mem.buffer, 0, size);
}

/** Hands a Buffer from alignedBuffer back for another to use; other Buffers are ignored. */
export function releaseAligned(b: Buffer): void {
  if (!aligned.has(b.buffer) || b.byteOffset !== 0) return;
  const list = spare.get(b.length) ?? [];
  if (list.length < 16) list.push(b);
  spare.set(b.length, list);
}

/** Whether `data` starts on a DIRECT_ALIGN boundary of memory (it lies in an alignedBuffer at such an offset). */
export function isAligned(data: Uint8Array): boolean {
  return aligned.has(data.buffer) && data.byteOffset % DIRECT_ALIGN === 0;
}
