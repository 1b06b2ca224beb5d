// A fixed set of part-sized buffers in shared memory. Readers wait for a free buffer, so however fast the
// input and however slow the network, memory stays at count × size.
export class BufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((b: Buffer) => void)[] = [];
  private created = 0;

  constructor(
    readonly size: number,
    readonly count: number,
  ) {}

  async acquire(): Promise<Buffer> {
    const b = this.free.pop();
    if (b) return b;
    if (this.created < this.count) {
      this.created++;
      return Buffer.from(new SharedArrayBuffer(this.size));
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(b: Buffer): void {
    const w = this.waiting.shift();
    if (w) w(b);
    else this.free.push(b);
  }
}
