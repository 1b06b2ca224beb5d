// Bundles each binary's module, with the packages it imports, into dist/src/bundle/ (shared code in chunks),
// after tsc has built dist/src. A binary then starts by reading a few files instead of resolving and compiling
// the ~900 modules of the AWS SDK and our own one by one: measured on a 2-core machine, `glacier-vault describe`
// takes 0.20 CPU s bundled against 0.30 unbundled, and the test suite starts binaries some thousand times.
//
// dist/src/bundle/ sits at the same depth as dist/src/cli/, so the paths our modules build from import.meta.url
// (package.json three folders up, ../core/hash-worker.js for the hash pool's worker) hold in both. Left out of
// the bundle: lzma-native (a native module, loaded on first use) and piscina (it starts workers from its own
// files). The unbundled modules stay in dist/src: the tests import them, the workers load them.
//
//   node scripts/bundle.mjs        (run by `npm run build`)
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const binaries = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).bin;

/** bin/NAME's module under dist/src: the one its script names to answerFast (e.g. 'cli/job.js'). */
function moduleOf(name) {
  const script = readFileSync(new URL(`../bin/${name}`, import.meta.url), 'utf8');
  const module = /answerFast\('[^']+', '([a-z/-]+\.js)'\)/.exec(script)?.[1];
  if (!module) throw new Error(`bin/${name}: no answerFast('${name}', MODULE) naming the module to bundle`);
  return module;
}

const entryPoints = Object.fromEntries(
  Object.keys(binaries).map((name) => [name.replace(/^glacier-/, ''), `dist/src/${moduleOf(name)}`]),
);

// A rebuild's chunks have new names: the old ones go first.
rmSync(new URL('../dist/src/bundle', import.meta.url), { recursive: true, force: true });
await build({
  entryPoints,
  absWorkingDir: fileURLToPath(new URL('..', import.meta.url)),
  outdir: 'dist/src/bundle',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['lzma-native', 'piscina'],
  // ES module builds where a package has them (the AWS SDK does): esbuild drops what no binary uses.
  mainFields: ['module', 'main'],
  // CommonJS packages inside an ES module bundle still call require() for Node's own modules.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  chunkNames: 'chunk-[hash]',
  legalComments: 'none',
  logLevel: 'warning',
});
