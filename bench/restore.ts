// glacier-restore per archive: N archives of 1 KiB (glacier-local's fill) restored to a folder, client CPU per
// archive and peak RSS (GNU time), next to a bare loop making the same requests and file writes in the same run
// (bench/restore-bare.ts), durable as glacier-restore's are (fdatasync'd, the folder fsync'd), and one that
// syncs nothing, for reference. Each measured command gets a vault of its own (no job of another run in its listing,
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
    // BENCH_RESTORE_BEFORE=DIR: another checkout (built) whose glacier-restore is measured too, in the same runs.
    const before = process.env.BENCH_RESTORE_BEFORE;
    const cases: { label: string; cmd: (vault: string, lines: string, out: string) => string }[] = [
      { label: 'bare loop, durable (write, fdatasync, rename, folder fsync)', cmd: (v, l, out) => `cat ${l} | ${process.execPath} ${ROOT}dist/bench/restore-bare.js ${v} ${join(out, v)} ${c} durable` },
      { label: 'bare loop, plain (write, rename; nothing fsync\'d)', cmd: (v, l, out) => `cat ${l} | ${process.execPath} ${ROOT}dist/bench/restore-bare.js ${v} ${join(out, v)} ${c} plain` },
      ...(before ? [{ label: `glacier-restore of ${before}`, cmd: (v: string, l: string, out: string) => `cat ${l} | ${process.execPath} ${before}/bin/glacier-restore -v ${v} --to ${join(out, v)} --state ${join(out, `${v}.jsonl`)} -c ${c} --max-jobs ${n} --interval 1s -q` }] : []),
      {
        label: 'glacier-restore',
        cmd: (v, l, out) => {
          // BENCH_RESTORE_PROFILE=DIR: glacier-restore writes a CPU profile there.
          const prof = process.env.BENCH_RESTORE_PROFILE ? `${process.execPath} --cpu-prof --cpu-prof-dir=${process.env.BENCH_RESTORE_PROFILE} ${ROOT}bin/glacier-restore` : bin('glacier-restore');
          return `cat ${l} | ${prof} -v ${v} --to ${join(out, v)} --state ${join(out, `${v}.jsonl`)} -c ${c} --max-jobs ${n} --interval 1s -q`;
        },
      },
    ];
    const times: Timed[][] = cases.map(() => []);
    console.log(`glacier-restore, ${n} archives of 1 KiB to a folder, -c ${c}, ${RUNS} runs each (load ${loadavg()}):`);
    console.log('  glacier-restore per archive: InitiateJob, ListJobs pages (not a DescribeJob each), GetJobOutput; the file written');
    console.log('  to a temp file, fdatasync\'d, linked into place, the folder fsync\'d; its state records fdatasync\'d (its name before');
    console.log('  its job starts, its job record with the next write, its done record before its line is printed). The bare');
    console.log('  loops: InitiateJob, DescribeJob, GetJobOutput and the file, through one SDK client.');
    for (let i = 0; i < RUNS; i++) {
      const out = mkdtempSync(join(WORK, 'restore-out-'));
      try {
        const line: string[] = [];
        for (const [k, cs] of cases.entries()) {
          const v = `r${i}c${k}`;
          const lines = await vault(v);
          const t = timed(cs.cmd(v, lines, out), env);
          if (t.status !== 0) throw new Error(`${cs.label}: ${t.stderr}`);
          if (cs.label.startsWith('glacier-restore')) {
            const got = readdirSync(join(out, v, 'synthetic')).length;
            if (got !== n) throw new Error(`${cs.label} restored ${got} of ${n}`);
          } else if (readdirSync(join(out, v)).length !== n) throw new Error(`${cs.label} wrote ${readdirSync(join(out, v)).length} of ${n}`);
          times[k].push(t);
          line.push(`${cs.label.split(' (')[0]} ${fmt((t.cpu * 1000) / n)} ms`);
        }
        console.log(`  run ${i + 1}: ${line.join(', ')} CPU per archive (load ${loadavg()})`);
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const per = (ts: Timed[]) => median(ts.map((t) => (t.cpu * 1000) / n));
    const rss = (ts: Timed[]) => median(ts.map((t) => t.rssMiB));
    const wall = (ts: Timed[]) => median(ts.map((t) => t.wall));
    const [durable, plain] = times;
    for (const [k, cs] of cases.entries()) {
      const vs = k === 0 ? '' : ` (${ratio(per(times[k]), per(durable))}x the durable bare loop, ${ratio(per(times[k]), per(plain))}x the plain one)`;
      console.log(`  ${cs.label}: ${fmt(per(times[k]))} ms CPU per archive${vs}, peak RSS ${fmt(rss(times[k]), 0)} MiB, ${fmt(wall(times[k]), 1)} s (medians)`);
    }
  });
}
