// --files-from FILE: the PATHs to pack, read from a list as GNU tar's -T/--files-from reads it (one a line, or
// NUL-terminated with --null, so `find ... -print0 | glacier-pack --null --files-from -` takes any name).
import type { Readable } from 'node:stream';
import type { Problem } from './walk.js';

export interface NameListOptions {
  /** --null: names end with NUL rather than newline (a newline is then part of a name). */
  nul: boolean;
  /** How the list is named in warnings: the FILE, or 'stdin'. */
  source: string;
  /** A name that cannot be used (not UTF-8) is reported here with status 2 and left out, as a walk does. */
  problem(p: Problem): void;
}

/**
 * Reads every name of a list (a file's stream or stdin) and returns them in order. Empty names (blank lines, or
 * the empty item after a final terminator) are skipped, as GNU tar skips them. Names are bytes on disk but paths
 * are strings in Node: a name that is not valid UTF-8 could not be opened, so it is reported, not packed.
 * Throws whatever reading the stream throws (the caller maps a missing FILE to a usage error).
 */
export async function readNameList(input: Readable, o: NameListOptions): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of input) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  const all = Buffer.concat(chunks);
  const sep = o.nul ? 0 : 0x0a;
  const names: string[] = [];
  let at = 0;
  let line = 0;
  while (at <= all.length) {
    let end = all.indexOf(sep, at);
    if (end < 0) end = all.length;
    line++;
    const raw = all.subarray(at, end);
    at = end + 1;
    if (raw.length === 0) continue;
    const name = raw.toString('utf8');
    if (!Buffer.from(name, 'utf8').equals(raw)) {
      o.problem({ path: `${o.source}, ${o.nul ? 'item' : 'line'} ${line}`, message: 'name is not valid UTF-8; not dumped', status: 2 });
      continue;
    }
    names.push(name);
  }
  return names;
}
