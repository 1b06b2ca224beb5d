// The --exec sink across jobs, alone: a job that expires part way pauses the command with its stdin open, the
// next job's open gives the same command back to write on from the byte reached, and a command still paused when
// the run ends gets SIGTERM, never the end of its stdin.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ExecSink, type Item } from '../src/restore/sinks.js';
import { until } from './helpers/time.js';

const MiB = 1024 * 1024;
const work = mkdtempSync(join(tmpdir(), 'glacier-restore-exec-jobs-'));
after(() => rmSync(work, { recursive: true, force: true }));

describe('glacier-restore --exec: a command kept across jobs', () => {
  it('paused at an expiry, given back to the next job with its stdin open; stopped with SIGTERM when the run ends', async () => {
    const out = join(work, 'out');
    // The command records each start, its stdin, and (only if its stdin ends) that it saw the end.
    const sink = new ExecSink(`echo start >> "${work}/starts"; cat > "${out}"; echo eof > "${work}/eof"`);
    const data = randomBytes(3 * MiB + 5);
    const item: Item = { archiveId: 'EXEC-JOBS-ARCHIVE', name: 'x.bin', size: data.length, treeHash: '0'.repeat(64), description: 'x.bin', creationDate: '' };
    const w = await sink.open(item);
    assert.equal(w.resumed, 0);
    await w.write(data.subarray(0, 2 * MiB), 0);
    assert.ok(w.pause, 'the writer can be paused at an expiry');
    await w.pause!();
    assert.equal(w.kept!(), 2 * MiB);
    const again = await sink.open(item);
    assert.equal(again, w, 'the next job writes into the same command');
    assert.equal(again.resumed, 2 * MiB, 'from the byte reached');
    await assert.rejects(again.write(data.subarray(0, MiB), 0), /expected at 2097152/, 'bytes out of place are refused');
    await again.write(data.subarray(2 * MiB, 3 * MiB), 2 * MiB);
    await again.pause!();
    await until(() => existsSync(out) && readFileSync(out).length === 3 * MiB, 'the command to have received 3 MiB');
    await sink.close();
    assert.equal(readFileSync(join(work, 'starts'), 'utf8'), 'start\n', 'started once');
    assert.ok(readFileSync(out).equals(data.subarray(0, 3 * MiB)), 'the bytes it received, in order');
    assert.ok(!existsSync(join(work, 'eof')), 'SIGTERM, never the end of its stdin');
    // After the run's end nothing is paused: a new open starts a new command.
    const fresh = await sink.open(item);
    assert.equal(fresh.resumed, 0);
    await fresh.abort();
  });
});
