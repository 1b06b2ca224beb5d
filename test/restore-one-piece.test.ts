// glacier-restore --to DIR, an archive that comes in one piece (up to 1 MiB): its bytes go to a private temp file
// of the process (.glacier-restore-HOSTHASH-PID-RANDOM.tmp, 0600), linked to NAME once verified; no NAME.partial, no
// record of a verified prefix, no lock at any moment. A temp file a killed process left is removed by the next
// process writing into that folder (only this host's, only of a process that is gone). The state's name and job
// records are written in batches (group commit): a kill -9 while jobs start still never pays for a job twice.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GROUP_MS, Journal } from '../src/restore/journal.js';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

type Rec = Record<string, any>;
type LogEntry = { op: string; jobId?: string; path?: string; status?: number };
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const tag = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
const GONE = 2 ** 22 + 4321; // above pid_max's default: no such process

describe('glacier-restore: archives of one piece', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'glacier-restore-one-piece-'));
    local = await startLocal(['--memory', '--job-delay', '0']);
    env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  });
  after(async () => {
    await local?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  async function upload(v: string, descriptions: string[], size = 3000): Promise<{ id: string; description: string; body: Buffer; line: string }[]> {
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
    const out = [];
    for (const description of descriptions) {
      const body = randomBytes(size);
      const r = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: v, body, archiveDescription: description }));
      out.push({ id: r.archiveId!, description, body, line: JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: description, CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: r.checksum }) });
    }
    return out;
  }

  it('is written to a private temp file of the process and linked into place: no NAME.partial, record or lock', { timeout: within(90_000) }, async () => {
    const v = 'one-piece-temp';
    const [a] = await upload(v, ['sub/one.bin']);
    const dir = join(work, `out-${v}`);
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=1500' });
    try {
      const s = start('glacier-restore', ['-v', v, '--to', dir, '--state', join(work, `${v}.state`), '--interval', '200ms'], { env, input: `${a.line}\n` });
      // Seen while its output trickles in.
      const seen = await until(() => {
        const names = existsSync(join(dir, 'sub')) ? readdirSync(join(dir, 'sub')) : [];
        return names.some((n) => n.endsWith('.tmp')) ? names : null;
      }, 'the temp file during the download', within(30_000), 20);
      const r = await s.done;
      assert.equal(r.code, 0, show(r));
      assert.equal(seen.length, 1, `only the temp file while downloading: ${seen}`);
      const m = new RegExp(`^\\.glacier-restore-${tag}-(\\d+)-[0-9a-f]{12}\\.tmp$`).exec(seen[0]);
      assert.ok(m, seen[0]);
      assert.equal(Number(m[1]), s.proc.pid, 'named for the process writing it');
      assert.equal(records(r.stdout)[0].status, 'done', show(r));
      assert.deepEqual(readdirSync(join(dir, 'sub')), ['one.bin'], 'the temp file is gone, nothing else left');
      assert.ok(readFileSync(join(dir, 'sub', 'one.bin')).equals(a.body));
    } finally {
      await local.admin('DELETE', 'faults');
    }
  });

  it("a killed process's temp file is removed by the next run writing there; a live process's, another host's and a link's target are not", { timeout: within(90_000) }, async () => {
    const v = 'one-piece-sweep';
    const [a] = await upload(v, ['sub/two.bin']);
    const dir = join(work, `out-${v}`);
    mkdirSync(join(dir, 'sub'), { recursive: true });
    const dead = join(dir, 'sub', `.glacier-restore-${tag}-${GONE}-aaaaaaaaaaaa.tmp`);
    const live = join(dir, 'sub', `.glacier-restore-${tag}-${process.pid}-bbbbbbbbbbbb.tmp`);
    const otherTag = tag === '00000000' ? '11111111' : '00000000';
    const elsewhere = join(dir, 'sub', `.glacier-restore-${otherTag}-${GONE}-cccccccccccc.tmp`);
    const link = join(dir, 'sub', `.glacier-restore-${tag}-${GONE}-dddddddddddd.tmp`);
    const target = join(work, 'not-yours.txt');
    for (const f of [dead, live, elsewhere]) writeFileSync(f, 'half an archive');
    writeFileSync(target, 'not yours\n');
    symlinkSync(target, link);
    const r = await run('glacier-restore', ['-v', v, '--to', dir, '--state', join(work, `${v}.state`), '--interval', '200ms'], { env, input: `${a.line}\n` });
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(join(dir, 'sub', 'two.bin')).equals(a.body));
    assert.ok(!existsSync(dead), 'the temp file of a process that is gone is removed');
    assert.ok(lstatSync(link, { throwIfNoEntry: false }) === undefined, 'a link at such a name is removed, not followed');
    assert.equal(readFileSync(target, 'utf8'), 'not yours\n');
    assert.ok(existsSync(live), "a live process's temp file is left");
    assert.ok(existsSync(elsewhere), "another host's temp file is left");
  });

  it('kill -9 while jobs start (their records in a batch not yet written): the rerun takes them up, one job per archive', { timeout: within(120_000) }, async () => {
    const v = 'one-piece-kill';
    const as = await upload(v, Array.from({ length: 12 }, (_, i) => `k/f${i}.bin`), 1500);
    const dir = join(work, `out-${v}`);
    const state = join(work, `${v}.state`);
    const input = as.map((a) => a.line).join('\n') + '\n';
    const log = async () => (await local.admin<LogEntry[]>('GET', 'requests')).filter((e) => e.path?.includes(`/vaults/${v}/`));
    await local.admin('PUT', 'config', { jobDelay: '1h' });
    try {
      await local.admin('DELETE', 'counters');
      const s = start('glacier-restore', ['-v', v, '--to', dir, '--state', state, '--interval', '200ms'], { env, input });
      await until(async () => (await log()).filter((e) => e.op === 'InitiateJob').length >= 6, '6 jobs started', within(30_000), 5);
      s.proc.kill('SIGKILL');
      assert.equal((await s.done).signal, 'SIGKILL');
    } finally {
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
    // Jobs started before the config changed stay in progress for an hour: complete them all now.
    for (const e of await log()) if (e.op === 'InitiateJob' && e.jobId) await local.admin('POST', `jobs/${e.jobId}/complete`);
    const r = await run('glacier-restore', ['-v', v, '--to', dir, '--state', state, '--interval', '200ms'], { env, input });
    assert.equal(r.code, 0, show(r));
    const done = records(r.stdout).filter((x) => !x.summary && x.status === 'done');
    assert.equal(done.length, as.length, show(r));
    for (const a of as) assert.ok(readFileSync(join(dir, a.description)).equals(a.body), a.description);
    const initiated = (await log()).filter((e) => e.op === 'InitiateJob' && (e.status ?? 0) < 300);
    assert.equal(initiated.length, as.length, 'one retrieval job per archive across the kill');
  });
});

describe('the journal: group commit', () => {
  it('queued records wait for a batch (GROUP_MS, or durable()); a record waited on takes the queued ones with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-group-'));
    try {
      const path = join(dir, 'state.jsonl');
      const j = await Journal.open(path, { vault: 'v', target: '/x' }, { windowMs: 86_400_000 });
      const text = () => readFileSync(path, 'utf8');
      void j.recordName('A1', 'a1.bin', { queued: true });
      void j.recordName('A2', 'a2.bin', { queued: true });
      assert.doesNotMatch(text(), /a1\.bin/, 'not written at once');
      await j.durable();
      assert.match(text(), /a1\.bin[\s\S]*a2\.bin/);
      // Written by the timer with nothing waiting on it.
      void j.recordName('A3', 'a3.bin', { queued: true });
      const t = Date.now();
      await until(() => /a3\.bin/.test(text()), 'the queued record written by its timer', within(10_000), 5);
      assert.ok(Date.now() - t >= GROUP_MS - 5, 'not before GROUP_MS');
      // A record waited on (done) is written with the queued ones before it.
      void j.recordName('A4', 'a4.bin', { queued: true });
      await j.recordDone('A4');
      assert.match(text(), /a4\.bin[\s\S]*"t":"done"/);
      await j.close();
      const again = await Journal.open(path, { vault: 'v', target: '/x' }, { windowMs: 86_400_000 });
      assert.deepEqual(['A1', 'A2', 'A3', 'A4'].map((id) => again.nameOf(id)), ['a1.bin', 'a2.bin', 'a3.bin', 'a4.bin']);
      assert.ok(again.isDone('A4'));
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
