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

/**
 * A name made into a valid description: every UTF-16 code unit outside printable ASCII as \uXXXX (a character
 * beyond U+FFFF as its surrogate pair, as JSON writes it: four hex digits each, never ambiguous), and a space at
 * either end as \u0020 (a request header cannot carry one there), cut to 1024 characters between characters
 * (never inside an escape or a surrogate pair; a space the cut leaves at the end is escaped too).
 * unescapeDescription undoes it.
 */
export function escapeDescription(name: string): string {
  const esc = (c: string) => Array.from({ length: c.length }, (_, i) => `\\u${c.charCodeAt(i).toString(16).padStart(4, '0')}`).join('');
  // One token a character: a surrogate pair is one token, so that no cut splits it.
  const tokens = [...name].map((c) => (c.length === 1 && c >= '\x20' && c <= '\x7e' ? c : esc(c)));
  const lead = /^ */.exec(name)![0].length;
  for (let i = 0; i < lead; i++) tokens[i] = esc(' ');
  let end = tokens.length;
  for (;;) {
    let out = tokens.slice(0, end).join('');
    const trail = /[ ]*$/.exec(out)![0].length;
    out = out.slice(0, out.length - trail) + esc(' ').repeat(trail);
    if (out.length <= 1024) return out;
    end--;
  }
}

/**
 * escapeDescription undone: each \uXXXX (four hex digits, either case) is its character, a surrogate pair one
 * character. An escape escapeDescription never writes stays as written: of printable ASCII (written as itself),
 * of NUL (no file name holds one), or a lone surrogate; the one exception is \u0020 at the very start or end of
 * the description (a run of them there), where no literal space can be: a space of the name's edge. A description
 * written by an older glacier-put, whose characters beyond U+FFFF were escaped as five or six digits, decodes to
 * the character of its first four digits followed by the rest.
 */
export function unescapeDescription(d: string): string {
  const lead = /^(?:\\u0020)*/.exec(d)![0];
  const trail = /(?:\\u0020)*$/.exec(d.slice(lead.length))![0];
  const middle = d.slice(lead.length, d.length - trail.length);
  const decoded = middle.replace(/\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})|\\u([0-9a-fA-F]{4})/g, (m, hi?: string, lo?: string, one?: string) => {
    if (hi && lo) return String.fromCharCode(parseInt(hi, 16), parseInt(lo, 16));
    const c = parseInt(one!, 16);
    if (c === 0 || (c >= 0x20 && c <= 0x7e) || (c >= 0xd800 && c <= 0xdfff)) return m;
    return String.fromCharCode(c);
  });
  return ' '.repeat(lead.length / 6) + decoded + ' '.repeat(trail.length / 6);
}
