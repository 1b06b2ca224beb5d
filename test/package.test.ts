// What `npm install -g glacier-pipes` gets: --help and --version without the AWS SDK (measured next to
// `node -e 0` in the same run), man pages rendered from the --help texts, and a package that carries README,
// LICENSE, examples/ and the man pages, with no script in its package.json that needs a file it does not ship.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, startLocal } from './helpers/local.js';
import { within } from './helpers/time.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; man: string[] };
const BINS = Object.keys(pkg.bin).sort();
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'gp-package-'));
});
after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Runs `args` with node and returns its wall time in ms. */
function timed(args: string[]): { ms: number; stdout: string; status: number | null } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, stdout: r.stdout, status: r.status };
}

/** The modules --help and --version must not load: the SDK and the packages of the byte path, bundled or not. */
const HEAVY = /node_modules\/(@aws-sdk|@smithy|piscina|https?-proxy-agent|lzma-native|tar-stream)\/|\/dist\/src\/bundle\//;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

describe('--help and --version load neither the SDK nor the hash pool', () => {
  let hook: string;
  let logs = 0;
  before(() => {
    // An ESM resolve hook that writes every module URL the process resolves into a log file.
    const hooks = join(work, 'hooks.mjs');
    writeFileSync(hooks, `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(process.env.GP_MODULE_LOG, r.url + '\\n');
  return r;
}
`);
    hook = join(work, 'register.mjs');
    writeFileSync(hook, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
  });

  /** The modules `bin ...args` resolves. */
  function modules(name: string, args: string[], env: NodeJS.ProcessEnv = process.env): { urls: string[]; stdout: string; stderr: string; status: number | null } {
    const log = join(work, `modules-${++logs}.log`);
    writeFileSync(log, '');
    const r = spawnSync(process.execPath, ['--import', hook, BIN(name), ...args], { encoding: 'utf8', env: { ...env, GP_MODULE_LOG: log, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' } });
    return { urls: readFileSync(log, 'utf8').split('\n').filter(Boolean), stdout: r.stdout, stderr: r.stderr, status: r.status };
  }

  for (const name of BINS) {
    it(`${name} --help and --version: no @aws-sdk, @smithy, piscina or proxy agent module; the same text as the binary's own`, () => {
      for (const args of [['--help'], ['--version'], ['-v', 'backups', '-h']]) {
        const r = modules(name, args);
        assert.equal(r.status, 0, r.stdout);
        // The SDK comes bundled with the binary's module (dist/src/bundle/, scripts/bundle.mjs) or, unbundled, from node_modules.
        const heavy = r.urls.filter((u) => HEAVY.test(u));
        assert.deepEqual(heavy, [], `${name} ${args.join(' ')} loaded ${heavy.length} heavy modules`);
        if (args[0] === '--version') assert.equal(r.stdout, `${name} ${pkg.version}\n`);
      }
      // The rendered text is what the binary itself prints (its module run directly).
      const own = spawnSync(process.execPath, [join(ROOT, 'dist', 'src', /'([^']+\.js)'\)/.exec(readFileSync(BIN(name), 'utf8'))![1]), '--help'], { encoding: 'utf8' });
      assert.equal(own.status, 0);
      assert.equal(modules(name, ['--help']).stdout, own.stdout);
    });
  }

  it('a binary loads the SDK for a request (the check above can fail)', () => {
    const r = modules('glacier-ls', ['--endpoint', 'http://127.0.0.1:9', '--region', 'us-east-1']);
    assert.ok(r.urls.some((u) => /\/dist\/src\/bundle\/ls\.js$/.test(u)), 'glacier-ls with a request resolved no bundle of its module');
    assert.ok(r.urls.some((u) => HEAVY.test(u) && !/\/ls\.js$/.test(u)), 'glacier-ls with a request resolved no chunk holding the SDK');
  });

  it('a verified download and a small put load no piscina: it is imported when a part first goes to a hash worker', async () => {
    const local = await startLocal();
    try {
      const small = join(work, 'small.bin');
      const large = join(work, 'large.bin');
      writeFileSync(small, randomBytes(1000));
      writeFileSync(large, randomBytes(2 * 1024 * 1024));
      const piscina = (urls: string[]) => urls.filter((u) => /node_modules\/piscina\//.test(u));
      const vault = spawnSync(process.execPath, [BIN('glacier-vault'), 'create', 'pkg'], { encoding: 'utf8', env: local.env });
      assert.equal(vault.status, 0, vault.stderr);
      const put = modules('glacier-put', ['-v', 'pkg', small], local.env);
      assert.equal(put.status, 0, put.stderr);
      assert.deepEqual(piscina(put.urls), [], 'a put of 1,000 bytes (hashed on its own thread) loaded piscina');
      const { archiveId } = JSON.parse(put.stdout) as { archiveId: string };
      const job = spawnSync(process.execPath, [BIN('glacier-job'), 'retrieve', '-v', 'pkg', '--', archiveId], { encoding: 'utf8', env: local.env });
      assert.equal(job.status, 0, job.stderr);
      const out = join(work, 'small.out');
      const get = modules('glacier-job', ['output', '-v', 'pkg', '-o', out, '--', JSON.parse(job.stdout).JobId], local.env);
      assert.equal(get.status, 0, get.stderr);
      assert.ok(readFileSync(out).equals(readFileSync(small)), 'the download is the archive');
      assert.deepEqual(piscina(get.urls), [], 'a download (hashed on its own thread) loaded piscina');
      // The check can fail: a 2 MiB part goes to a worker, and piscina is loaded for it.
      const big = modules('glacier-put', ['-v', 'pkg', large], local.env);
      assert.equal(big.status, 0, big.stderr);
      assert.notDeepEqual(piscina(big.urls), [], 'a put of a 2 MiB part loaded no piscina');
    } finally {
      await local.stop();
    }
  });

  it('start-up: glacier-put --help and --version within 150 ms of node -e 0, measured in the same run', (t) => {
    const runs = 7;
    const node0: number[] = [];
    const help: number[] = [];
    const version: number[] = [];
    const slow: number[] = [];
    for (let i = 0; i < runs; i++) {
      node0.push(timed(['-e', '0']).ms);
      help.push(timed([BIN('glacier-put'), '--help']).ms);
      version.push(timed([BIN('glacier-put'), '--version']).ms);
      // The binary's own --help (its module run directly, SDK and all): what --help cost before.
      slow.push(timed([join(ROOT, 'dist', 'src', 'cli', 'put.js'), '--help']).ms);
    }
    const [n, h, v, s] = [node0, help, version, slow].map(median);
    t.diagnostic(`start-up, median of ${runs}: node -e 0 ${n.toFixed(0)} ms; glacier-put --help ${h.toFixed(0)} ms (+${(h - n).toFixed(0)}), --version ${v.toFixed(0)} ms (+${(v - n).toFixed(0)}); the module loaded for --help ${s.toFixed(0)} ms (+${(s - n).toFixed(0)})`);
    // 150 ms over node -e 0 on an idle machine; a busy one stretches every start, so the bound is also a third of
    // what the binary's own module adds in the same run (it loads the SDK), whichever is larger.
    const bound = Math.max(within(150), (s - n) / 3);
    assert.ok(h - n <= bound, `--help ${h.toFixed(0)} ms, node -e 0 ${n.toFixed(0)} ms, the module ${s.toFixed(0)} ms`);
    assert.ok(v - n <= bound, `--version ${v.toFixed(0)} ms, node -e 0 ${n.toFixed(0)} ms, the module ${s.toFixed(0)} ms`);
  });

  it('a text older than its binary is not printed: the binary answers itself', () => {
    const copy = join(work, 'stale');
    for (const d of ['bin', 'dist/src', 'dist/help']) cpSync(join(ROOT, d), join(copy, d), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'dist/help/glacier-vault.txt'), 'Usage: an old text\n');
    const later = new Date(Date.now() + 5000);
    execFileSync('touch', ['-d', later.toISOString(), join(copy, 'dist/src/cli/vault.js')]);
    const r = spawnSync(process.execPath, [join(copy, 'bin/glacier-vault'), '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: glacier-vault /);
  });
});

describe('man pages from the --help texts', () => {
  it('package.json "man" lists a page per binary, and each renders with man, its options as --help gives them', () => {
    assert.deepEqual(pkg.man.map((m) => m.replace(/^\.\/man\/|\.1$/g, '')).sort(), BINS);
    const haveMan = spawnSync('man', ['--version']).status === 0;
    for (const name of BINS) {
      const page = readFileSync(join(ROOT, 'man', `${name}.1`), 'utf8');
      assert.match(page, new RegExp(`^\\.TH ${name.toUpperCase()} 1 `));
      if (!haveMan) continue;
      const text = execFileSync('man', ['-l', join(ROOT, 'man', `${name}.1`)], { encoding: 'utf8', env: { ...process.env, MANWIDTH: '200', MAN_KEEP_FORMATTING: '' } }).replace(/.\x08/g, '');
      assert.match(text, new RegExp(`NAME\\s+${name} - `));
      // Every option line of --help is in the page.
      const help = readFileSync(join(ROOT, 'dist', 'help', `${name}.txt`), 'utf8');
      for (const opt of help.match(/^ {2}-{1,2}[a-z][\w-]*/gm) ?? []) assert.ok(text.includes(opt.trim()), `${name}(1) lacks ${opt.trim()}`);
    }
  });
});

describe('npm pack', () => {
  it('carries README, LICENSE (MIT), examples/, man pages and the binaries; its package.json has no script needing an unshipped file', { timeout: within(600_000) }, () => {
    // Packed from a copy, as a clone would be: packing edits package.json for a moment (prepack/postpack).
    const copy = join(work, 'repo');
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter((f) => f && !/^(test|bench)\//.test(f));
    for (const f of tracked) cpSync(join(ROOT, f), join(copy, f));
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true, filter: (src) => !/\/dist\/(test|bench)(\/|$)/.test(src) });
    symlinkSync(realpathSync(join(ROOT, 'node_modules')), join(copy, 'node_modules'));
    writeFileSync(join(copy, 'tsconfig.json'), readFileSync(join(ROOT, 'tsconfig.json'), 'utf8').replace('"include": ["src", "test", "bench", "examples"]', '"include": ["src", "examples"]'));
    const before = readFileSync(join(copy, 'package.json'), 'utf8');
    const out = join(work, 'tarball');
    mkdirSync(out);
    const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_loglevel: 'error' }, maxBuffer: 1 << 24 });
    const [info] = JSON.parse(json.slice(json.indexOf('['))) as [{ filename: string; files: { path: string }[] }];
    const files = info.files.map((f) => f.path);
    for (const f of ['README.md', 'LICENSE', 'package.json', 'examples/README.md', 'examples/nightly-cron.sh', 'examples/pg-dump-to-glacier.sh', 'dist/src/cli/put.js', 'dist/src/cli/fast.js', 'dist/src/bundle/put.js', 'dist/src/bundle/local.js', ...BINS.map((b) => `bin/${b}`), ...BINS.map((b) => `man/${b}.1`), ...BINS.map((b) => `dist/help/${b}.txt`)]) {
      assert.ok(files.includes(f), `npm pack lacks ${f}`);
    }
    assert.ok(!files.some((f) => /^(src|test|bench)\//.test(f)), 'sources and tests are not shipped');
    assert.match(readFileSync(join(copy, 'LICENSE'), 'utf8'), /^MIT License/);
    // The working copy's package.json is back as it was.
    assert.equal(readFileSync(join(copy, 'package.json'), 'utf8'), before);
    // The packed package.json: every script names only shipped files (none is left: they build or run src, test, bench).
    execFileSync('tar', ['-xzf', join(out, info.filename), '-C', out]);
    const packed = JSON.parse(readFileSync(join(out, 'package', 'package.json'), 'utf8')) as { scripts?: Record<string, string>; man: string[]; bin: Record<string, string> };
    for (const [name, script] of Object.entries(packed.scripts ?? {})) {
      for (const path of script.match(/(?:\.\/)?(?:dist|src|test|bench|examples|bin)\/[\w./*-]+/g) ?? []) {
        assert.ok(files.some((f) => f === path.replace(/^\.\//, '') || (path.includes('*') && f.startsWith(path.split('*')[0]))), `packed script ${name} needs ${path}, not shipped`);
      }
      assert.doesNotMatch(script, /\btsc\b|npm run build/, `packed script ${name} builds from sources that are not shipped`);
    }
    // examples/ ships only what runs from the package: not demo.ts (it needs the repository's build), and its
    // README names only files and npm scripts a packed install has.
    assert.ok(!files.includes('examples/demo.ts'), 'examples/demo.ts is shipped but cannot run from the package');
    const examplesReadme = readFileSync(join(out, 'package', 'examples', 'README.md'), 'utf8');
    for (const [, path] of examplesReadme.matchAll(/`((?:[\w.-]+\/)*[\w.-]+\.(?:ts|js|sh|json|yaml)|(?:test|bench|src)\/[\w./-]*)`/g)) {
      const inPackage = files.includes(path) || files.some((f) => f.startsWith('examples/') && f.endsWith(`/${path}`));
      assert.ok(inPackage, `examples/README.md names ${path}, not shipped`);
    }
    for (const [, name] of examplesReadme.matchAll(/npm run ([\w:-]+)/g)) assert.ok(packed.scripts?.[name], `examples/README.md says npm run ${name}, which a packed install does not have`);
    for (const m of packed.man) assert.ok(files.includes(m.replace(/^\.\//, '')), `man ${m} not shipped`);
    for (const b of Object.values(packed.bin)) assert.ok(files.includes(b), `bin ${b} not shipped`);
    // Each shipped man page is a file in the package, so `npm install -g` links it under share/man/man1.
    assert.deepEqual(readdirSync(join(out, 'package', 'man')).sort(), BINS.map((b) => `${b}.1`));
  });
});
