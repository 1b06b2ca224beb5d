// Aligned columns for a listing shown on a terminal; a pipe gets JSON lines instead.
export interface Column<T> {
  title: string;
  value: (row: T) => string | number | null | undefined;
  right?: boolean;
}

// Text from the service goes to a terminal: an escape sequence in it must not be able to drive the terminal.
const clean = (v: string | number | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v).replace(/[\x00-\x1f\x7f-\x9f]/g, '?'));

export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => clean(c.value(r))));
  const widths = columns.map((c) => c.title.length);
  for (const row of cells) row.forEach((v, i) => (widths[i] = Math.max(widths[i], v.length)));
  const line = (vals: string[]) => vals.map((v, i) => (columns[i].right ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return `${[line(columns.map((c) => c.title)), ...cells.map(line)].join('\n')}\n`;
}

/** 2026-11-27T18:44:48.585Z -> 2026-11-27 18:44:48Z: a date a reader takes in at a glance. */
export const shortDate = (iso: string | null | undefined): string | undefined => iso?.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
