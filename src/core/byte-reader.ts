// Pulls bytes from a stream on demand: whole lines (chunk-frame headers) or exactly n bytes into a buffer
// we own (parts). Chunks that straddle a boundary are split, never concatenated.
import type { Readable } from 'node:stream';

export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private head: Buffer = Buffer.alloc(0);
  private ended = false;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(source: Readable | AsyncIterable<Buffer>) {
    this.it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  }

  private async more(): Promise<boolean> {
    if (this.ended) return false;
    const r = await this.it.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    this.head = this.head.length ? Buffer.concat([this.head, r.value]) : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length);
    return true;
  }

  /** Up to n bytes from the front, without consuming them (fewer only at end of input). */
  async peek(n: number): Promise<Buffer> {
    while (this.head.length < n && (await this.more()));
    return this.head.subarray(0, n);
  }

  /** Fills dst[start, start+n) as far as the input allows; returns how many bytes were written. */
  async readInto(dst: Uint8Array, start: number, n: number): Promise<number> {
    let got = 0;
    while (got < n) {
      if (this.head.length === 0 && !(await this.more())) break;
      const take = Math.min(n - got, this.head.length);
      dst.set(this.head.subarray(0, take), start + got);
      this.head = this.head.subarray(take);
      got += take;
    }
    this.consumed += got;
    return got;
  }

  /** One line without its newline; null at end of input. Lines longer than `max` are an error. */
  async readLine(max = 65536): Promise<string | null> {
    for (;;) {
      const nl = this.head.indexOf(10);
      if (nl >= 0) {
        const line = this.head.subarray(0, nl).toString('utf8');
        this.head = this.head.subarray(nl + 1);
        this.consumed += nl + 1;
        return line;
      }
      if (this.head.length > max) throw new Error(`line longer than ${max} bytes`);
      if (!(await this.more())) {
        if (this.head.length === 0) return null;
        const line = this.head.toString('utf8');
        this.consumed += this.head.length;
        this.head = Buffer.alloc(0);
        return line;
      }
    }
  }


  async close(): Promise<void> {
    await this.it.return?.();
  }
}
