// Upload path: glacier-put from a file and from a pipe, CPU per GiB against the two-SHA-256-pass floor,
// memory for 1 and 4 GiB inputs, and glacier-treehash against openssl on the same file.
import { fmt, GiB, randomFile, ratio, ROOT, timed, withBenchLocal } from './lib.js';

export async function benchUpload(): Promise<void> {
  const put = `node ${ROOT}bin/glacier-put`;
  const input = randomFile('input-2g.bin', 2 * GiB);
  await withBenchLocal(async (_local, env) => {
    timed(`cat ${input} > /dev/null`); // warm the page cache
    const o1 = timed(`openssl dgst -sha256 ${input}`);
    const o2 = timed(`openssl dgst -sha256 ${input}`);
    const floorPerGiB = (o1.cpu + o2.cpu) / 2;
    console.log(`\n## upload (2 GiB, glacier-local on the same 2 cores, data on disk)`);
    console.log(`floor: two openssl dgst -sha256 passes = ${fmt(floorPerGiB)} CPU s/GiB (one pass ${fmt(o1.wall)} s wall)`);
    for (const [label, cmd] of [
      ['file', `${put} -v bench -q ${input}`],
      ['pipe', `cat ${input} | ${put} -v bench -q --expected-size 2G`],
    ] as const) {
      const t = timed(cmd, env);
      if (t.status !== 0) throw new Error(`${label}: exit ${t.status}: ${t.stderr}`);
      const cpuPerGiB = t.cpu / 2;
      console.log(`glacier-put ${label}: ${fmt(2048 / t.wall, 0)} MiB/s, ${fmt(cpuPerGiB)} CPU s/GiB = ${ratio(cpuPerGiB, floorPerGiB)}x floor (goal <= 1.3), peak RSS ${fmt(t.rssMiB, 0)} MiB`);
    }
    for (const gib of [1, 4]) {
      const t = timed(`head -c ${gib * GiB} /dev/zero | ${put} -v bench -q`, env);
      if (t.status !== 0) throw new Error(`rss ${gib}: exit ${t.status}: ${t.stderr}`);
      console.log(`glacier-put pipe ${gib} GiB (64 MiB parts, -c 5): peak RSS ${fmt(t.rssMiB, 0)} MiB (bound (5+2) x 64 + 100 = 548 MiB), ${fmt((gib * 1024) / t.wall, 0)} MiB/s`);
    }
    const th = timed(`node ${ROOT}bin/glacier-treehash ${input}`);
    const os = timed(`openssl dgst -sha256 ${input}`);
    console.log(`glacier-treehash 2 GiB: ${fmt(th.wall)} s wall vs openssl dgst -sha256 ${fmt(os.wall)} s = ${ratio(th.wall, os.wall)}x (goal <= 0.75), CPU ${fmt(th.cpu)} s`);
  });
}
