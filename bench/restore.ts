// glacier-restore per archive: N archives of 1 KiB (glacier-local's fill) restored to a folder, client CPU per
// archive and peak RSS (GNU time), next to a bare loop making the same requests and file writes in the same run
// (bench/restore-bare.ts). Memory that grows per archive shows as RSS past the bare loop's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, loadavg, ratio, ROOT, timed, withBenchLocal, WORK } from './lib.js';

export async function benchRestore(n = Number(process.env.BENCH_RESTORE_ARCHIVES ?? 20_000)): Promise<void> {
  await withBenchLocal(async (local, env) => {
    await local.admin('POST', 'fill', { vault: 'bench', count: n, size: 1024, description: 'synthetic/archive-{i}.bin' });
    const bin = (name: string) => `${process.execPath} ${ROOT}bin/${name}`;
    const inv = JSON.parse(execFileSync('bash', ['-c', `${bin('glacier-job')} inventory -v bench`], { env, encoding: 'utf8' })).JobId as string;
    execFileSync('bash', ['-c', `${bin('glacier-job')} wait -v bench --interval 200ms -- ${inv}`], { env });
    const lines = join(WORK, 'restore-bench-archives.jsonl');
    writeFileSync(lines, execFileSync('bash', ['-c', `${bin('glacier-job')} output -v bench --archives -- ${inv}`], { env, maxBuffer: 1 << 30 }));
    const c = 2;
    const outBare = mkdtempSync(join(WORK, 'restore-bare-'));
    const outOurs = mkdtempSync(join(WORK, 'restore-ours-'));
    try {
      console.log(`glacier-restore, ${n} archives of 1 KiB to a folder, -c ${c} (load ${loadavg()}):`);
      const bare = timed(`cat ${lines} | ${process.execPath} ${ROOT}dist/bench/restore-bare.js bench ${outBare} ${c}`, env);
      if (bare.status !== 0) throw new Error(`bare loop: ${bare.stderr}`);
      // BENCH_RESTORE_PROFILE=DIR: glacier-restore writes a CPU profile there.
      const prof = process.env.BENCH_RESTORE_PROFILE ? `${process.execPath} --cpu-prof --cpu-prof-dir=${process.env.BENCH_RESTORE_PROFILE} ${ROOT}bin/glacier-restore` : bin('glacier-restore');
      const ours = timed(`cat ${lines} | ${prof} -v bench --to ${outOurs} --state ${join(outOurs, '..', `state-${Date.now()}.jsonl`)} -c ${c} --max-jobs ${n} --interval 1s -q`, env);
      if (ours.status !== 0) throw new Error(`glacier-restore: ${ours.stderr}`);
      const got = readdirSync(join(outOurs, 'synthetic')).length;
      if (got !== n) throw new Error(`glacier-restore restored ${got} of ${n}`);
      const per = (t: { cpu: number }) => (t.cpu * 1000) / n;
      console.log(`  bare loop (same requests and file writes): ${fmt(per(bare))} ms CPU per archive, peak RSS ${fmt(bare.rssMiB, 0)} MiB, ${fmt(bare.wall, 1)} s`);
      console.log(`  glacier-restore: ${fmt(per(ours))} ms CPU per archive (${ratio(per(ours), per(bare))}x the bare loop), peak RSS ${fmt(ours.rssMiB, 0)} MiB (${ratio(ours.rssMiB, bare.rssMiB)}x), ${fmt(ours.wall, 1)} s`);
    } finally {
      rmSync(outBare, { recursive: true, force: true });
      rmSync(outOurs, { recursive: true, force: true });
    }
  });
}
