// glacier-restore, cases found by trying it: a file another process makes at an archive's name mid-run (the
// verified bytes are never deleted; the archive takes its next free name), a CSV inventory of another vault (it
// names no vault: exit 2 when none of its archives is in this one), an input line of Size 0 (refused once, no job
// started for it again), `missing` kept in the state, a job limit that rises back after a quiet period, --exec's
// process group stopped whole, long multi-extension names and an mt2 mtime that is no time.
import { CreateVaultCommand, DeleteArchiveCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDescription, safeName, shortHash } from '../src/core/archive-name.js';
import { HashPool } from '../src/core/hash-pool.js';
import { TreeHasher } from '../src/core/tree-hash.js';
import { Namer } from '../src/restore/names.js';
import { makePacer } from '../src/restore/pacer.js';
import { DirSink, ExecSink, type Item } from '../src/restore/sinks.js';
import { run, show, start } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';
import { until, within } from './helpers/time.js';

type Rec = Record<string, any>;
type LogEntry = { op: string; jobId?: string };
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const archivesOf = (recs: Rec[]) => recs.filter((r) => !r.summary);
const b64url = (b: Buffer) => b.toString('base64url');
const mt2 = (filename: string, mtime: string) => `mt2 ${b64url(Buffer.from(JSON.stringify({ filename, mtime }), 'utf8'))}`;

describe('glacier-restore: review fixes against glacier-local', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const data = new Map<string, Buffer>();

  async function vault(name: string): Promise<void> {
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: name }));
  }
  async function upload(v: string, description: string, size = 2000): Promise<{ id: string; rec: Rec; line: string }> {
    const body = randomBytes(size);
    const r = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: v, body, archiveDescription: description }));
    data.set(r.archiveId!, body);
    const rec = { ArchiveId: r.archiveId, ArchiveDescription: description, CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: r.checksum };
    return { id: r.archiveId!, rec, line: JSON.stringify(rec) };
  }
  const log = () => local.admin<LogEntry[]>('GET', 'requests');
  const initiated = async () => (await log()).filter((e) => e.op === 'InitiateJob').length;

  useLocal('glacier-restore-review-', (l, w) => {
    [local, work] = [l, w];
    env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  });

  describe('a file another process makes at an archive name', () => {
    it('mid-run, after the name was recorded: left as it is, the archive restored under its ~HASH name, a rerun done with no job', { timeout: within(90_000) }, async () => {
      await vault('planted');
      const a = await upload('planted', 'report.pdf', 3 * 1024 * 1024 + 5);
      const dir = join(work, 'out-planted');
      const state = join(work, 'planted.state');
      await local.admin('PUT', 'config', { jobDelay: '1h' });
      await local.admin('DELETE', 'counters');
      try {
        const s = start('glacier-restore', ['-v', 'planted', '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${a.line}\n` });
        const entry = await until(async () => (await log()).find((e) => e.op === 'InitiateJob' && e.jobId), 'the job to start', within(30_000));
        // The name is in the state before the job starts; another process now makes a file of that name.
        assert.match(readFileSync(state, 'utf8'), /"t":"name"/);
        writeFileSync(join(dir, 'report.pdf'), 'made by another process\n');
        await local.admin('POST', `jobs/${entry.jobId}/complete`);
        const r = await s.done;
        assert.equal(r.code, 0, show(r));
        const rec = archivesOf(records(r.stdout))[0];
        const alt = `report~${shortHash(a.id)}.pdf`;
        assert.equal(rec.status, 'done', show(r));
        assert.equal(rec.name, alt);
        assert.equal(rec.to, join(dir, alt));
        assert.ok(readFileSync(join(dir, alt)).equals(data.get(a.id)!), 'the archive is where its line says');
        assert.equal(readFileSync(join(dir, 'report.pdf'), 'utf8'), 'made by another process\n', 'the other file is untouched');
        assert.deepEqual(readdirSync(dir).sort(), [alt, 'report.pdf'].sort(), 'no .partial left behind');
        assert.match(r.stderr, /report\.pdf appeared meanwhile and holds something else .*restored as .*report~/);
      } finally {
        await local.admin('PUT', 'config', { jobDelay: '0' });
      }
      await local.admin('DELETE', 'counters');
      const again = await run('glacier-restore', ['-v', 'planted', '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${a.line}\n` });
      assert.equal(again.code, 0, show(again));
      const rec2 = archivesOf(records(again.stdout))[0];
      assert.equal(rec2.before, true, show(again));
      assert.equal(rec2.to, join(dir, `report~${shortHash(a.id)}.pdf`), 'the new name is the one recorded');
      assert.equal(await initiated(), 0);
    });

    it('between runs, at a name recorded for an archive not yet retrieved: the rerun restores it under its ~HASH name', { timeout: within(90_000) }, async () => {
      await vault('between');
      const a = await upload('between', 'a.txt');
      const b = await upload('between', 'b.txt');
      const dir = join(work, 'out-between');
      const state = join(work, 'between.state');
      await local.admin('PUT', 'config', { jobDelay: '1h' });
      await local.admin('DELETE', 'counters');
      try {
        // A byte budget of one archive a day: a's job waits; b is named (recorded) and held by the budget. Then the
        // run is stopped.
        const s = start('glacier-restore', ['-v', 'between', '--to', dir, '--state', state, '--interval', '200ms', '--max-bytes-per-day', '3000B'], { env, input: `${a.line}\n${b.line}\n` });
        const text = () => (existsSync(state) ? readFileSync(state, 'utf8') : '');
        await until(() => (text().match(/"t":"name"/g) ?? []).length === 2 && text().includes('"t":"job"'), 'both names and a job recorded', within(30_000));
        s.proc.kill('SIGTERM');
        assert.equal((await s.done).code, 143);
        const jobs = (await log()).filter((e) => e.op === 'InitiateJob' && e.jobId);
        assert.equal(jobs.length, 1, "only a's job was started");
        await local.admin('POST', `jobs/${jobs[0].jobId}/complete`);
      } finally {
        await local.admin('PUT', 'config', { jobDelay: '0' });
      }
      writeFileSync(join(dir, 'b.txt'), 'mine\n');
      const r = await run('glacier-restore', ['-v', 'between', '--to', dir, '--state', state, '--interval', '200ms'], { env, input: `${a.line}\n${b.line}\n` });
      assert.equal(r.code, 0, show(r));
      const byId = new Map(archivesOf(records(r.stdout)).map((x) => [x.archiveId, x]));
      const alt = `b~${shortHash(b.id)}.txt`;
      assert.equal(byId.get(b.id)?.to, join(dir, alt), show(r));
      assert.ok(readFileSync(join(dir, alt)).equals(data.get(b.id)!));
      assert.ok(readFileSync(join(dir, 'a.txt')).equals(data.get(a.id)!));
      assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'mine\n');
    });
  });

  describe('a CSV inventory (it names no vault)', () => {
    async function csvInventory(v: string, file: string): Promise<void> {
      await inventoryOutput(v, env, ['-o', file], ['--format', 'CSV']);
      assert.match(readFileSync(file, 'utf8'), /^ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\n/);
    }

    it("of another vault: exit 2 with one line saying so (none of its archives is here), nothing written; of this vault: restored", { timeout: within(90_000) }, async () => {
      await vault('csv-mine');
      await vault('csv-other');
      const mine = await upload('csv-mine', 'mine.bin');
      await upload('csv-other', 'o1.bin');
      await upload('csv-other', 'o2.bin');
      const otherCsv = join(work, 'other.csv');
      await csvInventory('csv-other', otherCsv);
      const dir = join(work, 'out-csv');
      const args = ['-v', 'csv-mine', '--inventory', otherCsv, '--to', dir, '--state', join(work, 'csv.state'), '--interval', '200ms'];
      const r = await run('glacier-restore', args, { env });
      assert.equal(r.code, 2, show(r));
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('glacier-restore: none of'));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /none of the 2 archive\(s\) of the inventory .*other\.csv is in vault csv-mine .*give csv-mine's inventory/);
      assert.deepEqual(readdirSync(dir), [], 'nothing written');
      // Run again: still exit 2, and the vault is not asked again for archives it does not hold.
      await local.admin('DELETE', 'counters');
      const again = await run('glacier-restore', args, { env });
      assert.equal(again.code, 2, show(again));
      assert.equal(await initiated(), 0);

      const mineCsv = join(work, 'mine.csv');
      await csvInventory('csv-mine', mineCsv);
      const ok = await run('glacier-restore', ['-v', 'csv-mine', '--inventory', mineCsv, '--to', dir, '--interval', '200ms'], { env });
      assert.equal(ok.code, 0, show(ok));
      assert.ok(readFileSync(join(dir, 'mine.bin')).equals(data.get(mine.id)!));
    });
  });

  it('an input line of Size 0: refused once (integrity), no job started for it on the next run, nothing written; the corrected line takes up the job', { timeout: within(90_000) }, async () => {
    await vault('zero');
    const a = await upload('zero', 'z.bin');
    const dir = join(work, 'out-zero');
    const args = ['-v', 'zero', '--to', dir, '--state', join(work, 'zero.state'), '--interval', '200ms'];
    const zero = JSON.stringify({ ...a.rec, Size: 0 });
    await local.admin('DELETE', 'counters');
    const first = await run('glacier-restore', args, { env, input: `${zero}\n` });
    assert.equal(first.code, 3, show(first));
    assert.equal(archivesOf(records(first.stdout))[0].status, 'integrity');
    assert.equal(await initiated(), 1);
    for (let n = 2; n <= 3; n++) {
      await local.admin('DELETE', 'counters');
      const r = await run('glacier-restore', args, { env, input: `${zero}\n` });
      assert.equal(r.code, 3, show(r));
      const rec = archivesOf(records(r.stdout))[0];
      assert.equal(rec.status, 'integrity', show(r));
      assert.equal(rec.refused, true);
      assert.match(rec.error, /input says 0 bytes/);
      assert.equal(await initiated(), 0, `run ${n} started no job`);
      assert.deepEqual(readdirSync(dir), [], 'nothing written');
    }
    // The line corrected: the job the first run paid for is taken up (no InitiateJob), the bytes restored.
    await local.admin('DELETE', 'counters');
    const fixed = await run('glacier-restore', args, { env, input: `${a.line}\n` });
    assert.equal(fixed.code, 0, show(fixed));
    assert.ok(readFileSync(join(dir, 'z.bin')).equals(data.get(a.id)!));
    assert.equal(await initiated(), 0);
  });

  it('`missing` is kept in the state: a rerun reports it without asking the vault, and --status counts it', { timeout: within(90_000) }, async () => {
    await vault('gone2');
    const a = await upload('gone2', 'stays.bin');
    const b = await upload('gone2', 'deleted.bin');
    await local.client().send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'gone2', archiveId: b.id }));
    const state = join(work, 'gone2.state');
    const args = ['-v', 'gone2', '--to', join(work, 'out-gone2'), '--state', state, '--interval', '200ms'];
    const input = `${a.line}\n${b.line}\n`;
    const first = await run('glacier-restore', args, { env, input });
    assert.equal(first.code, 0, show(first));
    assert.equal(archivesOf(records(first.stdout)).find((x) => x.archiveId === b.id)?.status, 'missing');
    await local.admin('DELETE', 'counters');
    const again = await run('glacier-restore', args, { env, input });
    assert.equal(again.code, 0, show(again));
    const recs = records(again.stdout);
    assert.equal(archivesOf(recs).find((x) => x.archiveId === b.id)?.status, 'missing', show(again));
    assert.equal(recs.at(-1)!.missing, 1);
    assert.equal(await initiated(), 0, 'the missing archive was not asked for again');
    const st = await run('glacier-restore', ['--status', '--state', state, '--json'], { env });
    assert.equal(st.code, 0, show(st));
    assert.equal(JSON.parse(st.stdout.toString()).missing, 1);
  });

  it('an mt2 mtime that is no time is refused: the file gets the inventory\'s CreationDate', { timeout: within(60_000) }, async () => {
    await vault('mtime');
    const bad = await upload('mtime', mt2('docs/bad.txt', '20131340T256199Z'));
    const good = await upload('mtime', mt2('docs/good.txt', '19650704T120000Z'));
    const created = '2011-05-06T07:08:09.000Z';
    const dir = join(work, 'out-mtime');
    const input = `${JSON.stringify({ ...bad.rec, CreationDate: created })}\n${good.line}\n`;
    const r = await run('glacier-restore', ['-v', 'mtime', '--to', dir, '--interval', '200ms'], { env, input });
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(join(dir, 'docs/bad.txt')).equals(data.get(bad.id)!));
    assert.equal(statSync(join(dir, 'docs/bad.txt')).mtime.toISOString(), created);
    assert.equal(statSync(join(dir, 'docs/good.txt')).mtime.toISOString(), '1965-07-04T12:00:00.000Z');
  });

  it('--exec stopped: what the command started (its process group) is stopped too', { timeout: within(90_000) }, async () => {
    await vault('group');
    const a = await upload('group', 'g.bin', 3 * 1024 * 1024); // more than a pipe holds: the download waits on the command
    const pidFile = join(work, 'grandchild.pid');
    // The command starts a background process, never reads its stdin, and waits.
    const cmd = `sleep 600 & echo $! > "$PID_FILE"; echo started-a-grandchild >&2; wait`;
    const s = start('glacier-restore', ['-v', 'group', '--exec', cmd, '--interval', '200ms'], { env: { ...env, PID_FILE: pidFile }, input: `${a.line}\n` });
    await until(() => s.stderr().includes('started-a-grandchild'), 'the command to start', within(60_000));
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      assert.ok(alive());
      s.proc.kill('SIGTERM');
      const r = await s.done;
      assert.equal(r.code, 143, show(r));
      await until(() => !alive(), 'the grandchild to be gone', within(15_000));
    } finally {
      if (alive()) process.kill(pid, 'SIGKILL');
    }
  });
});

describe('the folder sink alone: a name taken at the last moment', () => {
  it('keeps the verified .partial the message names (no renamer), and the same download completes once the file is moved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glacier-dirsink-'));
    const pool = new HashPool(1);
    try {
      const body = randomBytes(1024 * 1024 + 3);
      const treeHash = new TreeHasher().update(body).digest().treeHash;
      const item: Item = { archiveId: 'A'.repeat(40), name: 'x.bin', size: body.length, treeHash, description: 'x.bin', creationDate: '' };
      const sink = await DirSink.open(dir);
      const w = await sink.open(item, 'job-1', pool);
      await w.write(body.subarray(0, 1024 * 1024), 0);
      await w.write(body.subarray(1024 * 1024), 1024 * 1024);
      writeFileSync(join(dir, 'x.bin'), 'someone else\n');
      const err = await w.finish().then(() => null, (e: Error) => e);
      assert.ok(err, 'finish refuses to replace x.bin');
      assert.match(err.message, /x\.bin appeared meanwhile .*kept as .*x\.bin\.partial.*move .*x\.bin away/);
      assert.equal(err.message.split('\n').length, 1);
      await w.abort(); // what the fetcher does after a failed finish
      assert.ok(readFileSync(join(dir, 'x.bin.partial')).equals(body), 'the verified bytes the message points to are kept');
      assert.equal(readFileSync(join(dir, 'x.bin'), 'utf8'), 'someone else\n');
      rmSync(join(dir, 'x.bin'));
      const w2 = await sink.open(item, 'job-2', pool);
      assert.equal(w2.resumed, body.length, 'the kept bytes are taken up');
      await w2.finish();
      assert.ok(readFileSync(join(dir, 'x.bin')).equals(body));
      assert.ok(!existsSync(join(dir, 'x.bin.partial')));
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pacer: a lowered job limit rises back', () => {
  it('halves at an expiry, stays low for the quiet period (the expired job\'s life), then rises one step per round of jobs drained, up to --max-jobs', () => {
    let t = 0;
    const p = makePacer({ maxJobs: 8, floor: 1, journal: { startedInWindow: () => ({ bytes: 0, frees: 0 }) }, now: () => t });
    assert.equal(p.expired(1000), 4);
    t = 999;
    for (let i = 0; i < 20; i++) assert.equal(p.drained(), undefined, 'no rise within the quiet period');
    t = 1000;
    const steps: (number | undefined)[] = [];
    for (let i = 0; i < 4 + 5 + 6 + 7 + 8; i++) steps.push(p.drained());
    assert.deepEqual(steps.filter((x) => x !== undefined), [5, 6, 7, 8], 'one step per `limit` jobs drained');
    assert.equal(steps.indexOf(5), 3, 'the first step after 4 jobs drained');
    assert.equal(p.limit, 8);
    for (let i = 0; i < 20; i++) assert.equal(p.drained(), undefined, 'never above --max-jobs');
    // Another expiry halves again and restarts the quiet period; without a known life it is a day.
    assert.equal(p.expired(), 4);
    t += 23 * 3600 * 1000;
    for (let i = 0; i < 10; i++) assert.equal(p.drained(), undefined);
    t += 3600 * 1000;
    for (let i = 0; i < 3; i++) assert.equal(p.drained(), undefined);
    assert.equal(p.drained(), 5);
    assert.equal(p.canTry(4), true);
  });
});

describe('names and refusals', () => {
  it('a name shortened to 255 bytes keeps its whole extension (.tar.gz), within a sane length', () => {
    const long = `${'x'.repeat(300)}.tar.gz`;
    const n = safeName(long)!;
    assert.ok(Buffer.byteLength(n) <= 255, `${Buffer.byteLength(n)} bytes`);
    assert.match(n, /^x+~[A-Za-z0-9_-]{8}\.tar\.gz$/);
    assert.match(safeName(`${'y'.repeat(300)}.2024.tar.gz.gpg`)!, /^y+~[A-Za-z0-9_-]{8}\.2024\.tar\.gz\.gpg$/);
    // At most 32 bytes of extensions: `.aaaaaaaaaa` would make 36, so it is part of the stem (cut).
    assert.match(safeName(`${'v'.repeat(300)}.aaaaaaaaaa.bbbbbbbbbb.cccccccccc.gz`)!, /^v+~[A-Za-z0-9_-]{8}\.bbbbbbbbbb\.cccccccccc\.gz$/);
    // The extensions kept stay short: a long dotted tail is cut as part of the stem.
    const dotted = safeName(`${'z'.repeat(300)}.${'q'.repeat(40)}.gz`)!;
    assert.match(dotted, /~[A-Za-z0-9_-]{8}\.gz$/);
    // A duplicate's suffix on a name at the limit keeps the whole extension too.
    const nm = new Namer();
    const base = `${'w'.repeat(240)}.tar.gz`;
    assert.equal(nm.name('id-1', base).name, base);
    const dup = nm.name('id-2', base).name;
    assert.ok(Buffer.byteLength(dup) <= 255);
    assert.match(dup, /^w+~[A-Za-z0-9_-]{8}\.tar\.gz$/);
    // A short duplicate is named as before.
    const nm2 = new Namer();
    nm2.name('id-1', 'a.tar.gz');
    assert.equal(nm2.name('id-2', 'a.tar.gz').name, `a.tar~${shortHash('id-2')}.gz`);
  });

  it('an mt2 mtime out of range or not in mt-aws-glacier\'s form is no time', () => {
    assert.equal(decodeDescription(mt2('a', '20130228T163008Z')).mtime?.toISOString(), '2013-02-28T16:30:08.000Z');
    assert.equal(decodeDescription(mt2('a', '19650704T120000Z')).mtime?.toISOString(), '1965-07-04T12:00:00.000Z');
    for (const bad of ['20131340T256199Z', '20130230T000000Z', '20130228T250000Z', '2013', '0999-01-01T00:00:00Z', 'yesterday']) {
      const d = decodeDescription(mt2('a', bad));
      assert.equal(d.mtime, undefined, bad);
      assert.equal(d.badTime, true, bad);
      assert.equal(d.path, 'a');
    }
  });

  it('a description with a NUL refused by --exec names what works (another destination), not --names', () => {
    const why = new ExecSink('cat').refuses({ archiveId: 'A', name: 'n', size: 1, treeHash: '', description: 'a\0b', creationDate: '' })!;
    assert.doesNotMatch(why, /--names/);
    assert.match(why, /--to DIR or --to s3:/);
  });
});
