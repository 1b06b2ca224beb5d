// File names for archives: decoded from the descriptions known clients write, made safe to use under a folder
// or an S3 prefix, and made unique with a suffix derived from the archive id (so every host and every rerun
// picks the same name for the same input).
import { createHash } from 'node:crypto';

export interface Decoded {
  /** The path the description names (may still be hostile: see safeName), or null when it names none. */
  path: string | null;
  mtime?: Date;
  /** Which client wrote it: mt1, mt2, fastglacier, cloudberry-xml, cloudberry-json, plain, none. */
  format: string;
}

const b64 = (s: string) => Buffer.from(s.trim().replace(/-/g, '+').replace(/_/g, '/'), 'base64');

/** mt-aws-glacier and FastGlacier write times as 20130228T163008Z; others write ISO 8601 or RFC 1123. */
function parseTime(text: string | undefined): Date | undefined {
  if (!text) return undefined;
  const m = /^\s*(\d{4})-?(\d{2})-?(\d{2})\s*T\s*(\d{2}):?(\d{2}):?(\d{2})(?:[.,]\d+)?\s*Z\s*$/i.exec(text);
  const d = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : new Date(text);
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

/**
 * Decodes an archive description. Forms, from the clients' own specifications and parsers:
 * - mt-aws-glacier: `mt2 BASE64URL(JSON {"filename","mtime"})`; `mt1` is the same JSON encoded to UTF-8 twice.
 * - FastGlacier 2-4: `<m><v>N</v><p>BASE64(UTF-8 path)</p><lm>20130228T163008Z</lm></m>`.
 * - FastGlacier 1 / CloudBerry XML: `<ArchiveMetadata><Path>PATH or BASE64</Path>...</ArchiveMetadata>`.
 * - CloudBerry JSON: `{"Path": "...", "UTCDateModified": "..."}`, sometimes as a JSON string holding that JSON.
 * - anything else is the name itself (glacier-put's default description is the file's base name).
 */
export function decodeDescription(description: string | undefined | null): Decoded {
  const d = (description ?? '').trim();
  if (!d) return { path: null, format: 'none' };
  const mt = /^(mt[12]) +([A-Za-z0-9_-]+)$/.exec(d);
  if (mt) {
    try {
      let json = b64(mt[2]).toString('utf8');
      if (mt[1] === 'mt1') json = Buffer.from(json, 'latin1').toString('utf8');
      const h = JSON.parse(json) as { filename?: unknown; mtime?: unknown };
      if (typeof h.filename === 'string') return { path: h.filename, mtime: parseTime(String(h.mtime ?? '')), format: mt[1] };
    } catch {
      // not mt-aws-glacier's after all: the description is a plain name
    }
  }
  if (/<m>[\s\S]*<\/m>/.test(d)) {
    const p = tag(d, 'p');
    if (p !== undefined) return { path: utf8FromBase64(p) ?? p, mtime: parseTime(tag(d, 'lm')), format: 'fastglacier' };
  }
  if (/<ArchiveMetadata>[\s\S]*<\/ArchiveMetadata>/.test(d)) {
    const p = tag(d, 'Path') ?? tag(d, 'FileName');
    if (p !== undefined) {
      const t = tag(d, 'LastModified') ?? tag(d, 'UTCDateModified') ?? tag(d, 'lm') ?? tag(d, 'ModifiedDate');
      return { path: utf8FromBase64(p) ?? p, mtime: parseTime(t), format: 'cloudberry-xml' };
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
        return { path: p, mtime: parseTime(typeof t === 'string' ? t : undefined), format: 'cloudberry-json' };
      }
    } catch {
      // a plain name that happens to start with {
    }
  }
  return { path: d, format: 'plain' };
}

// bytes: NAME_MAX is 255 on Linux and macOS; room is left for a duplicate's ~suffix-N (up to 14 bytes) and for
// the longest name a download uses beside it, `.partial.json.tmp` (17).
const SEGMENT_MAX = 220;
const PATH_MAX = 1000; // bytes: S3 keys are at most 1024, with room for a prefix and a suffix

function shortHash(s: string, n = 8): string {
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

/**
 * A relative path that cannot leave the folder or prefix it is joined to: backslashes are separators, empty, `.`
 * and `..` segments are dropped, NUL and control characters become `_`, each segment is at most 220 bytes and
 * the whole at most 1000 (cut ones keep a hash of what was cut). Names our own files use beside a download
 * (`*.partial`, `*.partial.json`, `*.partial.json.tmp`, `*.partial.lock`) get a `_`, so that no download takes
 * another archive's file for its own (and removes it). Returns null when nothing is left.
 */
export function safeName(path: string): string | null {
  const segs = path
    .replace(/\\/g, '/')
    .split('/')
    .map((s) => s.replace(/[\x00-\x1f\x7f]/g, '_'))
    .filter((s) => s !== '' && s !== '.' && s !== '..')
    .map((s) => (Buffer.byteLength(s) > SEGMENT_MAX ? `${cutBytes(s, SEGMENT_MAX - 10)}~${shortHash(s)}` : s))
    .map((s) => (/\.partial(\.json(\.tmp)?|\.lock)?$/.test(s) ? `${s}_` : s));
  if (!segs.length) return null;
  let joined = segs.join('/');
  if (Buffer.byteLength(joined) > PATH_MAX) joined = `${cutBytes(joined, PATH_MAX - 10)}~${shortHash(joined)}`.replace(/\/~/, '/_~');
  return joined;
}

/** `photo.jpg` + `x1y2` → `photo~x1y2.jpg` (the suffix before the extension, so the type stays visible). */
function withSuffix(name: string, suffix: string): string {
  const slash = name.lastIndexOf('/');
  const base = name.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  return `${name.slice(0, slash + 1)}${stem}~${suffix}${ext}`;
}

/**
 * Gives each archive its name, in input order: `--names` override, else the decoded description, else the
 * archive id. A name already taken (or one whose folder is a file, or a file where a folder is) gets
 * `~` + 8 characters of the archive id's hash. Memory: 16 bytes of hash per name and folder seen.
 */
export class Namer {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();

  constructor(private readonly overrides: Map<string, string> = new Map()) {}

  name(archiveId: string, description: string | undefined): { name: string; mtime?: Date; format: string } {
    const override = this.overrides.get(archiveId);
    const decoded: Decoded = override !== undefined ? { path: override, format: 'names-file' } : decodeDescription(description);
    let name = (decoded.path !== null && safeName(decoded.path)) || safeName(archiveId) || 'archive';
    if (!this.free(name)) {
      const h = shortHash(archiveId);
      // A folder that is a file already cannot take a suffix away: then the path is flattened.
      const base = this.parentIsFile(name) ? name.replace(/\//g, '_') : name;
      name = withSuffix(base, h);
      for (let i = 2; !this.free(name); i++) name = withSuffix(base, `${h}-${i}`);
    }
    this.take(name);
    return { name, mtime: decoded.mtime, format: decoded.format };
  }

  private free(name: string): boolean {
    const k = shortHash(name, 16);
    if (this.files.has(k) || this.dirs.has(k)) return false;
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) if (this.files.has(shortHash(parts.slice(0, i).join('/'), 16))) return false;
    return true;
  }

  private parentIsFile(name: string): boolean {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) if (this.files.has(shortHash(parts.slice(0, i).join('/'), 16))) return true;
    return false;
  }

  private take(name: string): void {
    this.files.add(shortHash(name, 16));
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) this.dirs.add(shortHash(parts.slice(0, i).join('/'), 16));
  }
}
