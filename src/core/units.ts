// Human sizes and durations, one parser for every binary (SPEC "Sizes" and "Durations").
import { UsageError } from './errors.js';

const SIZE_UNITS: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** What a size option's error message says it accepts. */
export const SIZE_FORMS = 'a size like 64 (MiB), 8M, 64MiB, 2G, 1T, or 512K / 4096B for smaller';

/**
 * Parses a size: `8M`, `64MiB`, `2G`, `1T`, `512K`, `4096B` (binary units, case-insensitive, an optional `iB`/`B`
 * after the letter). A bare number is MiB, as the seed script's `-p 8` and mt-aws-glacier's `--partsize` mean it,
 * so `-p 64` is 64 MiB and never 64 bytes. Returns bytes (a safe integer), or NaN when the text is not a size.
 */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|(b))?\s*$/i.exec(String(text));
  if (!m) return NaN;
  const unit = m[3] ? 'b' : (m[2] ?? 'm').toLowerCase();
  const n = Number(m[1]) * SIZE_UNITS[unit];
  return Number.isSafeInteger(n) ? n : NaN;
}

/**
 * A size option's value, in bytes. Throws UsageError (exit 2) naming the option and the accepted forms when the
 * value is not a size or is not above zero.
 */
export function sizeArg(option: string, value: unknown): number {
  const n = parseSize(String(value));
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`invalid ${option} "${value}": use ${SIZE_FORMS}`);
  return n;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** What a duration option's error message says it accepts. */
export const DURATION_FORMS = 'a number with a unit: w, d, h, m, s or ms, alone or combined, as in 30s, 15m, 4h, 1d12h, 1w';

/**
 * Parses a duration: one or more number-unit pairs, units `w`, `d`, `h`, `m`, `s`, `ms` (`30s`, `1h30m`, `1d12h`,
 * `1w`). A bare number is refused (NaN), since `--older-than 24` could be hours or seconds and the wrong guess
 * aborts uploads still running; only `0` is accepted bare, as it reads the same in every unit.
 * Returns milliseconds, or NaN when the text is not a duration.
 */
export function parseDuration(text: string): number {
  const s = String(text).trim().toLowerCase();
  if (/^0+(\.0+)?$/.test(s)) return 0;
  if (!/^(\d+(\.\d+)?(ms|w|d|h|m|s))+$/.test(s)) return NaN;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d+)?)(ms|w|d|h|m|s)/g)) ms += Number(n) * DURATION_UNITS[unit];
  return Number.isFinite(ms) ? Math.round(ms) : NaN;
}

/**
 * A duration option's value, in milliseconds. Throws UsageError (exit 2) naming the option and the units when the
 * value is not a duration (a bare number included), or is zero while `positive` is asked for. With `age` (an
 * age that picks archives or uploads to delete or abort) an uppercase `M` unit is refused: units are otherwise
 * case-insensitive, and `1M` read as one minute where a month was meant would pick everything.
 */
export function durationArg(option: string, value: unknown, opts: { positive?: boolean; age?: boolean } = {}): number {
  // An age that picks what is deleted or aborted: `1M` (a month, to many) must not quietly mean one minute.
  if (opts.age && /\dM(?!S)/.test(String(value))) {
    throw new UsageError(`invalid ${option} "${value}": M is ambiguous (month or minute); use m for minutes, d or w for days or weeks (35d, 5w)`);
  }
  const ms = parseDuration(String(value));
  if (!Number.isFinite(ms)) {
    const bare = /^\s*\d+(\.\d+)?\s*$/.test(String(value)) ? ' (a bare number has no unit)' : '';
    throw new UsageError(`invalid ${option} "${value}"${bare}: use ${DURATION_FORMS}`);
  }
  if (opts.positive && ms <= 0) throw new UsageError(`invalid ${option} "${value}": must be more than zero`);
  return ms;
}

/** `1536` → `1.50 KiB`: binary units, for progress lines and tables. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** Milliseconds as `1:05:09`, `4:09` or `0:07` (as progress bars show elapsed time and ETA); `--:--` when unknown. */
export function formatClock(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '--:--';
  const t = Math.round(ms / 1000);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const s = t % 60;
  const pad = (x: number) => String(x).padStart(2, '0');
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}
