// Upload path: glacier-put from a file and from a pipe, over HTTP and over TLS, CPU per GiB against the
// two-SHA-256-pass floor measured in the same run (and against that floor plus what sending the same bytes
// over loopback costs by itself), and peak RSS against (-c + 2) x part size + 100 MiB; with BENCH_BEFORE, the
// same figures for the code before the data-plane change; memory for 1 and 4 GiB piped inputs;
// glacier-treehash against openssl on the same file. Each figure is the median of BENCH_RUNS runs.
import { BEFORE, fmt, GiB, loadavg, randomFile, ratio, ROOT, RUNS, spread, timed, timedRuns, tlsWireFloor, wireFloor, withBenchLocal } from './lib.js';

export async function benchUpload(): Promise<void> {
  const input = randomFile('input-2g.bin', 2 * GiB);
  timed(`cat ${input} > /dev/null`); // warm the page cache
  const o1 = timedRuns(`openssl dgst -sha256 ${input}`);
  const floorPerGiB = o1.cpu; // two passes over 2 GiB: one pass's CPU seconds per GiB, twice
  const wire = await wireFloor(input, 2);
  const withSend = floorPerGiB + wire.send;
  const tlsWire = await tlsWireFloor(input, 2);
  console.log(`\n## upload (2 GiB, glacier-local on the same 2 cores, data on disk; load ${loadavg()}; median of ${RUNS} runs)`);
  console.log(`floor: two openssl dgst -sha256 passes = ${fmt(floorPerGiB)} CPU s/GiB (one pass ${fmt(o1.wall)} s wall)`);
  console.log(`loopback send by itself (cat FILE > /dev/tcp/127.0.0.1/PORT) = ${fmt(wire.send)} CPU s/GiB = ${ratio(wire.send, floorPerGiB)}x floor; floor + send = ${fmt(withSend)} CPU s/GiB = ${ratio(withSend, floorPerGiB)}x floor`);
  console.log(`Node by itself, sending the same bytes in 8 MiB writes: plain TCP ${fmt(tlsWire.plainSend)}, TLS ${fmt(tlsWire.send)} CPU s/GiB (${ratio(tlsWire.send, tlsWire.plainSend)}x); TLS floor + two passes = ${fmt(tlsWire.send + floorPerGiB)}`);
  const http: Record<string, number> = {};
  // 2 GiB in 8 MiB parts (the default for a known size), -c 5: (5 + 2) x 8 + 100 MiB.
  const bound = (5 + 2) * 8 + 100;
  for (const tls of [false, true]) {
    await withBenchLocal(
      async (_local, env) => {
        // What a run costs besides its bytes: a 1 MiB file uploaded (start-up, Initiate/Complete), per build.
        const small = randomFile('input-1m.bin', 2 ** 20);
        const startup: Record<string, number> = {};
        for (const [prefix, root] of [['', ROOT], ...(BEFORE ? [['  before: ', BEFORE]] : [])]) {
          const t = timedRuns(`node ${root}bin/glacier-put -v bench -q ${small}`, env);
          if (t.status !== 0) throw new Error(`start-up: exit ${t.status}: ${t.stderr}`);
          startup[prefix] = t.cpu;
          console.log(`${prefix}glacier-put${tls ? ' over TLS' : ''} of a 1 MiB file (start-up and requests, per run): ${fmt(t.cpu)} CPU s = ${fmt(t.cpu / 2)} CPU s/GiB of a 2 GiB run`);
        }
        for (const [label, args, goal] of [
          ['file', (bin: string) => `${bin} -v bench -q ${input}`, 1.25],
          ['pipe', (bin: string) => `cat ${input} | ${bin} -v bench -q --expected-size 2G`, 1.35],
        ] as const) {
          const builds: [string, string][] = [['', ROOT]];
          if (BEFORE) builds.push(['  before: ', BEFORE]);
          for (const [prefix, root] of builds) {
            const t = timedRuns(args(`node ${root}bin/glacier-put`), env);
            if (t.status !== 0) throw new Error(`${label}: exit ${t.status}: ${t.stderr}`);
            const cpuPerGiB = t.cpu / 2;
            if (!tls) http[prefix + label] = cpuPerGiB;
            const vsHttp = tls
              ? ` = ${ratio(cpuPerGiB, http[prefix + label])}x the same over HTTP (goal <= 1.15), ${ratio(cpuPerGiB, tlsWire.send + floorPerGiB)}x TLS floor + two passes (goal <= 1.1; ${ratio(cpuPerGiB - startup[prefix] / 2, tlsWire.send + floorPerGiB)}x less the start-up above)`
              : `, ${ratio(cpuPerGiB, tlsWire.plainSend + floorPerGiB)}x Node's plain TCP send + two passes (goal <= 1.1; ${ratio(cpuPerGiB - startup[prefix] / 2, tlsWire.plainSend + floorPerGiB)}x less the start-up above)`;
            console.log(
              `${prefix}glacier-put ${label}${tls ? ' over TLS' : ''}: ${fmt(2048 / t.wall, 0)} MiB/s, ${fmt(cpuPerGiB)} CPU s/GiB${spread(t, 2)} = ${ratio(cpuPerGiB, floorPerGiB)}x floor (goal <= ${goal}), ` +
                `${ratio(cpuPerGiB, withSend)}x floor + send${vsHttp}; peak RSS ${fmt(t.rssMax, 0)} MiB (bound ${bound} MiB)`,
            );
          }
        }
      },
      { tls },
    );
  }
  if (process.env.BENCH_SHORT) return;
  await withBenchLocal(async (_local, env) => {
    for (const gib of [1, 4]) {
      const t = timed(`head -c ${gib * GiB} /dev/zero | node ${ROOT}bin/glacier-put -v bench -q`, env);
      if (t.status !== 0) throw new Error(`rss ${gib}: exit ${t.status}: ${t.stderr}`);
      console.log(`glacier-put pipe ${gib} GiB (64 MiB parts, -c 5): peak RSS ${fmt(t.rssMiB, 0)} MiB (bound (5+2) x 64 + 100 = 548 MiB), ${fmt((gib * 1024) / t.wall, 0)} MiB/s`);
    }
  });
  const th = timed(`node ${ROOT}bin/glacier-treehash ${input}`);
  const os = timed(`openssl dgst -sha256 ${input}`);
  console.log(`glacier-treehash 2 GiB: ${fmt(th.wall)} s wall vs openssl dgst -sha256 ${fmt(os.wall)} s = ${ratio(th.wall, os.wall)}x (goal <= 0.75), CPU ${fmt(th.cpu)} s`);
}
