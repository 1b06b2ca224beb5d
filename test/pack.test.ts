// glacier-pack: the real binary spawned over real pipes, its output unpacked by GNU tar and compared with the source
// tree (names, contents, modes, owners, mtimes, links) for both compression paths; pass-through of an existing
// archive; files that shrink, grow, vanish or cannot be read while packing (a deterministic truncation through a
// stalled pipe, the rest through an injected filesystem); bad input; and a round trip through glacier-put and
// glacier-local. The >8 GiB sparse file lives in test/slow/pack-big.test.ts.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  appendFileSync, chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync,
  symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { CreateVaultCommand, DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { Excluder } from '../src/pack/exclude.js';
import { nodeFs, type PackFs } from '../src/pack/fs.js';
import { pack, type PackOptions } from '../src/pack/pack.js';
import { memberName, type Problem } from '../src/pack/walk.js';
import { findXz } from '../src/pack/xz.js';
import { errorLines, sh, show, sleep, type Ran } from './helpers/bins.js';
import { BIN, startLocal, type Local } from './helpers/local.js';

const MiB = 2 ** 20;
const LONG = `${'long-name-'.repeat(14)}0123456789.txt`; // 154 characters, one path component
const UNICODE = 'grüße-日本語-ñ.txt';
let work: string;
let tree: string; // work/tree

/** The fixture: nested folders, an empty folder, symlinks, an executable, long and non-ASCII names, a zero-byte file. */
function makeTree(root: string): void {
  mkdirSync(join(root, 'a/b/c'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'a/b/c/deep.txt'), 'deep\n');
  writeFileSync(join(root, 'a/b/data.bin'), randomBytes(300_000));
  writeFileSync(join(root, 'a', LONG), 'a name longer than 100 bytes\n');
  writeFileSync(join(root, UNICODE), 'non-ASCII name\n');
  writeFileSync(join(root, 'zero'), '');
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  chmodSync(join(root, 'run.sh'), 0o755);
  writeFileSync(join(root, 'private.txt'), 'secret-ish\n');
  chmodSync(join(root, 'private.txt'), 0o600);
  writeFileSync(join(root, 'big.txt'), Array.from({ length: 60_000 }, (_, i) => `line ${i} of a compressible text file\n`).join('')); // 2.3 MB: several reads
  symlinkSync('a/b/c/deep.txt', join(root, 'link'));
  symlinkSync('a', join(root, 'dirlink'));
  symlinkSync('nowhere/at/all', join(root, 'dangling'));
  linkSync(join(root, 'run.sh'), join(root, 'a/hardlink.sh'));
  // mtimes last, deepest first, so that creating children does not move a folder's mtime again
  const t0 = Date.UTC(2001, 1, 3, 4, 5, 6) / 1000;
  let i = 0;
  const stamp = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) stamp(p);
      if (!st.isSymbolicLink()) utimesSync(p, t0 + 1000 * ++i, t0 + 1000 * i);
    }
  };
  stamp(root);
  utimesSync(root, t0, t0);
}

interface Node {
  type: string;
  mode?: number;
  mtime?: number;
  uid?: number;
  gid?: number;
  content?: string;
  link?: string;
}

/** What restoring must reproduce: every name with its type, mode, owner, mtime (s), content hash or link target. */
function snapshot(root: string): Record<string, Node> {
  const out: Record<string, Node> = {};
  const visit = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const rel = prefix + name;
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = { type: 'symlink', link: readlinkSync(p) };
      else {
        const base = { mode: st.mode & 0o7777, mtime: Math.floor(st.mtimeMs / 1000), uid: st.uid, gid: st.gid };
        if (st.isDirectory()) {
          out[rel] = { type: 'dir', ...base };
          visit(p, `${rel}/`);
        } else out[rel] = { type: 'file', ...base, content: createHash('sha256').update(readFileSync(p)).digest('hex') };
      }
    }
  };
  visit(root, '');
  return out;
}

const env = () => ({ ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });

/** glacier-pack ARGS, its stdout collected (or piped into `sink` when given). */
function packCli(args: string[], o: { cwd?: string; sink?: [string, string[]]; uid?: number } = {}): Promise<{ pack: Ran; sink?: Ran }> {
  const t0 = Date.now();
  const ids = o.uid === undefined ? {} : { uid: o.uid, gid: o.uid };
  const p = spawn(process.execPath, [BIN('glacier-pack'), ...args], { cwd: o.cwd ?? work, env: env(), stdio: ['ignore', 'pipe', 'pipe'], ...ids });
  const collect = (proc: ReturnType<typeof spawn>, withStdout: boolean): Promise<Ran> => {
    const out: Buffer[] = [];
    let err = '';
    if (withStdout) proc.stdout!.on('data', (d: Buffer) => out.push(d));
    proc.stderr!.on('data', (d: Buffer) => (err += d));
    return new Promise((resolve, reject) => {
      proc.once('error', reject);
      proc.once('close', (code, signal) => resolve({ code, signal, stdout: Buffer.concat(out), stderr: err, ms: Date.now() - t0 }));
    });
  };
  if (!o.sink) return collect(p, true).then((r) => ({ pack: r }));
  const s = spawn(o.sink[0], o.sink[1], { cwd: o.cwd ?? work, stdio: [p.stdout!, 'pipe', 'pipe'] });
  p.stdout!.destroy(); // the sink has its own copy of the pipe now; ours would keep glacier-pack's 'close' from firing
  return Promise.all([collect(p, false), collect(s, true)]).then(([pack, sink]) => ({ pack, sink }));
}

function tarList(archive: Buffer, flags = '-tvf'): string {
  const r = spawnSync('tar', [flags, '-'], { input: archive, encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, TZ: 'UTC' } });
  assert.equal(r.status, 0, `tar ${flags}: ${r.stderr}`);
  return r.stdout;
}

function fresh(name: string): string {
  const dir = join(work, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs the library into memory. */
async function packToBuffer(inputs: string[], o: Partial<PackOptions> = {}): Promise<{ data: Buffer; status: number; problems: Problem[] }> {
  const problems: Problem[] = [];
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (d: Buffer) => chunks.push(d));
  const r = await pack(inputs, sink, { cwd: work, compress: false, level: 1, threads: 2, xz: 'auto', problem: (p) => problems.push(p), ...o });
  return { data: Buffer.concat(chunks), status: r.status, problems };
}

before(() => {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as npm test sets it
  work = mkdtempSync(join(tmpdir(), 'glacier-pack-'));
  chmodSync(work, 0o755); // the unreadable-file case runs the binary as nobody
  tree = join(work, 'tree');
  mkdirSync(tree);
  makeTree(tree);
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('glacier-pack tree | tar -xJf - reproduces the tree', () => {
  const hasXz = findXz() !== undefined;
  for (const xz of ['program', 'native'] as const) {
    it(`--xz=${xz}: names, contents, modes, owners, mtimes, symlinks, empty folder, hard link`, { skip: xz === 'program' && !hasXz && 'no xz program' }, async () => {
      const out = fresh(`out-${xz}`);
      const r = await packCli([`--xz=${xz}`, 'tree'], { sink: ['tar', ['-xJf', '-', '-C', out]] });
      assert.equal(r.pack.code, 0, show(r.pack));
      assert.equal(r.pack.stderr, '');
      assert.equal(r.sink!.code, 0, show(r.sink!));
      assert.deepEqual(snapshot(join(out, 'tree')), snapshot(tree));
      const restored = snapshot(join(out, 'tree'));
      assert.equal(restored.empty.type, 'dir');
      assert.equal(restored.link.link, 'a/b/c/deep.txt');
      assert.equal(restored['run.sh'].mode, 0o755);
      assert.equal(restored['private.txt'].mode, 0o600);
      assert.ok(restored[`a/${LONG}`] && restored[UNICODE] && restored.zero);
      assert.equal(lstatSync(join(out, 'tree/a/hardlink.sh')).ino, lstatSync(join(out, 'tree/run.sh')).ino, 'hard link restored as one file');
    });
  }

  it('lists like GNU tar: directories with /, symlinks with their mode, the hard link as a link', async () => {
    const r = await packCli(['--no-compress', 'tree']);
    assert.equal(r.pack.code, 0, show(r.pack));
    const list = tarList(r.pack.stdout);
    assert.match(list, /^drwxr-xr-x 0\/0 +0 2001-02-03 04:05 tree\/$/m);
    assert.match(list, /^lrwxrwxrwx .* tree\/link -> a\/b\/c\/deep\.txt$/m);
    assert.match(list, /^hrwxr-xr-x .* tree\/run\.sh link to tree\/a\/hardlink\.sh$|^hrwxr-xr-x .* tree\/a\/hardlink\.sh link to tree\/run\.sh$/m);
    assert.match(list, /^-rwxr-xr-x .* tree\/(run\.sh|a\/hardlink\.sh)$/m);
    assert.match(list, new RegExp(`tree/a/${LONG}$`, 'm'));
  });

  it('lzma-native: real output, at the level asked for (preset 0 is not silently 6), like xz at that level', { skip: !hasXz && 'no xz program to compare with' }, async () => {
    const sizes: number[] = [];
    for (const level of [0, 6]) {
      const r = await packToBuffer(['tree/big.txt'], { compress: true, xz: 'native', level, threads: 1 });
      assert.ok(r.data.length > 0, `level ${level}: no output`);
      const plain = spawnSync('xz', ['-dc'], { input: r.data, maxBuffer: 1 << 26 });
      assert.equal(plain.status, 0, `level ${level}: not a valid .xz`);
      const byXz = spawnSync('xz', ['-T1', `-${level}`, '-c'], { input: plain.stdout, maxBuffer: 1 << 26 }).stdout.length;
      assert.ok(Math.abs(r.data.length - byXz) / byXz < 0.1, `level ${level}: ${r.data.length} B, xz -${level} makes ${byXz} B`);
      sizes.push(r.data.length);
    }
    // On this text xz -0 happens to beat -6 by far (measured 14.6 kB against 26.6 kB): the level did reach liblzma.
    assert.ok(sizes[0] < sizes[1] * 0.8, `-0 ${sizes[0]} B, -6 ${sizes[1]} B`);
  });

  it('-C DIR, --exclude (repeatable, at any depth, folders not entered) and a leading / stripped', async () => {
    const r = await packCli(['--no-compress', '-C', work, '--exclude', '*.bin', '--exclude=c', '--exclude', 'empty/', 'tree']);
    assert.equal(r.pack.code, 0, show(r.pack));
    const names = tarList(r.pack.stdout, '-tf').split('\n');
    assert.ok(names.includes('tree/run.sh') && names.includes('tree/a/b/'), names.join(' '));
    assert.ok(!names.some((n) => /\.bin$|tree\/a\/b\/c|tree\/empty/.test(n)), names.join(' '));
    const abs = await packCli(['--no-compress', join(tree, 'a/b/c')], { cwd: '/' });
    assert.equal(abs.pack.code, 0, show(abs.pack));
    assert.deepEqual(tarList(abs.pack.stdout, '-tf').trim().split('\n'), [`${join(tree, 'a/b/c').slice(1)}/`, `${join(tree, 'a/b/c').slice(1)}/deep.txt`]);
    assert.match(abs.pack.stderr, /^glacier-pack: warning: removing leading '\/' from member names\n$/);
  });

  it('two inputs, or a folder, get packed; --progress counts bytes read against the scanned total', async () => {
    writeFileSync(join(work, 'notes.txt'), 'notes\n');
    const r = await packCli(['--progress', 'tree', 'notes.txt']);
    assert.equal(r.pack.code, 0, show(r.pack));
    const names = tarList(r.pack.stdout, '-tJf').split('\n');
    assert.ok(names.includes('notes.txt') && names.includes('tree/big.txt'));
    // files once each (the hard link's data is counted once): 300,000 + big.txt + the small ones
    assert.match(r.pack.stderr, /100\.0% of [\d.]+ MiB/);
    assert.doesNotMatch(r.pack.stderr, /warning/);
  });
});

describe('--files-from FILE|- and --null, as GNU tar takes them (-T stays the thread count)', () => {
  /** `SHELL_PIPE | glacier-pack ARGS`, through bash with pipefail, in the work folder; stdout collected. */
  function piped(producer: string, args: string[]): { code: number | null; stdout: Buffer; stderr: string } {
    const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
    const cmd = `${producer} | ${q(process.execPath)} ${q(BIN('glacier-pack'))} ${args.map(q).join(' ')}`;
    const r = spawnSync('bash', ['-o', 'pipefail', '-c', cmd], { cwd: work, env: env(), maxBuffer: 1 << 26 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
  }

  it('find -print0 | glacier-pack --null --files-from -: exactly the files found, a name with a newline included', () => {
    const dir = fresh('ff');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'two\nlines.txt'), 'newline in the name\n');
    writeFileSync(join(dir, 'sub/a.txt'), 'a\n');
    writeFileSync(join(dir, 'only.tgz'), 'not really gzip');
    const r = piped('find ff -type f -print0', ['-T', '2', '-1', '--null', '--files-from', '-']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const names = tarList(r.stdout, '-tJf').trim().split('\n').sort();
    assert.deepEqual(names, ['ff/only.tgz', 'ff/sub/a.txt', 'ff/two\\nlines.txt']); // GNU tar prints the newline as \n
  });

  it('a newline list (blank lines skipped) plus PATH arguments; one archive listed is packed, not passed through', () => {
    const dir = fresh('ff2');
    writeFileSync(join(dir, 'x.tgz'), 'not really gzip');
    writeFileSync(join(work, 'list.txt'), 'ff2/x.tgz\n\n');
    const r = piped('true', ['--no-compress', '--files-from', 'list.txt']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(tarList(r.stdout, '-tf').trim().split('\n'), ['ff2/x.tgz']);
    writeFileSync(join(work, 'notes.txt'), 'notes\n');
    const both = piped('printf "ff2/x.tgz"', ['--no-compress', '--files-from=-', 'notes.txt']);
    assert.equal(both.code, 0, both.stderr);
    assert.deepEqual(tarList(both.stdout, '-tf').trim().split('\n'), ['notes.txt', 'ff2/x.tgz']);
  });

  const bad: [string, string, string[], RegExp][] = [
    ['a missing list FILE', 'true', ['--files-from', 'no-such-list'], /^glacier-pack: cannot read --files-from no-such-list: no such file or directory$/],
    ['--null without --files-from', 'true', ['--null', 'tree'], /^glacier-pack: --null goes with --files-from FILE$/],
    ['an empty list', 'true', ['--files-from', '-'], /^glacier-pack: no PATH in --files-from -: nothing to pack$/],
    ['a listed PATH that is missing (nothing written)', 'printf "tree\\nno-such\\n"', ['--files-from', '-'], /^glacier-pack: cannot stat no-such: no such file or directory$/],
  ];
  for (const [what, producer, args, re] of bad) {
    it(`${what}: exit 2, one line, nothing on stdout`, () => {
      const r = piped(producer, args);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stdout.length, 0);
      assert.match(r.stderr.trim(), re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    });
  }
});

describe('an existing archive passes through unchanged', () => {
  for (const [name, flags] of [['t.tar.xz', '-cJf'], ['t.tar', '-cf'], ['t.tgz', '-czf']] as const) {
    it(`a single ${name} comes out byte-identical`, async () => {
      const file = join(work, name);
      assert.equal(spawnSync('tar', [flags, file, '-C', work, 'tree']).status, 0);
      const r = await packCli([name]);
      assert.equal(r.pack.code, 0, show(r.pack));
      assert.ok(r.pack.stdout.equals(readFileSync(file)), 'not byte-identical');
    });
  }

  it('an archive among other inputs is packed like any file', async () => {
    assert.equal(spawnSync('tar', ['-cf', join(work, 'x.tar'), '-C', work, 'tree/zero']).status, 0);
    const r = await packCli(['--no-compress', 'x.tar', 'tree/zero']);
    assert.equal(r.pack.code, 0, show(r.pack));
    assert.deepEqual(tarList(r.pack.stdout, '-tf').trim().split('\n'), ['x.tar', 'tree/zero']);
  });
});

describe('files that change while read: a warning, a valid archive, exit 1 (as GNU tar)', () => {
  it('truncated while the binary reads it (stalled pipe): padded with zeros, GNU tar lists the archive, exit 1', async () => {
    const dir = fresh('trunc');
    const big = join(dir, 'big.bin');
    writeFileSync(big, '');
    truncateSync(big, 64 * MiB);
    writeFileSync(join(dir, 'z-after.txt'), 'still intact\n');
    const p = spawn(process.execPath, [BIN('glacier-pack'), '--no-compress', 'trunc'], { cwd: work, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    p.stderr!.on('data', (d) => (stderr += d));
    // Bytes on stdout mean big.bin's header is out with 64 MiB promised; nobody reads the pipe yet, so the packer
    // is stuck a few MiB in (pipe and stream buffers), far from the end of the file.
    await once(p.stdout!, 'readable');
    truncateSync(big, 1 * MiB);
    const chunks: Buffer[] = [];
    p.stdout!.on('data', (d: Buffer) => chunks.push(d));
    const [code] = (await once(p, 'close')) as [number];
    const archive = Buffer.concat(chunks);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /^glacier-pack: warning: trunc\/big\.bin: file shrank by \d+ bytes; padding with zeros\n$/);
    assert.match(tarList(archive), /^-rw-r--r-- .* 67108864 .* trunc\/big\.bin$/m);
    const tail = spawnSync('tar', ['-xOf', '-', 'trunc/z-after.txt'], { input: archive, encoding: 'utf8' });
    assert.equal(tail.stdout, 'still intact\n', 'the member after the truncated one is intact');
  });

  /** The real filesystem, with one call replaced. */
  const hooked = (o: Partial<PackFs>): PackFs => ({ ...nodeFs, ...o });

  it('shrinking mid-read through the xz path: the .xz stays valid and lists the file at its header size', async () => {
    const dir = fresh('shrink');
    writeFileSync(join(dir, 'f.txt'), 'x'.repeat(3 * MiB));
    let cut = false;
    const r = await packToBuffer(['shrink'], {
      compress: true,
      fs: hooked({
        read: async (fd, buf, off, len, pos) => {
          if (!cut) (cut = true), truncateSync(join(dir, 'f.txt'), 100);
          return nodeFs.read(fd, buf, off, len, pos);
        },
      }),
    });
    assert.equal(r.status, 1);
    assert.deepEqual(r.problems.map((p) => p.message), [`file shrank by ${3 * MiB - 100} bytes; padding with zeros`]);
    assert.match(tarList(r.data, '-tvJf'), / 3145728 .* shrink\/f\.txt$/m);
  });

  it('grown or touched while read: "file changed as we read it", exit status 1', async () => {
    const dir = fresh('grow');
    writeFileSync(join(dir, 'log.txt'), 'first\n');
    writeFileSync(join(dir, 'other.txt'), 'other\n');
    const r = await packToBuffer(['grow'], {
      fs: hooked({
        readSync: (fd, buf, off, len, pos) => {
          const n = nodeFs.readSync(fd, buf, off, len, pos);
          if (buf.subarray(off, off + n).toString() === 'first\n') appendFileSync(join(dir, 'log.txt'), 'second\n');
          return n;
        },
      }),
    });
    assert.equal(r.status, 1);
    assert.deepEqual(r.problems, [{ path: join(work, 'grow/log.txt'), message: 'file changed as we read it', status: 1 }]);
    const extracted = spawnSync('tar', ['-xOf', '-', 'grow/log.txt'], { input: r.data, encoding: 'utf8' });
    assert.equal(extracted.stdout, 'first\n', 'the size in the header is the size when it was opened');
  });

  it('vanished after the scan: skipped with a warning, exit status 1; a read error: padded, exit status 2', async () => {
    const dir = fresh('vanish');
    for (const n of ['a.txt', 'gone.txt', 'ioerr.txt', 'z.txt']) writeFileSync(join(dir, n), `${n}\n`);
    let failing = -1;
    const r = await packToBuffer(['vanish'], {
      fs: hooked({
        open: (path, flags) => {
          if (path.endsWith('gone.txt')) unlinkSync(path);
          const fd = nodeFs.open(path, flags);
          if (path.endsWith('ioerr.txt')) failing = fd;
          return fd;
        },
        close: (fd) => {
          if (fd === failing) failing = -1;
          nodeFs.close(fd);
        },
        readSync: (fd, buf, off, len, pos) => {
          if (fd === failing) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
          return nodeFs.readSync(fd, buf, off, len, pos);
        },
      }),
    });
    assert.equal(r.status, 2);
    assert.deepEqual(r.problems.map((p) => `${p.path.slice(work.length + 1)}: ${p.message} (${p.status})`), [
      'vanish/gone.txt: file removed before we read it (1)',
      'vanish/ioerr.txt: read error at byte 0, while reading 10 bytes: input/output error; padding with zeros (2)',
    ]);
    assert.deepEqual(tarList(r.data, '-tf').trim().split('\n'), ['vanish/', 'vanish/a.txt', 'vanish/ioerr.txt', 'vanish/z.txt']);
  });
});

describe('bad input: one line on stderr, its exit code, nothing on stdout', () => {
  const cases: [string, string[], number, RegExp][] = [
    ['a missing PATH (nothing written, as no partial backup should be uploaded)', ['tree', 'no-such-dir'], 2, /^glacier-pack: cannot stat no-such-dir: no such file or directory$/],
    ['no PATH', [], 2, /^glacier-pack: no PATH given/],
    ['an invalid level -12', ['-12', 'tree'], 2, /^glacier-pack: invalid level -12: use one of -0 \.\.\. -9$/],
    ['an unknown option -x', ['-x', 'tree'], 2, /^glacier-pack: unknown option -x \(see --help\)$/],
    ['an invalid --threads', ['-T', 'many', 'tree'], 2, /^glacier-pack: invalid --threads "many"/],
    ['an invalid --xz', ['--xz=zstd', 'tree'], 2, /^glacier-pack: invalid --xz "zstd": auto, native or program$/],
    ['a missing -C DIR', ['-C', 'nowhere', 'tree'], 2, /^glacier-pack: -C nowhere: no such directory$/],
  ];
  for (const [what, args, code, re] of cases) {
    it(what, async () => {
      const { pack: r } = await packCli(args);
      assert.equal(r.code, code, show(r));
      assert.equal(r.stdout.length, 0);
      assert.deepEqual(errorLines(r.stderr, 'glacier-pack').length, 1, r.stderr);
      assert.match(r.stderr.trim(), re);
    });
  }

  it('stdout a terminal: refused, exit 2', () => {
    const cmd = `cd ${work} && ${process.execPath} ${BIN('glacier-pack')} tree`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: env() });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.equal(r.stdout.trim(), 'glacier-pack: refusing to write an archive to a terminal: pipe it into glacier-put, or redirect it to a file');
  });

  // As root (how these tests usually run) chmod 000 stops nothing, so the binary runs as nobody when it can.
  const asRoot = process.getuid?.() === 0;
  const nobodyCanRun = () => spawnSync(process.execPath, [BIN('glacier-pack'), '--version'], { uid: 65534, gid: 65534 }).status === 0;
  it('an unreadable file: named PATH refused (exit 2), inside a folder warned and left out (exit 2, like GNU tar)', async (t) => {
    if (asRoot && !nobodyCanRun()) return t.skip('running as root and the binary cannot run as nobody: see the injected-EACCES case');
    const dir = fresh('unreadable');
    writeFileSync(join(dir, 'ok.txt'), 'ok\n');
    writeFileSync(join(dir, 'secret.txt'), 'secret\n');
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'ok.txt'), 0o644);
    chmodSync(join(dir, 'secret.txt'), 0o000);
    const uid = asRoot ? 65534 : undefined;
    const top = await packCli(['unreadable/secret.txt'], { uid });
    assert.equal(top.pack.code, 2, show(top.pack));
    assert.equal(top.pack.stdout.length, 0);
    assert.equal(top.pack.stderr, 'glacier-pack: cannot read unreadable/secret.txt: permission denied\n');
    const inner = await packCli(['--no-compress', 'unreadable'], { uid });
    assert.equal(inner.pack.code, 2, show(inner.pack));
    assert.equal(inner.pack.stderr, 'glacier-pack: warning: unreadable/secret.txt: cannot open: permission denied\n');
    assert.deepEqual(tarList(inner.pack.stdout, '-tf').trim().split('\n'), ['unreadable/', 'unreadable/ok.txt']);
  });

  it('an unreadable file (injected EACCES, whoever runs the tests): warned, left out, exit status 2', async () => {
    const r = await packToBuffer(['tree/a'], {
      fs: {
        ...nodeFs,
        open: (path, flags) => {
          if (path.endsWith('data.bin')) throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
          return nodeFs.open(path, flags);
        },
      },
    });
    assert.equal(r.status, 2);
    assert.deepEqual(r.problems.map((p) => p.message), ['cannot open: permission denied']);
    assert.ok(!tarList(r.data, '-tf').includes('data.bin'));
  });

  it('a reader that stops early (| head): quiet, exit 0', async () => {
    // The archive (300 kB of random data in it) is far more than the pipe holds: glacier-pack meets EPIPE.
    const r = await sh('cd "$1" && { "$NODE" "$BIN/glacier-pack" -1 tree; echo "exit $?" >&2; } | head -c 100 >/dev/null', [work], { env: env() }).done;
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr, 'exit 0\n');
  });
});

describe('--help, --version, helpers', () => {
  it('--help shows the pipe and how to restore; --version the version', async () => {
    const h = await packCli(['--help']);
    assert.equal(h.pack.code, 0);
    assert.match(h.pack.stdout.toString(), /glacier-pack ~\/photos ~\/docs \| glacier-put -v backups -d "home 2026-11"/);
    assert.match(h.pack.stdout.toString(), /tar -xJf -/);
    const v = await packCli(['--version']);
    assert.match(v.pack.stdout.toString(), /^glacier-pack \d+\.\d+\.\d+\n$/);
  });

  it('--exclude globs match a name or any tail of it after a /', () => {
    const table: [string, string, boolean][] = [
      ['*.log', 'a/b/x.log', true],
      ['*.log', 'a/b/x.log.gz', false],
      ['node_modules', 'p/node_modules', true],
      ['cache/*', 'home/u/cache/f', true],
      ['cache/*', 'home/u/cache', false],
      ['a/**/z', 'r/a/b/c/z', true],
      ['?.txt', 'd/x.txt', true],
      ['[!a]*.txt', 'd/b.txt', true],
      ['[!a]*.txt', 'd/a.txt', false],
      ['/abs/*.tmp', 'abs/x.tmp', true],
      ['tree', 'subtree', false],
    ];
    for (const [glob, name, expected] of table) assert.equal(new Excluder([glob]).matches(name), expected, `${glob} ~ ${name}`);
  });

  it('member names: normalized, no leading / or ../', () => {
    assert.deepEqual(memberName('/home/u/photos/'), { name: 'home/u/photos', stripped: '/' });
    assert.deepEqual(memberName('../../x'), { name: 'x', stripped: '../' });
    assert.deepEqual(memberName('./a//b/'), { name: 'a/b', stripped: undefined });
    assert.deepEqual(memberName('.'), { name: '.', stripped: undefined });
  });
});

describe('glacier-pack tree | glacier-put -v V round-trips through glacier-local', () => {
  let local: Local;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0']);
  });
  after(() => local.stop());

  it('the archive read back through a retrieval job unpacks with tar -xJf - into the same tree', async () => {
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'packs' }));
    const state = mkdtempSync(join(work, 'state-'));
    const put = await sh('cd "$1" && "$NODE" "$BIN/glacier-pack" tree | "$NODE" "$BIN/glacier-put" -v packs -d "tree backup" -q', [work], {
      env: { ...local.env, XDG_STATE_HOME: state },
    }).done;
    assert.equal(put.code, 0, show(put));
    const { archiveId, size } = JSON.parse(put.stdout.toString()) as { archiveId: string; size: number };
    const { jobId } = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'packs', jobParameters: { Type: 'archive-retrieval', ArchiveId: archiveId } }));
    for (let i = 0; !(await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'packs', jobId }))).Completed; i++) {
      assert.ok(i < 200, 'retrieval job did not complete');
      await sleep(50);
    }
    const body = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'packs', jobId }));
    const archive = Buffer.from(await body.body!.transformToByteArray());
    assert.equal(archive.length, size);
    const out = fresh('restored');
    const x = spawnSync('tar', ['-xJf', '-', '-C', out], { input: archive });
    assert.equal(x.status, 0, String(x.stderr));
    assert.deepEqual(snapshot(join(out, 'tree')), snapshot(tree));
  });
});
