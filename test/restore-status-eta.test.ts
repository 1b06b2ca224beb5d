// glacier-restore --status from a state alone: an ETA before the input was read to its end (from the bytes seen so
// far and the run's rate, marked a lower bound), and a warning when the -v or --to given is not what the state
// records (the state is still shown, never silently taken for another run's).
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';

const work = mkdtempSync(join(tmpdir(), 'restore-status-eta-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** A state as a run leaves it: its head, archives done, and its last record of itself. */
function state(name: string, snap: Record<string, unknown>, target = '/srv/restored'): string {
  const path = join(work, name);
  const at = Date.parse('2026-06-01T12:00:00.000Z');
  const lines = [
    { t: 'head', v: 1, vault: 'photos', target },
    // Two archives of 3,000,000 bytes done (their size recorded with them).
    { t: 'done', k: 'AAAAAAAAAAAAAAAAAAAAAA', s: 3_000_000 },
    { t: 'done', k: 'BBBBBBBBBBBBBBBBBBBBBB', s: 3_000_000 },
    // 600 s into the run: 6,000,000 bytes of 30,000,000 seen so far moved at 10,000 bytes a second.
    { t: 'stats', s: { at, pid: 2 ** 22 + 7, startedAt: at - 600_000, archives: 10, bytes: 30_000_000, bytesDone: 6_000_000, bytesThisRun: 6_000_000, done: 2, failed: 0, integrity: 0, missing: 0, waiting: 0, ready: 0, downloading: 0, jobsStarted: 2, ...snap } },
  ];
  writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', { mode: 0o600 });
  return path;
}

describe('glacier-restore --status: ETA and the state named', () => {
  it('before the input was read to its end: an ETA from the bytes seen so far, marked a lower bound', async () => {
    const r = await run('glacier-restore', ['--status', '--state', state('partial.jsonl', { inputDone: false }), '--json'], { env: process.env });
    assert.equal(r.code, 0, show(r));
    const st = JSON.parse(r.stdout.toString());
    assert.equal(st.inputComplete, false);
    assert.equal(st.rateBytesPerSecond, 10_000);
    // 24,000,000 bytes left at 10,000 a second: 2,400 s after the last record.
    assert.equal(st.eta, new Date(Date.parse('2026-06-01T12:00:00.000Z') + 2_400_000).toISOString());
    assert.equal(st.etaLowerBound, true);
    const done = await run('glacier-restore', ['--status', '--state', state('whole.jsonl', { inputDone: true }), '--json'], { env: process.env });
    assert.equal(done.code, 0, show(done));
    const st2 = JSON.parse(done.stdout.toString());
    assert.equal(st2.eta, st.eta, 'the same arithmetic once the total is known');
    assert.equal(st2.etaLowerBound, false);
    assert.equal(done.stderr.toString(), '');
  });

  it('-v or --to other than the state records: shown, with a warning naming what it records', async () => {
    const path = state('named.jsonl', { inputDone: true });
    const r = await run('glacier-restore', ['--status', '--state', path, '-v', 'other', '--to', join(work, 'elsewhere'), '--json'], { env: process.env });
    assert.equal(r.code, 0, show(r));
    assert.equal(JSON.parse(r.stdout.toString()).vault, 'photos');
    assert.match(r.stderr.toString(), /^glacier-restore: warning: .*named\.jsonl records a restore of vault "photos" to \/srv\/restored, not vault "other" to .*elsewhere; showing the state's own/m);
    const v = await run('glacier-restore', ['--status', '--state', path, '-v', 'other', '--json'], { env: process.env });
    assert.equal(v.code, 0, show(v));
    assert.match(v.stderr.toString(), /records a restore of vault "photos" to \/srv\/restored, not vault "other";/);
    const same = await run('glacier-restore', ['--status', '--state', path, '-v', 'photos', '--to', '/srv/restored', '--json'], { env: process.env });
    assert.equal(same.code, 0, show(same));
    assert.equal(same.stderr.toString(), '', 'no warning when they match');
  });

  it('--state with --to and no -v (nor GLACIER_VAULT): shown, the destination compared, no vault asked for', async () => {
    const path = state('novault.jsonl', { inputDone: true });
    const env = { ...process.env };
    delete env.GLACIER_VAULT;
    const same = await run('glacier-restore', ['--status', '--state', path, '--to', '/srv/restored', '--json'], { env });
    assert.equal(same.code, 0, show(same));
    assert.equal(JSON.parse(same.stdout.toString()).vault, 'photos');
    assert.equal(same.stderr.toString(), '', 'no warning when the destination matches');
    const other = await run('glacier-restore', ['--status', '--state', path, '--to', join(work, 'elsewhere'), '--json'], { env });
    assert.equal(other.code, 0, show(other));
    assert.match(other.stderr.toString(), /records a restore of vault "photos" to \/srv\/restored, not to .*elsewhere;/);
  });

  it('--to naming the recorded folder through a symbolic link: the same folder, no warning', async () => {
    const folder = join(work, 'restored');
    mkdirSync(folder);
    symlinkSync(folder, join(work, 'link'));
    const path = state('linked.jsonl', { inputDone: true }, folder);
    const r = await run('glacier-restore', ['--status', '--state', path, '-v', 'photos', '--to', join(work, 'link'), '--json'], { env: process.env });
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stderr.toString(), '', 'no warning: the link names the folder the state records');
  });
});
