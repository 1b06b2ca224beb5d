// Renders every binary's --help, at build time (`npm run build`), into dist/help/NAME.txt (which bin/NAME prints
// for --help without loading the binary: src/cli/fast.ts) and into a man page, man/NAME.1 (package.json "man", so
// `man glacier-put` works after `npm install -g`). Run as `node dist/src/cli/help-texts.js`; it renders again only
// when a compiled module is newer than the texts. Each --help comes from the binary itself (its module run with
// --help), so the page and the text never drift from what the binary prints.
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** What each binary is, for the man page's NAME line. */
const SUMMARY: Record<string, string> = {
  'glacier-abort': 'abort multipart uploads of a Glacier vault',
  'glacier-chunk': 'cut a stream into tree-hashed parts for glacier-put',
  'glacier-job': 'retrieval and inventory jobs of a Glacier vault, their output verified',
  'glacier-local': 'a Glacier-compatible server on this machine',
  'glacier-ls': 'list Glacier vaults, multipart uploads, parts and archives',
  'glacier-pack': 'pack files and folders into a tar.xz stream',
  'glacier-put': 'upload stdin, a file or a chunk stream to a Glacier vault',
  'glacier-restore': 'restore every archive of a Glacier vault to a folder, a command or S3',
  'glacier-rm': 'delete archives from a Glacier vault',
  'glacier-treehash': 'print or check SHA-256 tree hashes of files',
  'glacier-vault': 'create, describe and delete Glacier vaults',
};

/** The binaries of package.json "bin", each with the module its bin file starts (answerFast's second argument). */
export function binaries(root = ROOT): { name: string; module: string }[] {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  return Object.entries(pkg.bin).map(([name, file]) => {
    const m = /answerFast\('[^']+', '([^']+)'\)/.exec(readFileSync(join(root, file), 'utf8'));
    if (!m) throw new Error(`${file} does not start with answerFast(NAME, MODULE)`);
    return { name, module: m[1] };
  });
}

/** Escapes text for roff: backslashes, and a line that starts with . or ' (a request otherwise). */
function roff(line: string): string {
  const t = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(t) ? `\\&${t}` : t;
}

/**
 * A man page (man(7) macros) from a --help text: its headings ("Options:", "Examples:" alone on a line) as
 * sections, everything else as it is printed (no filling, so columns and examples stay as they are).
 */
export function manPage(name: string, version: string, help: string): string {
  const out = [`.TH ${name.toUpperCase()} 1 "" "glacier-pipes ${version}" "glacier-pipes"`, '.SH NAME', `${name} \\- ${SUMMARY[name] ?? 'a glacier-pipes binary'}`, '.SH SYNOPSIS', '.nf'];
  for (const line of help.replace(/\n+$/, '').split('\n')) {
    const heading = /^([A-Z][A-Za-z ,()-]*):$/.exec(line);
    if (heading) out.push('.fi', `.SH ${heading[1].toUpperCase()}`, '.nf');
    else out.push(roff(line.replace(/^Usage: /, '')));
  }
  out.push('.fi', '.SH SEE ALSO', Object.keys(SUMMARY).filter((n) => n !== name).map((n) => `.BR ${n} (1)`).join(',\n'), '');
  return out.join('\n');
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Renders the texts and pages that are older than the compiled modules (all of them with `force`). */
export async function render(root = ROOT, force = false): Promise<number> {
  const bins = binaries(root);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const since = Math.max(newest(join(root, 'dist', 'src')), statSync(join(root, 'package.json')).mtimeMs);
  const stale = bins.filter(({ name }) => force || [join(root, 'dist', 'help', `${name}.txt`), join(root, 'man', `${name}.1`)].some((f) => (statSync(f, { throwIfNoEntry: false })?.mtimeMs ?? 0) < since));
  mkdirSync(join(root, 'dist', 'help'), { recursive: true });
  mkdirSync(join(root, 'man'), { recursive: true });
  const run = promisify(execFile);
  // Two at a time: each loads its binary's modules (the SDK included), about half a second.
  for (let i = 0; i < stale.length; i += 2) {
    await Promise.all(stale.slice(i, i + 2).map(async ({ name, module }) => {
      const { stdout } = await run(process.execPath, [join(root, 'dist', 'src', module), '--help'], { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' }, maxBuffer: 1 << 22 });
      if (!stdout.startsWith('Usage:')) throw new Error(`${name} --help printed no usage: ${stdout.slice(0, 80)}`);
      writeFileSync(join(root, 'man', `${name}.1`), manPage(name, version, stdout));
      writeFileSync(join(root, 'dist', 'help', `${name}.txt`), stdout);
    }));
  }
  return stale.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const n = await render(ROOT, process.argv.includes('--force'));
  if (n) process.stderr.write(`help-texts: rendered the --help text and man page of ${n} binaries\n`);
}
