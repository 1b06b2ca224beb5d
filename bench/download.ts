// Retrieval: glacier-job output of a 2 GiB archive to /dev/null, over HTTP and over TLS, CPU per GiB against one
// SHA-256 pass measured in the same run, and peak RSS against -c x piece size + 100 MiB.
import { fmt, GiB, loadavg, randomFile, ratio, ROOT, timed, withBenchLocal } from './lib.js';

export async function benchDownload(): Promise<void> {
  const input = randomFile('input-2g.bin', 2 * GiB);
  const o = timed(`openssl dgst -sha256 ${input}`);
  console.log(`\n## download (2 GiB archive from glacier-local on the same 2 cores, data on disk; load ${loadavg()})`);
  console.log(`floor: one openssl dgst -sha256 pass = ${fmt(o.cpu / 2)} CPU s/GiB`);
  for (const tls of [false, true]) {
    await withBenchLocal(
      async (_local, env) => {
        const put = timed(`node ${ROOT}bin/glacier-put -v bench -q ${input}`, env);
        if (put.status !== 0) throw new Error(`put: exit ${put.status}: ${put.stderr}`);
        const archiveId = JSON.parse(put.stdout).archiveId as string;
        const job = timed(`node ${ROOT}bin/glacier-job retrieve -v bench -- ${archiveId}`, env);
        const jobId = JSON.parse(job.stdout).JobId as string;
        for (const c of [4, 2]) {
          const t = timed(`node ${ROOT}bin/glacier-job output -v bench -c ${c} -- ${jobId} > /dev/null`, env);
          if (t.status !== 0) throw new Error(`output: exit ${t.status}: ${t.stderr}`);
          const cpuPerGiB = t.cpu / 2;
          console.log(
            `glacier-job output${tls ? ' over TLS' : ''} -c ${c} (16 MiB pieces): ${fmt(2048 / t.wall, 0)} MiB/s, ${fmt(cpuPerGiB)} CPU s/GiB = ${ratio(cpuPerGiB, o.cpu / 2)}x floor (goal <= 1.5), ` +
              `peak RSS ${fmt(t.rssMiB, 0)} MiB (bound ${c} x 16 + 100 = ${c * 16 + 100} MiB)`,
          );
        }
      },
      { tls },
    );
  }
}
