// --help and --version without loading the binary: a binary's module loads the AWS SDK, the proxy agents and the
// hash pool (about 0.3 s on a 2-core machine), none of which a help text needs. The build renders every binary's
// --help into dist/help/NAME.txt (src/cli/help-texts.ts); this module, which imports nothing of ours, prints it.
// A text older than the binary's own module (a build that did not render it) is not trusted: the binary loads
// and answers itself, as it always could.
import { readFileSync, statSync } from 'node:fs';

const DIST = new URL('../../', import.meta.url);

/**
 * Whether `args` (argv after the binary's name) ask for --help / -h or --version before any `--`, in a place
 * where the word cannot be an option's value (first, or after a word that is not an option): `-d --help` is left
 * to the binary's parser, which says that -d needs a value.
 */
export function asksFor(args: readonly string[]): 'help' | 'version' | undefined {
  const end = args.indexOf('--');
  const words = end < 0 ? args : args.slice(0, end);
  const standalone = (i: number) => i === 0 || !words[i - 1].startsWith('-') || words[i - 1] === '-' || words[i - 1].includes('=');
  const help = words.findIndex((w, i) => (w === '--help' || w === '-h') && standalone(i));
  if (help >= 0) return 'help';
  const version = words.findIndex((w, i) => w === '--version' && standalone(i));
  return version >= 0 ? 'version' : undefined;
}

function mtime(url: URL): number {
  return statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? Infinity;
}

/**
 * Answers --help or --version for binary `name` (e.g. glacier-put, whose module is dist/src/`module`) from the
 * rendered text and package.json, and returns true; returns false when the binary must answer itself (nothing
 * asked, or no rendered text as new as its module and the shared CLI modules).
 */
export function answerFast(name: string, module: string, args: readonly string[] = process.argv.slice(2)): boolean {
  const asked = asksFor(args);
  if (!asked) return false;
  if (asked === 'version') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', DIST), 'utf8')) as { version: string };
    process.stdout.write(`${name} ${pkg.version}\n`);
    return true;
  }
  const text = new URL(`help/${name}.txt`, DIST);
  const rendered = statSync(text, { throwIfNoEntry: false })?.mtimeMs ?? -Infinity;
  const sources = [`src/${module}`, 'src/cli/common.js', 'src/cli/runtime.js'].map((m) => mtime(new URL(m, DIST)));
  if (sources.some((t) => t > rendered)) return false;
  process.stdout.write(readFileSync(text));
  return true;
}
