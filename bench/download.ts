// Retrieval: glacier-job output of a 2 GiB archive to /dev/null, CPU per GiB against one SHA-256 pass.
import { fmt, GiB, randomFile, ratio, ROOT, timed, withBenchLocal } from './lib.js';

export async function benchDownload(): Promise<void> {
  const input = randomFile('input-2g.bin', 2 * GiB);
  await withBenchLocal(async (_local, env) => {
    const put = timed(`node ${ROOT}bin/glacier-put -v bench -q ${input}`, env);
    const archiveId = JSON.parse(put.stdout).archiveId as string;
    const job = timed(`node ${ROOT}bin/glacier-job retrieve -v bench -- ${archiveId}`, env);
    const jobId = JSON.parse(job.stdout).JobId as string;
    const o = timed(`openssl dgst -sha256 ${input}`);
    console.log(`\n## download (2 GiB archive from glacier-local on the same 2 cores)`);
    console.log(`floor: one openssl dgst -sha256 pass = ${fmt(o.cpu / 2)} CPU s/GiB`);
    for (const c of [4, 2]) {
      const t = timed(`node ${ROOT}bin/glacier-job output -v bench -c ${c} -- ${jobId} > /dev/null`, env);
      if (t.status !== 0) throw new Error(`output: exit ${t.status}: ${t.stderr}`);
      const cpuPerGiB = t.cpu / 2;
      console.log(`glacier-job output -c ${c} (16 MiB pieces): ${fmt(2048 / t.wall, 0)} MiB/s, ${fmt(cpuPerGiB)} CPU s/GiB = ${ratio(cpuPerGiB, o.cpu / 2)}x floor (goal <= 1.2), peak RSS ${fmt(t.rssMiB, 0)} MiB (bound ${c} x 16 + 100 = ${c * 16 + 100} MiB)`);
    }
  });
}
