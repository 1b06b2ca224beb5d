// glacier-restore --to DIR holds a lock in DIR itself for the run: a second run writing into the same folder (by a
// symbolic link to it, or with another --state) refuses at once (exit 2, naming the holder) and pays for no job; the
// lock of a gone process (kill -9, a planted stale one) is taken over; another host's is refused; disjoint shards
// share a folder while overlapping ones refuse; an archive described like the lock file restores; no lock is left
// behind after a run.
import { CreateVaultCommand, ListJobsCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shardsOverlap } from '../src/restore/dest-lock.js';
import { inShard } from '../src/restore/shard.js';
import { run, sh, show, start, type Ran, type Started } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

type Rec = Record<string, any>;
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const LOCK = '.glacier-restore-run.lock';

describe('glacier-restore: the destination folder is locked for a run', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const data = new Map<string, Buffer>();
  useLocal('glacier-restore-dest-lock-', (l, w) => {
    [local, work] = [l, w];
    env = { ...local.env, XDG_STATE_HOME: join(work, 'xdg') };
  });

  /** A vault of `count` archives (f0.bin...; `descriptions` instead when given); resolves with the input lines. */
  async function vault(name: string, count: number, descriptions: string[] = []): Promise<{ ids: string[]; jsonl: string }> {
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: name }));
    const ids: string[] = [];
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const body = randomBytes(1000 + i * 37);
      const description = descriptions[i] ?? `f${i}.bin`;
      const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: name, body, archiveDescription: description }));
      data.set(r.archiveId!, body);
      ids.push(r.archiveId!);
      lines.push(JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: description, CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: r.checksum }));
    }
    return { ids, jsonl: `${lines.join('\n')}\n` };
  }

  /** The vault's retrieval jobs (ListJobs, every page). */
  async function jobs(name: string): Promise<{ JobId?: string; ArchiveId?: string; StatusCode?: string; Action?: string }[]> {
    const all = [];
    let marker: string | undefined;
    do {
      const r = await local.client().send(new ListJobsCommand({ accountId: '-', vaultName: name, marker }));
      all.push(...(r.JobList ?? []).filter((j) => j.Action === 'ArchiveRetrieval'));
      marker = r.Marker ?? undefined;
    } while (marker);
    return all;
  }
  /** Retrieval jobs per archive id. */
  async function perArchive(name: string): Promise<Map<string, number>> {
    const n = new Map<string, number>();
    for (const j of await jobs(name)) n.set(j.ArchiveId!, (n.get(j.ArchiveId!) ?? 0) + 1);
    return n;
  }
  /** Completes every job still in progress (glacier-local runs with a 1 h job delay meanwhile). */
  async function completeAll(name: string): Promise<void> {
    for (const j of await jobs(name)) if (j.StatusCode === 'InProgress') await local.admin('POST', `jobs/${j.JobId}/complete`);
  }
  /** Resolves with the run's end, or rejects when it has not ended within `ms` (scaled). */
  async function ended(s: Started, what: string, ms = 30_000): Promise<Ran> {
    let r: Ran | undefined;
    void s.done.then((x) => (r = x));
    await until(() => r, what, ms);
    return r!;
  }
  /** Asserts that every archive of `ids` has exactly one retrieval job in the vault, and no other job exists. */
  async function oneJobEach(name: string, ids: string[]): Promise<void> {
    const n = await perArchive(name);
    assert.deepEqual([...n.keys()].sort(), [...ids].sort(), 'a job for every archive, none for another');
    const twice = [...n].filter(([, c]) => c !== 1);
    assert.deepEqual(twice, [], 'exactly one retrieval job per archive');
  }

  /**
   * Run A restores `count` archives into DIR; once its jobs are all started (job delay 1 h), run B is started with
   * `second` (another path, another state): B must refuse at once; then the jobs complete and A ends with every
   * archive restored, one job each.
   */
  async function secondRunRefused(name: string, second: (dir: string) => { to: string; state: string }): Promise<void> {
    const { ids, jsonl } = await vault(name, 12);
    const dir = join(work, `${name}-out`);
    mkdirSync(dir);
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    let a: Started | undefined;
    try {
      a = start('glacier-restore', ['-v', name, '--to', dir, '--state', join(work, `${name}-a.jsonl`), '--interval', '200ms'], { env, input: jsonl });
      await until(async () => (await jobs(name)).length === ids.length, 'run A to start its jobs', 30_000);
      const b = second(dir);
      const rb = await ended(start('glacier-restore', ['-v', name, '--to', b.to, '--state', b.state, '--interval', '200ms'], { env, input: jsonl }), 'run B to refuse');
      assert.equal(rb.code, 2, show(rb));
      const lines = rb.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line on stderr: ${rb.stderr}`);
      assert.match(lines[0], new RegExp(`^glacier-restore: .* is in use by process ${a.proc.pid} \\(another glacier-restore restoring into that folder, lock .*${LOCK.replace(/\./g, '\\.')}\\); wait for it to end, or restore into another folder$`));
      assert.equal(rb.stdout.length, 0, 'no record from the refused run');
      assert.equal(readFileSync(join(dir, LOCK), 'utf8'), `${a.proc.pid} ${hostname()}\n`, 'the lock in the folder names run A');
      await local.admin('PUT', 'config', { jobDelay: '0' });
      await completeAll(name);
      const ra = await ended(a, 'run A to end', 60_000);
      assert.equal(ra.code, 0, show(ra));
      const summary = records(ra.stdout).find((r) => r.summary)!;
      assert.equal(summary.done, ids.length, show(ra));
      for (const [i, id] of ids.entries()) assert.ok(readFileSync(join(dir, `f${i}.bin`)).equals(data.get(id)!), `f${i}.bin`);
      await oneJobEach(name, ids);
      assert.deepEqual(readdirSync(dir).sort(), ids.map((_, i) => `f${i}.bin`).sort(), 'only the archives in the folder: no lock left behind');
    } finally {
      a?.proc.kill('SIGKILL');
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  }

  it('a second run into the same folder through a symbolic link to it refuses at once; the first completes, one job per archive', { timeout: within(120_000) }, async () => {
    await secondRunRefused('alias', (dir) => {
      const link = join(work, 'alias-link');
      symlinkSync(dir, link);
      return { to: link, state: join(work, 'alias-b.jsonl') };
    });
  });

  it('a second run with another --state and the same --to refuses at once; the first completes, one job per archive', { timeout: within(120_000) }, async () => {
    await secondRunRefused('states', (dir) => ({ to: dir, state: join(work, 'states-b.jsonl') }));
  });

  it('two runs started at the same instant into one folder (one through a link, another --state): one refuses, the other completes, one job per archive', { timeout: within(120_000) }, async () => {
    const { ids, jsonl } = await vault('instant', 12);
    const dir = join(work, 'instant-out');
    mkdirSync(dir);
    const link = join(work, 'instant-link');
    symlinkSync(dir, link);
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    const runs: Started[] = [];
    try {
      for (const [to, state] of [[dir, 'instant-a.jsonl'], [link, 'instant-b.jsonl']]) runs.push(start('glacier-restore', ['-v', 'instant', '--to', to, '--state', join(work, state), '--interval', '200ms'], { env, input: jsonl }));
      const refused = await until(async () => {
        for (const [i, s] of runs.entries()) if (s.proc.exitCode !== null) return { i, r: await s.done };
        return undefined;
      }, 'one of the two runs to refuse', 30_000);
      assert.equal(refused.r.code, 2, show(refused.r));
      const winner = runs[1 - refused.i];
      assert.match(refused.r.stderr, new RegExp(`^glacier-restore: .* is in use by process ${winner.proc.pid} \\(another glacier-restore restoring into that folder`));
      await until(async () => (await jobs('instant')).length === ids.length, 'the other run to start its jobs', 30_000);
      await local.admin('PUT', 'config', { jobDelay: '0' });
      await completeAll('instant');
      const r = await ended(winner, 'the other run to end', 60_000);
      assert.equal(r.code, 0, show(r));
      await oneJobEach('instant', ids);
      assert.deepEqual(readdirSync(dir).sort(), ids.map((_, i) => `f${i}.bin`).sort(), 'only the archives: no lock left behind');
    } finally {
      for (const s of runs) s.proc.kill('SIGKILL');
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  });

  it('a lock left by a gone process of this host is taken over; a kill -9 run does not block the next; another host\'s lock is refused', { timeout: within(120_000) }, async () => {
    const { ids, jsonl } = await vault('stale', 5);
    const dir = join(work, 'stale-out');
    mkdirSync(dir);
    // A process that has ended: its pid names no process now.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    // Another host's lock: never taken over from here.
    writeFileSync(join(dir, LOCK), `${gone} elsewhere.example\n`, { mode: 0o600 });
    const other = await run('glacier-restore', ['-v', 'stale', '--to', dir, '--state', join(work, 'stale.jsonl'), '--interval', '200ms'], { env, input: jsonl });
    assert.equal(other.code, 2, show(other));
    assert.match(other.stderr, new RegExp(`^glacier-restore: .* is in use by process ${gone} on elsewhere\\.example .*; wait for it to end, or restore into another folder; if that process is gone \\(its host stopped\\), remove .*${LOCK.replace(/\./g, '\\.')}\\n$`));
    assert.deepEqual(await jobs('stale'), [], 'no job started');
    writeFileSync(join(dir, LOCK), `${gone} ${hostname()}\n`, { mode: 0o600 });

    // A run killed (kill -9) while it holds the lock: the lock stays, and the next run takes it over.
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    try {
      const a = start('glacier-restore', ['-v', 'stale', '--to', dir, '--state', join(work, 'stale.jsonl'), '--interval', '200ms'], { env, input: jsonl });
      await until(async () => (await jobs('stale')).length === ids.length, 'the run to start its jobs', 30_000);
      assert.equal(readFileSync(join(dir, LOCK), 'utf8'), `${a.proc.pid} ${hostname()}\n`, 'the stale lock was taken over');
      a.proc.kill('SIGKILL');
      await a.done;
      assert.equal(readFileSync(join(dir, LOCK), 'utf8'), `${a.proc.pid} ${hostname()}\n`, 'kill -9 leaves its lock');
    } finally {
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
    await completeAll('stale');
    const r = await run('glacier-restore', ['-v', 'stale', '--to', dir, '--state', join(work, 'stale.jsonl'), '--interval', '200ms'], { env, input: jsonl });
    assert.equal(r.code, 0, show(r));
    assert.equal(records(r.stdout).find((x) => x.summary)!.jobsStarted, 0, show(r));
    await oneJobEach('stale', ids);
    assert.deepEqual(readdirSync(dir).sort(), ids.map((_, i) => `f${i}.bin`).sort(), 'only the archives: the lock removed at the end');
  });

  // Root only: the run must be another user than the lock's owner (root may remove any file).
  it('a gone process\'s lock owned by another user in a sticky folder: exit 2 in one line saying who may remove it (not a raw EPERM), the lock left', { timeout: within(60_000), skip: process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0 ? 'needs root and setpriv' : false }, async (t) => {
    // The checkout must be readable by that user (a clone in a 0700 folder is not).
    const can = await sh('exec setpriv --reuid=65533 --regid=65533 --clear-groups "$NODE" "$BIN/glacier-restore" --version', [], { env }).done;
    if (can.code !== 0) return t.skip('the checkout is not readable by another user here');
    const { jsonl } = await vault('sticky', 2);
    // A folder every user may enter, holding a shared folder with the sticky bit, as /tmp is.
    const top = join(work, 'sticky-top');
    mkdirSync(top, { mode: 0o755 });
    chmodSync(work, 0o755);
    const dir = join(top, 'shared');
    mkdirSync(dir);
    chmodSync(dir, 0o1777);
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, LOCK), `${gone} ${hostname()}\n`, { mode: 0o644 });
    chownSync(join(dir, LOCK), 65534, 65534);
    const home = join(top, 'home');
    mkdirSync(home);
    chownSync(home, 65533, 65533);
    const r = await sh('exec setpriv --reuid=65533 --regid=65533 --clear-groups "$NODE" "$BIN/glacier-restore" "$@"', ['-v', 'sticky', '--to', dir, '--state', join(home, 'state.jsonl'), '--interval', '200ms'], { env: { ...env, HOME: home, XDG_STATE_HOME: home }, input: jsonl }).done;
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, new RegExp(`^glacier-restore: cannot lock ${dir.replace(/[./]/g, '\\$&')} for this run: .*${LOCK.replace(/\./g, '\\.')} is left by process ${gone}, which is gone, and cannot be removed by this user \\(EPERM: .*\\); remove it as its owner or root\\n$`));
    assert.equal(readFileSync(join(dir, LOCK), 'utf8'), `${gone} ${hostname()}\n`, 'the lock is left as it was');
    assert.deepEqual(await jobs('sticky'), [], 'no job started');
    // As such locks are written: 0600, so the other user cannot even read who holds it (before: "names no holder;
    // remove it", which that user cannot do, and said so of a live run too).
    chmodSync(join(dir, LOCK), 0o600);
    const r2 = await sh('exec setpriv --reuid=65533 --regid=65533 --clear-groups "$NODE" "$BIN/glacier-restore" "$@"', ['-v', 'sticky', '--to', dir, '--state', join(home, 'state.jsonl'), '--interval', '200ms'], { env: { ...env, HOME: home, XDG_STATE_HOME: home }, input: jsonl }).done;
    assert.equal(r2.code, 2, show(r2));
    assert.match(r2.stderr, new RegExp(`^glacier-restore: cannot lock .* for this run: .*${LOCK.replace(/\./g, '\\.')} belongs to another user \\(uid 65534\\) and cannot be read by this one: a run of theirs may hold it; wait for it to end, or have that user \\(or root\\) remove it if no process of theirs uses it\\n$`));
    assert.deepEqual(await jobs('sticky'), [], 'no job started');
  });

  it('disjoint shards (--shard 0/2, 1/2) write one folder at once and both complete; the same shard, the whole vault and an overlapping shard refuse', { timeout: within(120_000) }, async () => {
    const { ids, jsonl } = await vault('shards', 12);
    assert.ok(ids.some((id) => inShard(id, { k: 0, n: 2 })) && ids.some((id) => inShard(id, { k: 1, n: 2 })), 'archives in both shards');
    const dir = join(work, 'shards-out');
    const args = (shard: string, state: string) => ['-v', 'shards', '--to', dir, '--state', join(work, state), '--interval', '200ms', ...(shard ? ['--shard', shard] : [])];
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    const runs: Started[] = [];
    try {
      runs.push(start('glacier-restore', args('0/2', 's0.jsonl'), { env, input: jsonl }));
      runs.push(start('glacier-restore', args('1/2', 's1.jsonl'), { env, input: jsonl }));
      await until(async () => (await jobs('shards')).length === ids.length, 'both shards to start their jobs', 30_000);
      assert.ok(existsSync(join(dir, '.glacier-restore-run-0-of-2.lock')) && existsSync(join(dir, '.glacier-restore-run-1-of-2.lock')), 'a lock per shard');
      for (const [shard, holders] of [['0/2', [runs[0]]], ['', runs], ['0/4', [runs[0]]], ['3/4', [runs[1]]]] as const) {
        const r = await ended(start('glacier-restore', args(shard, `x-${shard.replace('/', '-')}.jsonl`), { env, input: jsonl }), `--shard ${shard || '(none)'} to refuse`);
        assert.equal(r.code, 2, `--shard ${shard || '(none)'}: ${show(r)}`);
        assert.match(r.stderr, new RegExp(`^glacier-restore: .* is in use by process (${holders.map((h) => h.proc.pid).join('|')}) \\(another glacier-restore --shard `), show(r));
      }
      await local.admin('PUT', 'config', { jobDelay: '0' });
      await completeAll('shards');
      for (const [k, s] of runs.entries()) {
        const r = await ended(s, `shard ${k}/2 to end`, 60_000);
        assert.equal(r.code, 0, show(r));
        assert.equal(records(r.stdout).find((x) => x.summary)!.done, ids.filter((id) => inShard(id, { k, n: 2 })).length, show(r));
      }
      for (const [i, id] of ids.entries()) assert.ok(readFileSync(join(dir, `f${i}.bin`)).equals(data.get(id)!), `f${i}.bin`);
      await oneJobEach('shards', ids);
      assert.deepEqual(readdirSync(dir).sort(), ids.map((_, i) => `f${i}.bin`).sort(), 'only the archives: both locks removed');
    } finally {
      for (const s of runs) s.proc.kill('SIGKILL');
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  });

  it('which shards share archives: K/N and K\'/N\' meet when K and K\' agree modulo gcd(N, N\')', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `id${i}`);
    for (const [a, b] of [[{ k: 0, n: 2 }, { k: 1, n: 2 }], [{ k: 0, n: 2 }, { k: 1, n: 4 }], [{ k: 0, n: 2 }, { k: 2, n: 4 }], [{ k: 1, n: 3 }, { k: 4, n: 6 }], [{ k: 0, n: 1 }, { k: 5, n: 7 }], [{ k: 2, n: 6 }, { k: 1, n: 4 }]]) {
      const met = ids.some((id) => inShard(id, a) && inShard(id, b));
      assert.equal(shardsOverlap(a, b), met, `${a.k}/${a.n} and ${b.k}/${b.n}`);
      assert.equal(shardsOverlap(b, a), met);
    }
  });

  it('an archive described like the lock file is restored (as the name made safe), and the lock is no archive', { timeout: within(60_000) }, async () => {
    const { ids, jsonl } = await vault('lookalike', 3, [LOCK, '.glacier-restore-run-0-of-2.lock', 'plain.txt']);
    const dir = join(work, 'lookalike-out');
    const r = await run('glacier-restore', ['-v', 'lookalike', '--to', dir, '--state', join(work, 'lookalike.jsonl'), '--interval', '200ms'], { env, input: jsonl });
    assert.equal(r.code, 0, show(r));
    // Records come as downloads end: put in the input's order.
    const byId = new Map(records(r.stdout).filter((x) => !x.summary).map((x) => [x.archiveId, x]));
    const recs = ids.map((id) => byId.get(id)!);
    assert.deepEqual(recs.map((x) => x?.status), ['done', 'done', 'done'], show(r));
    assert.deepEqual(recs.map((x) => x.name), [`${LOCK}_`, '.glacier-restore-run-0-of-2.lock_', 'plain.txt']);
    for (const [i, x] of recs.entries()) assert.ok(readFileSync(x.to).equals(data.get(ids[i])!), x.name);
    assert.deepEqual(readdirSync(dir).sort(), [`${LOCK}_`, '.glacier-restore-run-0-of-2.lock_', 'plain.txt'].sort());
  });
});
