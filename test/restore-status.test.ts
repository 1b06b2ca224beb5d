// glacier-restore --status reads a run's state from another shell, without a request to the vault: during a run
// (its pid, jobs outstanding, what holds the next job), after kill -9 (not running; done as the journal says; the
// killed run's downloads ready again), after the rerun finished (everything done). --progress off a terminal prints
// lines starting with an ISO time, with this run's rate and what holds the next job.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

let local: Local;
let work: string;
const VAULT = 'status-v';
const N = 12;

describe('glacier-restore --status', () => {
  let lines = '';
  let total = 0;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '2s']);
    work = mkdtempSync(join(tmpdir(), 'restore-status-'));
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
    for (let i = 0; i < N; i++) {
      const data = randomBytes(3000 + i);
      total += data.length;
      const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, archiveDescription: `s${i}.bin` }));
      lines += `${JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: `s${i}.bin`, CreationDate: '2020-01-01T00:00:00Z', Size: data.length, SHA256TreeHash: createHash('sha256').update(data).digest('hex') })}\n`;
    }
  });
  after(async () => {
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('during a run, after kill -9 and after the rerun: the state as it stands, with no request to the vault', { timeout: within(180_000) }, async () => {
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    const out = join(work, 'out');
    const args = ['-v', VAULT, '--to', out, '--max-jobs', '3', '-c', '1', '--interval', '300ms'];
    // With no run going, the server's request counters show that --status asks the vault nothing.
    const status = async (how: string[] = ['-v', VAULT, '--to', out], quiet = false) => {
      const before = quiet ? await local.counters() : undefined;
      const r = await run('glacier-restore', ['--status', '--json', ...how], { env });
      assert.equal(r.code, 0, show(r));
      if (quiet) assert.deepEqual(await local.counters(), before, '--status sends no request to the vault');
      return JSON.parse(r.stdout.toString('utf8'));
    };

    const p = start('glacier-restore', [...args, '--progress'], { env, input: lines });
    // During the run: its pid, its jobs, and --max-jobs holding the next one.
    const during = await until(async () => {
      const s = await status().catch(() => null);
      return s && s.running === p.proc.pid && s.jobsOutstanding > 0 && s.heldBy ? s : null;
    }, 'a --status showing the run');
    assert.equal(during.vault, VAULT);
    assert.equal(during.target, out);
    assert.equal(during.heldBy, '--max-jobs 3');
    assert.ok(during.jobsOutstanding <= 3);
    assert.equal(during.waiting + during.ready + during.downloading, during.jobsOutstanding);
    assert.ok(Date.parse(during.lastUpdate) > Date.now() - within(60_000));
    // Off a terminal, --progress: a line with an ISO time, this run's rate, what holds the next job.
    await until(() => /glacier-restore: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \d+\/\d+\+? archives, .* this run.*held by --max-jobs 3/.test(p.stderr()), 'an ISO-timed progress line');

    // kill -9 mid-way.
    let stdout = '';
    p.proc.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    await until(() => (stdout.match(/"status":"done"/g) ?? []).length >= 4, '4 archives done');
    p.proc.kill('SIGKILL');
    const r1 = await p.done;
    assert.equal(r1.signal, 'SIGKILL');
    const outLines: { status?: string }[] = r1.stdout.toString('utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    const doneOut = outLines.filter((l) => l.status === 'done').length;
    assert.ok(doneOut >= 4 && doneOut < N, `${doneOut} done before the kill`);
    // Progress lines come a minute apart off a terminal: one in a run this short.
    assert.equal((r1.stderr.match(/ archives, /g) ?? []).length, 1, r1.stderr);

    const state = join(work, 'state', 'glacier-pipes', readdirSync(join(work, 'state', 'glacier-pipes')).find((f) => f.endsWith('.jsonl'))!);
    const killed = await status(['--state', state], true);
    assert.equal(killed.running, null);
    assert.ok(killed.done >= doneOut && killed.done <= doneOut + 1, `journal ${killed.done}, stdout ${doneOut}`);
    assert.equal(killed.downloading, 0, "a killed run's downloads are not going on");
    assert.equal(killed.waiting + killed.ready, killed.jobsOutstanding);
    assert.ok(killed.done + killed.jobsOutstanding <= N);
    assert.equal(killed.heldBy, null);
    // Restored files, not a download in progress (NAME.partial with its .json record and .lock, as kill -9 left them,
    // or a one-piece archive's .glacier-restore-*.tmp) nor the run's folder lock (.glacier-restore-run.lock, left by
    // kill -9): as many as the journal has done, or one more (the kill fell between a file's link into place and its record).
    const files = readdirSync(out).filter((f) => !f.includes('.partial') && !f.startsWith('.glacier-restore-')).length;
    assert.ok(files >= killed.done && files <= killed.done + 1, `${files} files, ${killed.done} done in the journal`);

    // The rerun finishes; its status says so.
    const r2 = await run('glacier-restore', args, { env, input: lines });
    assert.equal(r2.code, 0, show(r2));
    const end = await status(undefined, true);
    assert.equal(end.running, null);
    assert.equal(end.done, N);
    assert.equal(end.archives, N);
    assert.equal(end.inputComplete, true);
    assert.equal(end.failed, 0);
    assert.equal(end.jobsOutstanding, 0);
    assert.equal(end.waiting + end.ready + end.downloading, 0);
    assert.equal(end.bytes, total);
    assert.equal(end.bytesDone, total);
    assert.equal(end.eta, null);
  });

  it('--status of a state that is not there: exit 2 with the fix', async () => {
    const r = await run('glacier-restore', ['--status', '--state', join(work, 'nope.jsonl')], { env: local.env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^glacier-restore: cannot read the state .*nope\.jsonl.*give the --state of a run/m);
  });

  it('--status of a file whose first line is JSON `null` is exit 2 (not a state), not a crash', async () => {
    const f = join(work, 'null.jsonl');
    writeFileSync(f, 'null\n');
    const r = await run('glacier-restore', ['--status', '--state', f], { env: local.env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /is not a glacier-restore state/);
    assert.doesNotMatch(r.stderr, /TypeError/);
  });
});
