// --exclude GLOB, applied the way GNU tar applies exclusions (unanchored): a pattern matches a member name or any
// tail of it that starts after a '/'. So `*.log` drops logs at every depth and `node_modules` drops every folder of
// that name (and, since an excluded folder is never entered, all it holds).
// Not path.matchesGlob: in Node 20 it prints an ExperimentalWarning on stderr.

/** `*` any run within one name, `**` any run across names, `?` one character, `[abc]`/`[!a-z]` classes, `\x` literal. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end === -1) {
        re += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`, 's');
}

const escape = (c: string) => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

export class Excluder {
  private readonly res: RegExp[];

  constructor(patterns: readonly string[]) {
    // A trailing '/' ("cache/") and a leading '/' or './' mean nothing to an unanchored match on member names.
    this.res = patterns.map((p) => globToRegExp(p.replace(/\/+$/, '').replace(/^(\.?\/)+/, '') || p));
  }

  get empty(): boolean {
    return this.res.length === 0;
  }

  /** True when `name` (a member name, '/'-separated, no trailing '/') or any of its '/'-tails matches a pattern. */
  matches(name: string): boolean {
    if (this.res.length === 0) return false;
    for (let tail = name; ; ) {
      if (this.res.some((re) => re.test(tail))) return true;
      const slash = tail.indexOf('/');
      if (slash === -1) return false;
      tail = tail.slice(slash + 1);
    }
  }
}
