// glacier-restore per archive: N archives of 1 KiB (glacier-local's fill) restored to a folder, client CPU per
// archive and peak RSS (GNU time), next to a bare loop making the same requests and file writes in the same run
// (bench/restore-bare.ts). Each measured command gets a vault of its own (no job of another run in its listing,
// none to take up), and each is run BENCH_RUNS times (default 3), alternating; the figures are the medians.
// Memory that grows per archive shows as RSS past the bare loop's.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Local } from '../test/helpers/local.js';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { fmt, loadavg, ratio, ROOT, RUNS, timed, withBenchLocal, WORK, type Timed } from './lib.js';

export async function benchRestore(n = Number(process.env.BENCH_RESTORE_ARCHIVES ?? 20_000)): Promise<void> {
  await withBenchLocal(async (local, env) => {
    const bin = (name: string) => `${process.execPath} ${ROOT}bin/${name}`;
    /** A vault of its own holding `n` archives of 1 KiB, and their lines (glacier-job output --archives). */
    const vault = async (name: string): Promise<string> => {
      await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: name }));
      await (local as Local).admin('POST', 'fill', { vault: name, count: n, size: 1024, description: 'synthetic/archive-{i}.bin' });
      const inv = JSON.parse(execFileSync('bash', ['-c', `${bin('glacier-job')} inventory -v ${name}`], { env, encoding: 'utf8' })).JobId as string;
      const lines = join(WORK, `restore-bench-${name}.jsonl`);
      writeFileSync(lines, execFileSync('bash', ['-c', `${bin('glacier-job')} output -v ${name} --wait --interval 200ms --archives -- ${inv}`], { env, maxBuffer: 1 << 30 }));
      return lines;
    };
    const c = 2;
    const bare: Timed[] = [];
    const ours: Timed[] = [];
    console.log(`glacier-restore, ${n} archives of 1 KiB to a folder, -c ${c}, ${RUNS} runs each (load ${loadavg()}):`);
    for (let i = 0; i < RUNS; i++) {
      const out = mkdtempSync(join(WORK, 'restore-out-'));
      try {
        const vb = `bare${i}`;
        const b = timed(`cat ${await vault(vb)} | ${process.execPath} ${ROOT}dist/bench/restore-bare.js ${vb} ${join(out, 'bare')} ${c}`, env);
        if (b.status !== 0) throw new Error(`bare loop: ${b.stderr}`);
        bare.push(b);
        const vo = `ours${i}`;
        // BENCH_RESTORE_PROFILE=DIR: glacier-restore writes a CPU profile there.
        const prof = process.env.BENCH_RESTORE_PROFILE ? `${process.execPath} --cpu-prof --cpu-prof-dir=${process.env.BENCH_RESTORE_PROFILE} ${ROOT}bin/glacier-restore` : bin('glacier-restore');
        const o = timed(`cat ${await vault(vo)} | ${prof} -v ${vo} --to ${join(out, 'ours')} --state ${join(out, 'state.jsonl')} -c ${c} --max-jobs ${n} --interval 1s -q`, env);
        if (o.status !== 0) throw new Error(`glacier-restore: ${o.stderr}`);
        const got = readdirSync(join(out, 'ours', 'synthetic')).length;
        if (got !== n) throw new Error(`glacier-restore restored ${got} of ${n}`);
        ours.push(o);
        console.log(`  run ${i + 1}: bare ${fmt((b.cpu * 1000) / n)} ms, glacier-restore ${fmt((o.cpu * 1000) / n)} ms CPU per archive (load ${loadavg()})`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const per = (ts: Timed[]) => median(ts.map((t) => (t.cpu * 1000) / n));
    const rss = (ts: Timed[]) => median(ts.map((t) => t.rssMiB));
    const wall = (ts: Timed[]) => median(ts.map((t) => t.wall));
    console.log(`  bare loop (same requests and file writes): ${fmt(per(bare))} ms CPU per archive, peak RSS ${fmt(rss(bare), 0)} MiB, ${fmt(wall(bare), 1)} s (medians)`);
    console.log(`  glacier-restore: ${fmt(per(ours))} ms CPU per archive (${ratio(per(ours), per(bare))}x the bare loop), peak RSS ${fmt(rss(ours), 0)} MiB (${ratio(rss(ours), rss(bare))}x), ${fmt(wall(ours), 1)} s (medians)`);
  });
}
