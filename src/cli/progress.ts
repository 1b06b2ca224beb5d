// Progress on stderr. On a terminal: one line redrawn in place twice a second; elsewhere (--progress into a file or
// pipe): one line every 5 seconds, so a log keeps a readable trace.
//
// Own code rather than cli-progress: that package saves and restores the cursor around its bar, which puts the bar
// back over the warnings printed meanwhile once the screen has scrolled, and its ETA averages the last N updates
// rather than the last seconds, so it swings with the size of each read.
import { formatBytes, formatClock } from '../core/units.js';

/** How far back the rate looks: long enough to smooth bursts of reads, short enough to follow a slowing pipe. */
const RATE_WINDOW_MS = 5_000;
const TTY_REDRAW_MS = 500;
const LOG_EVERY_MS = 5_000;

interface Sample {
  t: number;
  done: number;
}

/** Where the line goes; stderr unless a test gives another stream. */
type Out = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };

/** A line redrawn on a timer until finish(); the base of the byte counter and of the job waiting line. */
abstract class Line {
  private timer?: NodeJS.Timeout;
  private drawn = false;
  protected readonly start = Date.now();

  constructor(
    protected readonly name: string,
    protected readonly enabled: boolean,
    protected readonly out: Out = process.stderr,
  ) {}

  protected abstract text(now: number): string;

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  /** Starts the timer on first use: a command that never gets going prints nothing. */
  protected kick(): void {
    if (!this.enabled || this.timer) return;
    this.draw();
    // unref: a line being drawn never keeps the process alive on its own.
    this.timer = setInterval(() => this.draw(), this.tty ? TTY_REDRAW_MS : LOG_EVERY_MS).unref();
  }

  protected draw(): void {
    const line = `${this.name}: ${this.text(Date.now())}`;
    // \x1b[K clears what a longer previous line left at the end.
    this.out.write(this.tty ? `\r${line}\x1b[K` : `${line}\n`);
    this.drawn = true;
  }

  /** Prints MESSAGE (a whole line, e.g. a warning) without tearing the progress line; it is redrawn after it. */
  log(message: string): void {
    if (this.enabled && this.tty && this.drawn) this.out.write('\r\x1b[K');
    this.out.write(message.endsWith('\n') ? message : `${message}\n`);
    if (this.enabled && this.timer && this.tty) this.draw();
  }

  /** Draws the last state and ends the line; call when the work is over (on errors too, before the message). */
  finish(): void {
    const started = this.timer !== undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    // A command that never got going (refused before reading) leaves no empty progress line behind.
    if (!this.enabled || !started) return;
    this.draw();
    if (this.tty) this.out.write('\n');
  }
}

/**
 * Bytes done of a total, the rate over the last 5 seconds, the elapsed time and the ETA, e.g.
 * `glacier-put: 42.0% of 1.00 GiB, 430.1 MiB sent at 4.02 MiB/s, elapsed 1:47, ETA 2:28`.
 * Without a total: `glacier-put: 430.1 MiB sent at 4.02 MiB/s, elapsed 1:47`.
 * Feed it bytes as they are READ from the source (not when a part completes), so the line moves at the pace of
 * the input. enabled: the caller's decision (`--progress`/`--no-progress`, else stderr is a terminal; never -q).
 */
export class Progress extends Line {
  private done = 0;
  private samples: Sample[] = [];

  constructor(
    name: string,
    enabled: boolean,
    private total?: number,
    private readonly verb = 'sent',
    out?: Out,
  ) {
    super(name, enabled, out);
  }

  /** The total in bytes, once known (e.g. after a scan); undefined for a pipe of unknown length. */
  setTotal(total: number | undefined): void {
    this.total = total;
  }

  /** BYTES more are done (read from the input). The first call starts the redraw timer. */
  add(bytes: number): void {
    this.done += bytes;
    this.kick();
  }

  /** Bytes per second over the last RATE_WINDOW_MS (since the start, in the first seconds). */
  rate(now = Date.now()): number {
    if (this.samples.length === 0) this.samples.push({ t: this.start, done: 0 });
    this.samples.push({ t: now, done: this.done });
    // Keep the last sample at or before the window's start, so the rate spans the whole window.
    while (this.samples.length > 2 && this.samples[1].t <= now - RATE_WINDOW_MS) this.samples.shift();
    const from = this.samples[0];
    const secs = (now - from.t) / 1000;
    return secs > 0 ? (this.done - from.done) / secs : 0;
  }

  protected text(now: number): string {
    const rate = this.rate(now);
    const elapsed = formatClock(now - this.start);
    const moved = `${formatBytes(this.done)} ${this.verb} at ${formatBytes(rate)}/s, elapsed ${elapsed}`;
    if (!this.total) return moved;
    const left = Math.max(this.total - this.done, 0);
    const eta = left === 0 ? formatClock(0) : rate > 0 ? formatClock((1000 * left) / rate) : '--:--';
    return `${((100 * Math.min(this.done, this.total)) / this.total).toFixed(1)}% of ${formatBytes(this.total)}, ${moved}, ETA ${eta}`;
  }
}

/**
 * The line of a command that polls a job: `glacier-job: job 4Lfl…: InProgress, waiting 2:14`, redrawn while it
 * waits (the elapsed time moves) and updated with each poll's status.
 */
export class WaitLine extends Line {
  private status = 'starting';

  constructor(
    name: string,
    enabled: boolean,
    private readonly what: string,
    out?: Out,
  ) {
    super(name, enabled, out);
  }

  /** The status the last poll returned (e.g. `InProgress`, `Succeeded`); starts the redraw timer. */
  update(status: string): void {
    this.status = status;
    this.kick();
    if (this.enabled && this.out.isTTY) this.draw();
  }

  protected text(now: number): string {
    return `${this.what}: ${this.status}, waiting ${formatClock(now - this.start)}`;
  }
}
