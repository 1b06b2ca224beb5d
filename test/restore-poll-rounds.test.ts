// glacier-restore follows its jobs by ListJobs pages in rounds: no DescribeJob for a job it started (the
// initiation answer and the listing suffice), jobs started while others wait are asked about together, and a
// round lists from the page where the oldest job due was last seen, not from the vault's first page. Counted in
// glacier-local's request log.
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';
import { within } from './helpers/time.js';

type LogEntry = { op: string };
const count = (log: LogEntry[], op: string) => log.filter((e) => e.op === op).length;

let local: Local | undefined;
const work = mkdtempSync(join(tmpdir(), 'glacier-restore-rounds-'));
after(async () => {
  await local?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('glacier-restore: polls in rounds of ListJobs pages', () => {
  it('300 jobs started as others finish: no DescribeJob, and at least ten times fewer polls than one DescribeJob per job per poll; a later run with one job due among 300 listed lists a page a round', { timeout: within(300_000) }, async (t) => {
    local = await startLocal(['--memory', '--job-delay', '0']);
    const env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'rounds' }));
    await local.admin('POST', 'fill', { vault: 'rounds', count: 301, size: 1 });
    const lines = (await inventoryOutput('rounds', env)).toString().trim().split('\n');
    assert.equal(lines.length, 301);

    // Jobs take 3 s and are asked about every 2 s: one DescribeJob per job per poll would be at least 2 per job
    // (600). --max-jobs 100 starts the 300 jobs over the run, as downloads finish.
    const delay = 3000;
    const interval = 2000;
    await local.admin('PUT', 'config', { jobDelays: { Bulk: delay, Standard: delay, Expedited: delay } });
    await local.admin('DELETE', 'counters');
    const args = ['-v', 'rounds', '--to', join(work, 'out'), '--interval', `${interval}ms`, '-c', '8'];
    const r = await run('glacier-restore', [...args, '--max-jobs', '100'], { env, input: `${lines.slice(0, 300).join('\n')}\n` });
    assert.equal(r.code, 0, show(r));
    const summary = JSON.parse(r.stdout.toString().trim().split('\n').at(-1)!);
    assert.equal(summary.done, 300);
    assert.equal(summary.jobsStarted, 300);
    const log = await local.admin<LogEntry[]>('GET', 'requests');
    const polls = count(log, 'DescribeJob') + count(log, 'ListJobs');
    t.diagnostic(`300 jobs: DescribeJob ${count(log, 'DescribeJob')}, ListJobs ${count(log, 'ListJobs')}`);
    assert.equal(count(log, 'DescribeJob'), 0, 'no DescribeJob: the initiation answer and the listing suffice');
    assert.ok(polls * 10 <= 300 * Math.floor(delay / interval), `poll requests: ${polls} for 300 jobs`);

    // Now the vault lists 302 jobs (7 pages of 50). One new job, 3 s, asked about every 500 ms: a round that
    // listed from the first page would take 7 pages each time.
    await local.admin('DELETE', 'counters');
    const fast = 500;
    const again = await run('glacier-restore', [...args.slice(0, 4), '--interval', `${fast}ms`, '--state', join(work, 'second.state')], { env, input: `${lines[300]}\n` });
    assert.equal(again.code, 0, show(again));
    const log2 = await local.admin<LogEntry[]>('GET', 'requests');
    const pages = Math.ceil(302 / 50);
    const rounds = Math.ceil(delay / fast) + 2; // rounds are --interval apart: at most this many before the job is ready
    t.diagnostic(`one job among 302: ListJobs ${count(log2, 'ListJobs')} (a full listing is ${pages} pages)`);
    assert.equal(count(log2, 'DescribeJob'), 0);
    // One full listing at start (jobs already running are taken up), then at most 2 pages a round.
    assert.ok(count(log2, 'ListJobs') <= pages + 2 * rounds, `ListJobs: ${count(log2, 'ListJobs')}`);
    assert.ok(pages + 2 * rounds < pages * (rounds - 2), 'the bound is below a full listing every round');
  });
});
