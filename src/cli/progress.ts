// Progress on stderr: one line rewritten in place, at most four times a second.
import { formatBytes } from '../core/units.js';

export class Progress {
  private done = 0;
  private last = 0;
  private readonly start = Date.now();

  constructor(
    private readonly name: string,
    private readonly enabled: boolean,
    private total?: number,
    private readonly verb = 'sent',
  ) {}

  setTotal(total: number | undefined): void {
    this.total = total;
  }

  add(bytes: number): void {
    this.done += bytes;
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 250) return;
    this.last = now;
    this.draw(now);
  }

  private draw(now: number): void {
    const secs = Math.max((now - this.start) / 1000, 0.001);
    const pct = this.total ? ` ${((100 * this.done) / this.total).toFixed(1)}% of ${formatBytes(this.total)}` : '';
    process.stderr.write(`\r${this.name}: ${formatBytes(this.done)} ${this.verb}${pct}, ${formatBytes(this.done / secs)}/s   `);
  }

  finish(): void {
    if (!this.enabled) return;
    this.draw(Date.now());
    process.stderr.write('\n');
  }
}
