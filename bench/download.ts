// Retrieval: glacier-job output of a 2 GiB archive to /dev/null, over HTTP and over TLS, CPU per GiB against one
// SHA-256 pass measured in the same run (and against that pass plus what receiving the same bytes over loopback
// costs by itself), and peak RSS against -c x piece size + 100 MiB; with BENCH_BEFORE, the same figures for the
// code before the data-plane change. Each figure is the median of BENCH_RUNS runs.
import { BEFORE, fmt, GiB, loadavg, randomFile, ratio, ROOT, RUNS, spread, timed, timedRuns, wireFloor, withBenchLocal } from './lib.js';

export async function benchDownload(): Promise<void> {
  const input = randomFile('input-2g.bin', 2 * GiB);
  const o = timedRuns(`openssl dgst -sha256 ${input}`);
  const floor = o.cpu / 2;
  const wire = await wireFloor(input, 2);
  const withReceive = floor + wire.receive;
  console.log(`\n## download (2 GiB archive from glacier-local on the same 2 cores, data on disk; load ${loadavg()}; median of ${RUNS} runs)`);
  console.log(`floor: one openssl dgst -sha256 pass = ${fmt(floor)} CPU s/GiB`);
  console.log(`loopback receive by itself (cat < /dev/tcp/127.0.0.1/PORT > /dev/null) = ${fmt(wire.receive)} CPU s/GiB = ${ratio(wire.receive, floor)}x floor; floor + receive = ${fmt(withReceive)} CPU s/GiB`);
  console.log(`the same bytes landed in four 16 MiB piece buffers by a bare node process (socket onread, nothing else) = ${fmt(wire.landed)} CPU s/GiB = ${ratio(wire.landed, floor)}x floor; floor + landed = ${fmt(floor + wire.landed)} CPU s/GiB = ${ratio(floor + wire.landed, floor)}x floor`);
  for (const tls of [false, true]) {
    await withBenchLocal(
      async (_local, env) => {
        const put = timed(`node ${ROOT}bin/glacier-put -v bench -q ${input}`, env);
        if (put.status !== 0) throw new Error(`put: exit ${put.status}: ${put.stderr}`);
        const archiveId = JSON.parse(put.stdout).archiveId as string;
        const job = timed(`node ${ROOT}bin/glacier-job retrieve -v bench -- ${archiveId}`, env);
        const jobId = JSON.parse(job.stdout).JobId as string;
        for (const c of [4, 2]) {
          const builds: [string, string][] = [['', ROOT]];
          if (BEFORE && !tls) builds.push(['  before: ', BEFORE]); // the code before had no TLS
          for (const [prefix, root] of builds) {
            const t = timedRuns(`node ${root}bin/glacier-job output -v bench -c ${c} -- ${jobId} > /dev/null`, env);
            if (t.status !== 0) throw new Error(`output: exit ${t.status}: ${t.stderr}`);
            const cpuPerGiB = t.cpu / 2;
            console.log(
              `${prefix}glacier-job output${tls ? ' over TLS' : ''} -c ${c} (16 MiB pieces): ${fmt(2048 / t.wall, 0)} MiB/s, ${fmt(cpuPerGiB)} CPU s/GiB${spread(t, 2)} = ${ratio(cpuPerGiB, floor)}x floor (goal <= 1.5), ` +
                `${ratio(cpuPerGiB, withReceive)}x floor + receive; peak RSS ${fmt(t.rssMax, 0)} MiB (bound ${c} x 16 + 100 = ${c * 16 + 100} MiB)`,
            );
          }
        }
      },
      { tls },
    );
  }
}
