// The archive (and job) description rule, in one place: printable ASCII, at most 1024 characters (Glacier's
// limit); a FILE's default description is its base name with anything else escaped.

import { UsageError } from './errors.js';

/** Checks a description given by the user before any request. Throws UsageError naming the first bad character. */
export function checkDescription(d: string): string {
  if (d.length > 1024) throw new UsageError(`description is ${d.length} characters; at most 1024 are allowed`);
  const bad = [...d].find((c) => !/^[\x20-\x7e]$/.test(c));
  if (bad !== undefined) throw new UsageError(`description must be printable ASCII; it contains ${JSON.stringify(bad)} (U+${bad.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`);
  // HTTP drops a header value's outer spaces: Glacier would store another description than the one asked for.
  if (/^ | $/.test(d)) throw new UsageError(`description ${JSON.stringify(d)} begins or ends with a space, which the request header cannot carry; remove it`);
  return d;
}

/** A name made into a valid description: non-ASCII characters as \uXXXX, cut to 1024 characters. */
export function escapeDescription(name: string): string {
  return [...name].map((ch) => (/^[\x20-\x7e]$/.test(ch) ? ch : `\\u${ch.codePointAt(0)!.toString(16).padStart(4, '0')}`)).join('').slice(0, 1024);
}
