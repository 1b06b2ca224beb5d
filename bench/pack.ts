// glacier-pack against `tar -cf - | xz -T2 -<level>` on the same ≥ 200 MB tree of mixed data, at -6 and -1, with
// both compression paths: throughput ratio (goal ≥ 0.9), output size ratio (goal ≤ 1.02), peak RSS.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fmt, randomFile, ratio, timed, WORK, type Timed } from './lib.js';

const MiB = 2 ** 20;
const TREE_VERSION = 'pack-tree v1';
const SHARE = ['perl', 'vim', 'i18n', 'cmake-3.25', 'zoneinfo', 'mime'].map((d) => `/usr/share/${d}`);

/** Builds the input tree once in WORK: generated log-like text, random binaries, copies of /usr/share folders. */
function inputTree(): string {
  const root = join(WORK, 'pack-tree');
  const marker = join(WORK, 'pack-tree.done');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === TREE_VERSION) return root;
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, 'logs'), { recursive: true });
  mkdirSync(join(root, 'small'), { recursive: true });
  mkdirSync(join(root, 'bin'), { recursive: true });
  let seed = 0x9e3779b9;
  const rnd = () => {
    // xorshift32: the same tree on every machine
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const words = 'request response upload part vault archive glacier retry backoff checksum tree hash multipart complete abort initiate job inventory region bucket timeout throttled client server error warning info debug stream chunk offset size bytes'.split(' ');
  const hosts = Array.from({ length: 40 }, (_, i) => `10.0.${i >> 3}.${(i * 37) % 255}`);
  const line = (t: number) => {
    const n = 4 + Math.floor(rnd() * 10);
    const ws: string[] = [];
    for (let i = 0; i < n; i++) ws.push(words[Math.floor(rnd() * words.length)]);
    const id = Math.floor(rnd() * 0xffffffff).toString(16).padStart(8, '0');
    return `${new Date(1_767_225_600_000 + t * 137).toISOString()} ${hosts[Math.floor(rnd() * hosts.length)]} [${id}] ${ws.join(' ')} latency=${Math.floor(rnd() * 5000)}ms size=${Math.floor(rnd() * 1e7)}\n`;
  };
  let t = 0;
  const textFile = (path: string, bytes: number) => {
    const parts: string[] = [];
    let size = 0;
    while (size < bytes) {
      const l = line(t++);
      parts.push(l);
      size += l.length;
    }
    writeFileSync(path, parts.join(''));
  };
  for (let i = 0; i < 12; i++) textFile(join(root, 'logs', `app-${i}.log`), (4 + i) * MiB); // 114 MiB
  for (let i = 0; i < 1500; i++) textFile(join(root, 'small', `note-${i}.txt`), 256 + Math.floor(rnd() * 8192));
  for (const [i, size] of [24, 6, 1].entries()) cpSync(randomFile(`pack-random-${size}m.bin`, size * MiB), join(root, 'bin', `blob-${i}.bin`));
  for (const dir of SHARE) if (existsSync(dir)) cpSync(dir, join(root, 'share', dir.split('/').pop()!), { recursive: true, verbatimSymlinks: true });
  writeFileSync(marker, TREE_VERSION);
  return root;
}

interface Run {
  label: string;
  cmd: string;
  out: string;
  best?: Timed;
  size?: number;
}

export async function benchPack(): Promise<void> {
  const bin = `node ${new URL('../../', import.meta.url).pathname}bin/glacier-pack`;
  const root = inputTree();
  const tarBytes = Number(execFileSync('bash', ['-c', `tar -cf - -C ${WORK} pack-tree | wc -c`], { encoding: 'utf8' }).trim()); // also warms the page cache
  const files = Number(execFileSync('bash', ['-c', `find ${root} -type f | wc -l`], { encoding: 'utf8' }).trim());
  // Best of several interleaved runs: the short -1 runs get one more, they swing most with the neighbours' load.
  const runsOf = (level: number) => Number(process.env.BENCH_RUNS ?? (level === 1 ? 3 : 2));
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
  console.log(`\n## pack (${fmt(tarBytes / MiB, 0)} MiB of tar, ${files} files: generated logs, random binaries, /usr/share copies; ${availableParallelism()} cores, load ${load} at start; best of ${runsOf(6)} interleaved runs at -6, ${runsOf(1)} at -1)`);
  for (const level of [6, 1]) {
    const out = (name: string) => join(WORK, `pack-${name}-${level}.out`);
    const list: Run[] = [
      // sh -c: GNU time then measures the whole pipeline (tar and xz), as it does glacier-pack and its xz child.
      { label: `tar -cf - | xz -T2 -${level}`, cmd: `sh -c 'tar -cf - -C ${WORK} pack-tree|xz -T2 -${level} -c >${out('base')}'`, out: out('base') },
      { label: `glacier-pack -${level} --xz=program`, cmd: `${bin} -${level} -T2 --xz=program -q -C ${WORK} pack-tree > ${out('program')}`, out: out('program') },
      { label: `glacier-pack -${level} --xz=native`, cmd: `${bin} -${level} -T2 --xz=native -q -C ${WORK} pack-tree > ${out('native')}`, out: out('native') },
    ];
    for (let i = 0; i < runsOf(level); i++) {
      for (const r of list) {
        const t = timed(r.cmd);
        if (t.status !== 0) throw new Error(`${r.label}: exit ${t.status}: ${t.stderr}`);
        if (!r.best || t.wall < r.best.wall) r.best = t;
        r.size = statSync(r.out).size;
      }
    }
    const [base] = list;
    console.log(`level -${level}:`);
    for (const r of list) {
      const t = r.best!;
      const mbs = tarBytes / MiB / t.wall;
      // CPU seconds too: on a shared machine wall time swings with the neighbours' load, CPU much less.
      const vs = r === base ? 'baseline' : `throughput ${ratio(base.best!.wall, t.wall)}x (goal >= 0.9; by CPU ${ratio(base.best!.cpu, t.cpu)}x), size ${ratio(r.size!, base.size!)}x (goal <= 1.02)`;
      console.log(`  ${r.label.padEnd(30)} ${fmt(t.wall).padStart(6)} s ${fmt(mbs, 1).padStart(6)} MiB/s  out ${fmt(r.size! / MiB, 1).padStart(6)} MiB  CPU ${fmt(t.cpu, 1).padStart(5)} s  peak RSS ${fmt(t.rssMiB, 0).padStart(4)} MiB  ${vs}`);
    }
    for (const r of list) rmSync(r.out, { force: true });
  }
}
