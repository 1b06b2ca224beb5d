// The name an archive's description gives it: decoded from the descriptions known clients write and made safe to
// use under a folder or an S3 prefix. One decoder for glacier-restore and the "Name" of `glacier-job output
// --archives` lines (de-duplication is glacier-restore's: restore/names.ts).
import { createHash } from 'node:crypto';
import { unescapeDescription } from './description.js';

export interface Decoded {
  /** The path the description names (may still be hostile: see safeName), or null when it names none. */
  path: string | null;
  mtime?: Date;
  /** Which client wrote it: mt1, mt2, fastglacier, cloudberry-xml, cloudberry-json, plain, none. */
  format: string;
  /**
   * `\` separates folders (paths written by Windows clients: FastGlacier, CloudBerry, a plain description that is a
   * Windows path); false for mt-aws-glacier (a Unix client) and other plain descriptions (glacier-put's file names).
   */
  backslashSeparates: boolean;
  /** How the client transformed the bytes before upload ("compressed", "encrypted", "compressed+encrypted"). */
  encoding?: string;
  /** The description carries a modification time that is not a valid one (or none, where its client always writes one). */
  badTime?: boolean;
}

/**
 * A path as Windows writes it: from a drive (`C:\`, `C:/`, `C:` alone), a UNC path (`\\server\share`), or relative
 * from `.\` or `..\` (whose `..` are then dropped as any path's are: see safeName).
 */
const WINDOWS_PATH = /^(?:[A-Za-z]:(?:[\\/]|$)|\\\\|\.\.?\\)/;

const b64 = (s: string) => Buffer.from(s.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64');

/**
 * mt-aws-glacier and FastGlacier write times as 20130228T163008Z (mt-aws-glacier: years 1000 to 9999, before 1970
 * included); others write ISO 8601 or RFC 1123. Returns undefined for text that is no time: a field out of its
 * range (month 13, 31 February, hour 25) is no time, never carried over into the next. `strict`: only the
 * YYYYMMDDTHHMMSSZ form mt-aws-glacier writes (its own parser's rule), years 1000 to 9999.
 */
export function parseTime(text: string | undefined, strict = false): Date | undefined {
  if (!text) return undefined;
  const m = (strict ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/ : /^\s*(\d{4})-?(\d{2})-?(\d{2})\s*T\s*(\d{2}):?(\d{2}):?(\d{2})(?:[.,]\d+)?\s*Z\s*$/i).exec(text);
  let d: Date;
  if (m) {
    const [y, mo, day, h, mi, sec] = m.slice(1).map(Number);
    if (strict && (y < 1000 || y > 9999)) return undefined;
    d = new Date(0);
    d.setUTCFullYear(y, mo - 1, day); // setUTCFullYear, not Date.UTC: years 0-99 are not 1900-1999
    d.setUTCHours(h, mi, Math.min(sec, 59), 0); // a leap second (:60) is the second before
    if (d.getUTCFullYear() !== y || d.getUTCMonth() !== mo - 1 || d.getUTCDate() !== day || h > 23 || mi > 59 || sec > 60) return undefined;
  } else if (strict) return undefined;
  else d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function xmlText(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}

function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m ? xmlText(m[1]) : undefined;
}

/** Base64 that decodes to valid, printable UTF-8, or undefined (then the text is taken as it is). */
function utf8FromBase64(s: string): string | undefined {
  if (!/^[A-Za-z0-9+/=_-]+$/.test(s.trim()) || s.trim().length % 4 === 1) return undefined;
  const text = new TextDecoder('utf-8', { fatal: false }).decode(b64(s));
  return text.includes('\uFFFD') ? undefined : text;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/**
 * UTF-7 (RFC 2152), as CloudBerry writes the paths of its JSON descriptions: `+` starts modified base64 of UTF-16
 * code units, ended by `-` (consumed) or any other character; `+-` is `+`. `C:+AFw-Fotos+AFw-Caf+AOk-.jpg` is
 * `C:\Fotos\Café.jpg`. Returns undefined when the text is not valid UTF-7.
 */
export function decodeUtf7(s: string): string | undefined {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '+') {
      out += s[i];
      continue;
    }
    if (s[i + 1] === '-') {
      out += '+';
      i++;
      continue;
    }
    let bits = 0;
    let acc = 0;
    let j = i + 1;
    const units: number[] = [];
    for (; j < s.length && B64.includes(s[j]); j++) {
      acc = (acc << 6) | B64.indexOf(s[j]);
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        units.push((acc >> bits) & 0xffff);
        acc &= (1 << bits) - 1;
      }
    }
    if (j === i + 1 || acc !== 0) return undefined; // an empty shift, or bits left that are not zero padding
    out += String.fromCharCode(...units);
    i = s[j] === '-' ? j : j - 1;
  }
  return out;
}

/** FastGlacier's `<ce>compressed:encrypted:...</ce>` and CloudBerry's Flags (1 compressed, 2 encrypted). */
function encodingOf(compressed: boolean, encrypted: boolean): string | undefined {
  return [compressed && 'compressed', encrypted && 'encrypted'].filter(Boolean).join('+') || undefined;
}

/**
 * Decodes an archive description. Forms, from the clients' own specifications and parsers:
 * - mt-aws-glacier: `mt2 BASE64URL(JSON {"filename","mtime"})`; `mt1` is the same JSON encoded to UTF-8 twice.
 *   `\` is a character of the name (mt-aws-glacier runs on Unix), mtimes may be before 1970.
 * - FastGlacier 2-4: `<m><v>N</v><p>BASE64(UTF-8 path)</p><lm>20130228T163008Z</lm>` and, from v3,
 *   `<ce>COMPRESSED:ENCRYPTED:MD5[:SIZE]</ce></m>` (flags "1" or "0": the archive holds FastGlacier's compressed
 *   or encrypted form of the file).
 * - FastGlacier 1 / CloudBerry XML: `<ArchiveMetadata><Path>PATH or BASE64</Path>...</ArchiveMetadata>`.
 * - CloudBerry JSON: `{"Path": UTF-7 path, "UTCDateModified": "20130228T163008Z", "Flags": 1 compressed | 2
 *   encrypted}`, sometimes as a JSON string holding that JSON.
 * - anything else is the name itself (glacier-put's default description is the file's base name, its characters
 *   outside printable ASCII as \uXXXX: decoded, see unescapeDescription). `\` is then a
 *   character of the name (a Unix file name may hold one), unless the description is a Windows path, the form
 *   Windows clients write (from a drive `C:\` or `C:/`, a UNC `\\server\`, or `.\` or `..\`): then it separates folders.
 */
export function decodeDescription(description: string | undefined | null): Decoded {
  const d = (description ?? '').trim();
  if (!d) return { path: null, format: 'none', backslashSeparates: false };
  const mt = /^(mt[12]) +([A-Za-z0-9_-]+)$/.exec(d);
  if (mt) {
    try {
      let json = b64(mt[2]).toString('utf8');
      if (mt[1] === 'mt1') json = Buffer.from(json, 'latin1').toString('utf8');
      const h = JSON.parse(json) as { filename?: unknown; mtime?: unknown };
      if (typeof h.filename === 'string') {
        // mt-aws-glacier always writes mtime, as YYYYMMDDTHHMMSSZ: anything else is refused, not guessed at.
        const mtime = typeof h.mtime === 'string' ? parseTime(h.mtime, true) : undefined;
        return { path: h.filename, mtime, format: mt[1], backslashSeparates: false, ...(mtime ? {} : { badTime: true }) };
      }
    } catch {
      // not mt-aws-glacier's after all: the description is a plain name
    }
  }
  if (/<m>[\s\S]*<\/m>/.test(d)) {
    const p = tag(d, 'p');
    if (p !== undefined) {
      const ce = /^\s*([01])\s*:\s*([01])\b/.exec(tag(d, 'ce') ?? '');
      return { path: utf8FromBase64(p) ?? p, mtime: parseTime(tag(d, 'lm')), format: 'fastglacier', backslashSeparates: true, encoding: ce ? encodingOf(ce[1] === '1', ce[2] === '1') : undefined };
    }
  }
  if (/<ArchiveMetadata>[\s\S]*<\/ArchiveMetadata>/.test(d)) {
    const p = tag(d, 'Path') ?? tag(d, 'FileName');
    if (p !== undefined) {
      const t = tag(d, 'LastModified') ?? tag(d, 'UTCDateModified') ?? tag(d, 'lm') ?? tag(d, 'ModifiedDate');
      return { path: utf8FromBase64(p) ?? p, mtime: parseTime(t), format: 'cloudberry-xml', backslashSeparates: true };
    }
  }
  if (/^("\s*)?\{[\s\S]*\}\s*"?$/.test(d)) {
    try {
      let v: unknown = JSON.parse(d);
      if (typeof v === 'string') v = JSON.parse(v);
      const o = v as Record<string, unknown>;
      const p = o?.Path ?? o?.path ?? o?.FileName ?? o?.filename;
      if (typeof p === 'string') {
        const t = o.UTCDateModified ?? o.LastModified ?? o.mtime ?? o.ModifiedDate;
        const flags = Number(o.Flags ?? 0) | 0;
        return {
          path: decodeUtf7(p) ?? p,
          mtime: parseTime(typeof t === 'string' ? t : undefined),
          format: 'cloudberry-json',
          backslashSeparates: true,
          encoding: encodingOf((flags & 1) !== 0, (flags & 2) !== 0),
        };
      }
    } catch {
      // a plain name that happens to start with {
    }
  }
  // glacier-put's default description is the file's name with \uXXXX escapes (escapeDescription): undone, except
  // in a Windows path, where `\u` begins a folder's name (C:\users).
  const windows = WINDOWS_PATH.test(d);
  return { path: windows ? d : unescapeDescription(d), format: 'plain', backslashSeparates: windows };
}

/** bytes: NAME_MAX, the longest name of one path component on Linux and macOS. */
export const SEGMENT_MAX = 255;
const PATH_MAX = 1000; // bytes: S3 keys are at most 1024, with room for a prefix and a suffix
/** Extensions up to this many bytes are kept when a name is shortened. */
const EXT_MAX = 32;

export function shortHash(s: string, n = 8): string {
  return createHash('sha256').update(s).digest('base64url').slice(0, n);
}

/** Cuts a string to at most `max` UTF-8 bytes without splitting a character. */
function cutBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

/** `photo.jpg` → [`photo`, `.jpg`]; no extension for dot files, or one longer than EXT_MAX bytes. */
export function splitExt(base: string): [string, string] {
  const dot = base.lastIndexOf('.');
  if (dot <= 0 || Buffer.byteLength(base.slice(dot)) > EXT_MAX || /\s/.test(base.slice(dot))) return [base, ''];
  return [base.slice(0, dot), base.slice(dot)];
}

/**
 * Like splitExt, with every extension a name carries: `backup.tar.gz` → [`backup`, `.tar.gz`]. Before the last
 * extension, short alphanumeric ones (at most 10 characters each: `.tar`, `.7z`, `.001`) are taken while the whole
 * stays within EXT_MAX bytes and a stem is left.
 */
export function splitExts(base: string): [string, string] {
  let [stem, ext] = splitExt(base);
  if (!ext) return [stem, ext];
  for (;;) {
    const m = /\.[A-Za-z0-9]{1,10}$/.exec(stem);
    if (!m || m.index === 0 || Buffer.byteLength(m[0] + ext) > EXT_MAX) return [stem, ext];
    stem = stem.slice(0, m.index);
    ext = m[0] + ext;
  }
}

/** `stem` + `~tag` + `ext` in at most SEGMENT_MAX bytes: the stem is cut, the tag and the extension kept. */
export function fit(stem: string, tag: string, ext: string): string {
  return `${cutBytes(stem, SEGMENT_MAX - Buffer.byteLength(`~${tag}${ext}`))}~${tag}${ext}`;
}

/**
 * `base` with `~tag` before its extension, in at most SEGMENT_MAX bytes (`photo.jpg` → `photo~tag.jpg`). When
 * the stem must be cut to fit, every extension is kept (`x….tar.gz` → `x…~tag.tar.gz`, not `x….ta~tag.gz`).
 */
export function withTag(base: string, tag: string): string {
  const [stem, ext] = splitExt(base);
  const plain = `${stem}~${tag}${ext}`;
  if (Buffer.byteLength(plain) <= SEGMENT_MAX) return plain;
  const [stem2, ext2] = splitExts(base);
  return fit(stem2, tag, ext2);
}

/**
 * Characters no restored name keeps (each becomes `_`): C0 controls and NUL, DEL, C1 controls (U+0080-U+009F, such
 * as U+0085 NEXT LINE and U+009B, a terminal's CSI), and the bidirectional embeddings, overrides and isolates
 * (U+202A-U+202E, U+2066-U+2069), which make a name display otherwise than it is (`x\u202Etxt.exe` shows as
 * `xexe.txt`).
 */
const UNSAFE_CHARS = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A name of our own files beside a download (`*.partial`, `*.partial.json`, `*.partial.json.tmp`, `*.partial.lock`,
 * `.glacier-restore-*`), compared as a case-insensitive folder (macOS, SMB, FAT) compares names: in any case, and
 * with letters that fold to these (`ſ` to `s`, `ı` to `i`, compatibility forms) taken as them.
 */
function reserved(s: string): boolean {
  const f = s.normalize('NFKC').toUpperCase().toLowerCase();
  return /\.partial(\.json(\.tmp)?|\.lock)?$/.test(f) || f.startsWith('.glacier-restore-');
}

/**
 * A relative path that cannot leave the folder or prefix it is joined to: `\` is a separator only when
 * `backslashSeparates` (paths of Windows clients; a drive `C:` becomes the folder `C`), empty, blank, `.` and `..`
 * segments are dropped, NUL, control characters (C0, DEL, C1) and bidirectional overrides and isolates become `_`
 * (UNSAFE_CHARS), each segment is at most 255 bytes (NAME_MAX; a shortened one keeps its extension and gets `~` and
 * a hash of what was cut) and the whole at most 1000. Names our own files use beside a download (`*.partial`,
 * `*.partial.json`, `*.partial.json.tmp`, `*.partial.lock`, `.glacier-restore-*`), in any case (see reserved), get
 * a `_`, so that no download takes another archive's file for its own. Spaces at a segment's edges are kept.
 * Returns null when nothing is left.
 */
export function safeName(path: string, o: { backslashSeparates?: boolean } = {}): string | null {
  let p = o.backslashSeparates === false ? path : path.replace(/\\/g, '/');
  if (o.backslashSeparates !== false) p = p.replace(/^([A-Za-z]):(\/|$)/, '$1/');
  const segs = p
    .split('/')
    .map((s) => s.replace(UNSAFE_CHARS, '_'))
    .filter((s) => s.trim() !== '' && s !== '.' && s !== '..')
    .map((s) => (reserved(s) ? `${s}_` : s))
    .map((s) => {
      if (Buffer.byteLength(s) <= SEGMENT_MAX) return s;
      const [stem, ext] = splitExts(s);
      return fit(stem, shortHash(s), ext);
    });
  if (!segs.length) return null;
  let joined = segs.join('/');
  if (Buffer.byteLength(joined) > PATH_MAX) joined = `${cutBytes(joined, PATH_MAX - 10)}~${shortHash(joined)}`.replace(/\/~/, '/_~');
  return joined;
}

/** The name an archive gets before de-duplication, and what else its description says. */
export interface BaseName {
  /** A safe relative path (see safeName); for a folder marker, the folder. */
  name: string;
  /** The description names a folder (`photos/`): the archive is a folder marker. */
  folder: boolean;
  mtime?: Date;
  /** The description's modification time is not a valid one (see Decoded.badTime). */
  badTime?: boolean;
  format: string;
  encoding?: string;
}

/**
 * The name glacier-restore gives an archive before de-duplication: `override` (--names), else the decoded
 * description, else (nothing usable left, e.g. a blank path) the archive id. A path ending in `/` (or `\` in a
 * Windows client's path) is a folder marker: `name` is the folder. This is the `Name` of `glacier-job output
 * --archives` lines (with a trailing `/` for a folder marker).
 */
export function baseName(archiveId: string, description: string | undefined | null, override?: string): BaseName {
  const decoded: Decoded = override !== undefined ? { path: override, format: 'names-file', backslashSeparates: false } : decodeDescription(description);
  const path = decoded.path ?? '';
  const folder = (decoded.backslashSeparates ? /[/\\]\s*$/ : /\/\s*$/).test(path);
  const safe = safeName(path, { backslashSeparates: decoded.backslashSeparates });
  return { name: safe ?? safeName(archiveId) ?? 'archive', folder: folder && safe !== null, mtime: decoded.mtime, ...(decoded.badTime ? { badTime: true } : {}), format: decoded.format, encoding: decoded.encoding };
}

/** The `Name` field of an `--archives` line: baseName's, with `/` after a folder marker's folder. */
export function displayName(archiveId: string, description: string | undefined | null): string {
  const b = baseName(archiveId, description);
  return b.folder ? `${b.name}/` : b.name;
}

