// glacier-restore --status: every figure agrees with the state as written, during a run and after kill -9. Archives
// done and their bytes are those the state's `done` records name (this run's included, every earlier run's too),
// the jobs waiting, ready and downloading add up to the jobs outstanding, and the total is never below the bytes
// done. The run is stopped (SIGSTOP) while --status reads it, so that its stdout lines and the files in the
// destination can be compared with what --status says.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keyOf } from '../src/restore/journal.js';
import type { RestoreStatus as Status } from '../src/restore/status.js';
import { run, show, start, type Started } from './helpers/bins.js';
import { restoreFixture, type RestoreFixture } from './helpers/restore-fixture.js';
import { until, within } from './helpers/time.js';

const VAULT = 'status-counts';
// Big archives first (each takes a while at the rate set), then small ones.
const SIZES = [...Array<number>(6).fill(1_500_000), ...Array<number>(20).fill(200_000)];
const N = SIZES.length;

describe('glacier-restore --status: figures that agree with the state as written', () => {
  let f: RestoreFixture;
  let out: string;
  let state: string;
  let sizeOf: Map<string, number>; // by journal key
  let args: string[];
  before(async () => {
    f = await restoreFixture(VAULT, ['--job-delay', '0'], SIZES, { prefix: 'restore-status-counts-' });
    out = join(f.work, 'out');
    state = join(f.work, 'st.jsonl');
    sizeOf = new Map([...f.data].map(([id, b]) => [keyOf(id), b.length]));
    args = ['-v', VAULT, '--to', out, '--state', state, '--interval', '1s', '--limit-rate', '2M', '-c', '2'];
  });
  after(async () => {
    await f?.local.stop();
    if (f) rmSync(f.work, { recursive: true, force: true });
  });

  /** The archive ids of the `done` lines a run printed so far (those it found done before this run left out). */
  const doneLines = (stdout: string, o: { before?: boolean } = {}): string[] =>
    stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { archiveId?: string; status?: string; before?: boolean })
      .filter((l) => l.status === 'done' && (o.before || !l.before))
      .map((l) => l.archiveId!);

  /** The keys of the archives the state's `done` records name, read from the file as written. */
  const doneInState = (): Set<string> => {
    const keys = new Set<string>();
    for (const line of readFileSync(state, 'utf8').split('\n')) {
      let l: { t?: string; k?: string } | null = null;
      try {
        l = JSON.parse(line);
      } catch {
        continue; // a line cut by the kill
      }
      if (l?.t === 'done') keys.add(l.k!);
    }
    return keys;
  };

  /**
   * Restored files in the destination, with their sizes: not a download in progress (NAME.partial and its records,
   * or the temp file .glacier-restore-*.tmp of an archive that comes in one piece).
   */
  const filesOnDisk = (): Map<string, number> =>
    new Map(readdirSync(out).filter((n) => !n.includes('.partial') && !n.startsWith('.glacier-restore-')).map((n) => [n, statSync(join(out, n)).size]));

  const status = async (): Promise<Status> => {
    const r = await run('glacier-restore', ['--status', '--state', state, '--json'], { env: f.env });
    assert.equal(r.code, 0, show(r));
    return JSON.parse(r.stdout.toString('utf8')) as Status;
  };

  /** Every figure of `st` against the state file, the files on disk and the `done` lines printed (`printed`). */
  const check = (st: Status, printed: string[], when: string) => {
    const keys = doneInState();
    const files = filesOnDisk();
    const sum = (ks: Iterable<string>) => [...ks].reduce((n, k) => n + sizeOf.get(k)!, 0);
    assert.equal(st.done, keys.size, `${when}: done is the archives the state records done`);
    assert.equal(st.bytesDone, sum(keys), `${when}: bytesDone is the bytes of the archives the state records done`);
    // Each line printed was recorded done first; each archive recorded done is in the destination, whole.
    for (const id of printed) assert.ok(keys.has(keyOf(id)), `${when}: ${id}, printed done, is done in the state`);
    assert.ok(st.done >= printed.length, `${when}: ${st.done} done, ${printed.length} printed`);
    const bytesPrinted = printed.reduce((n, id) => n + f.data.get(id)!.length, 0);
    assert.ok(st.bytesDone >= bytesPrinted, `${when}: ${st.bytesDone} bytes done, ${bytesPrinted} printed done`);
    const bytesOnDisk = [...files.values()].reduce((a, b) => a + b, 0);
    assert.ok(st.bytesDone <= bytesOnDisk, `${when}: ${st.bytesDone} bytes done, ${bytesOnDisk} on disk`);
    // A file linked into place whose record was not yet written (at most one a download going on) is the only gap.
    assert.ok(files.size >= st.done && files.size <= st.done + 2, `${when}: ${files.size} files, ${st.done} done`);
    for (const [id, body] of f.data) {
      if (!keys.has(keyOf(id))) continue;
      const name = JSON.parse(f.jsonl.split('\n').find((l) => l.includes(id))!).ArchiveDescription as string;
      assert.equal(files.get(name), body.length, `${when}: ${name}, done in the state, is on disk whole`);
    }
    // Jobs: the split adds up to the jobs outstanding, none negative; totals never below what is done.
    for (const k of ['waiting', 'ready', 'downloading'] as const) assert.ok(st[k] >= 0, `${when}: ${k} ${st[k]}`);
    assert.equal(st.waiting + st.ready + st.downloading, st.jobsOutstanding, `${when}: ${JSON.stringify(st)}`);
    assert.ok(st.done + st.jobsOutstanding <= N, `${when}: ${st.done} done + ${st.jobsOutstanding} outstanding of ${N}`);
    assert.ok(st.archives >= st.done + st.jobsOutstanding, `${when}: ${st.archives} archives`);
    assert.ok(st.bytes >= st.bytesDone, `${when}: bytes ${st.bytes} below bytesDone ${st.bytesDone}`);
    if (st.running === null) assert.equal(st.downloading, 0, `${when}: no run, nothing downloading`);
  };

  /** Starts the run and resolves once it printed `n` archives done by itself; `lines()` is its stdout so far. */
  const startRun = async (n: number): Promise<{ p: Started; lines: () => string }> => {
    const p = start('glacier-restore', args, { env: f.env, input: f.jsonl });
    let text = '';
    p.proc.stdout!.on('data', (d: Buffer) => (text += d.toString('utf8')));
    await until(() => doneLines(text).length >= n || p.proc.exitCode !== null, `${n} archive(s) done`, 60_000);
    assert.equal(p.proc.exitCode, null, `the run ended early: ${p.stderr()}`);
    return { p, lines: () => text };
  };

  it('during a run (stopped while read) and after kill -9, then after a second run killed', { timeout: within(240_000) }, async () => {
    // 1. During the run: stopped once it printed an archive done.
    const first = await startRun(1);
    first.p.proc.kill('SIGSTOP');
    const during = await status();
    assert.equal(during.running, first.p.proc.pid);
    check(during, doneLines(first.lines()), 'during the run');
    assert.ok(during.done >= 1 && during.bytesDone >= 1_500_000, JSON.stringify(during));

    // 2. kill -9 (stopped as it is): nothing downloads now; the killed run's downloads count as ready.
    first.p.proc.kill('SIGKILL');
    const r1 = await first.p.done;
    assert.equal(r1.signal, 'SIGKILL');
    const killed = await status();
    assert.equal(killed.running, null);
    check(killed, doneLines(r1.stdout.toString('utf8')), 'after kill -9');
    assert.ok(killed.ready <= killed.jobsOutstanding);

    // 3. A second run, killed once it has done an archive of its own: bytesDone counts both runs'.
    const second = await startRun(1);
    second.p.proc.kill('SIGKILL');
    const r2 = await second.p.done;
    assert.equal(r2.signal, 'SIGKILL');
    const printed2 = doneLines(r2.stdout.toString('utf8'));
    const again = await status();
    check(again, [...doneLines(r1.stdout.toString('utf8')), ...printed2], 'after a second kill -9');
    assert.ok(again.done >= killed.done + printed2.length, `${again.done} done after, ${killed.done} before, ${printed2.length} by the second run`);

    // 4. A run to the end: everything done, every figure at its total.
    const r3 = await run('glacier-restore', args, { env: f.env, input: f.jsonl });
    assert.equal(r3.code, 0, show(r3));
    const end = await status();
    check(end, doneLines(r3.stdout.toString('utf8'), { before: true }), 'after the last run');
    const total = SIZES.reduce((a, b) => a + b, 0);
    assert.deepEqual([end.done, end.bytesDone, end.bytes, end.jobsOutstanding], [N, total, total, 0]);
  });
});
