// glacier-restore takes no inventory on trust: one of another vault is refused (exit 2); the inventory in use and
// its date are said; a kept inventory older than the vault's LastInventoryDate is warned about and
// --refresh-inventory takes a new one; archives deleted since the inventory are `missing` (exit 0); an expired
// --inventory JOB_ID says what to do next.
import { CreateVaultCommand, DeleteArchiveCommand, DescribeJobCommand, InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';
import { until, within } from './helpers/time.js';

type Rec = Record<string, any>;
const records = (out: Buffer): Rec[] => out.toString().split('\n').filter(Boolean).map((l) => JSON.parse(l));

describe('glacier-restore: inventories checked', () => {
  let local: Local;
  let work: string;
  let env: NodeJS.ProcessEnv;
  const data = new Map<string, Buffer>();

  async function upload(vault: string, name: string): Promise<{ id: string; line: string }> {
    const body = randomBytes(1000 + data.size);
    const r = await local.client().send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body, archiveDescription: name }));
    data.set(r.archiveId!, body);
    return { id: r.archiveId!, line: JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: name, CreationDate: new Date().toISOString(), Size: body.length, SHA256TreeHash: r.checksum }) };
  }

  /** An inventory of `vault` saved to a file through the real binaries. */
  async function inventoryFile(vault: string, file: string): Promise<void> {
    await inventoryOutput(vault, env, ['-o', file]);
  }

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'glacier-restore-inv-'));
    local = await startLocal(['--memory', '--job-delay', '0', '--job-expiry', '10s']);
    env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    for (const v of ['mine', 'other', 'kept', 'gone', 'expired', 'cut']) await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
  });
  after(async () => {
    await local?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("another vault's inventory is refused with exit 2, before any job; the one in use is named with its date", { timeout: within(60_000) }, async () => {
    await upload('mine', 'a.bin');
    await upload('other', 'b.bin');
    const otherInv = join(work, 'other.json');
    await inventoryFile('other', otherInv);
    await local.admin('DELETE', 'counters');
    const r = await run('glacier-restore', ['-v', 'mine', '--inventory', otherInv, '--to', join(work, 'out-mine')], { env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /is of vault other .*not mine/);
    const log = await local.admin<{ op: string }[]>('GET', 'requests');
    assert.equal(log.filter((e) => e.op === 'InitiateJob').length, 0);

    const mineInv = join(work, 'mine.json');
    await inventoryFile('mine', mineInv);
    const date = JSON.parse(readFileSync(mineInv, 'utf8')).InventoryDate as string;
    const ok = await run('glacier-restore', ['-v', 'mine', '--inventory', mineInv, '--to', join(work, 'out-mine'), '--interval', '200ms'], { env });
    assert.equal(ok.code, 0, show(ok));
    assert.ok(ok.stderr.includes(`using the inventory ${mineInv} taken ${date}`), ok.stderr);
  });

  it('a kept inventory older than the vault\'s last one is warned about; --refresh-inventory takes a new one', { timeout: within(120_000) }, async () => {
    await upload('kept', 'first.bin');
    const dir = join(work, 'out-kept');
    const args = ['-v', 'kept', '--to', dir, '--interval', '200ms'];
    const first = await run('glacier-restore', args, { env });
    assert.equal(first.code, 0, show(first));
    assert.equal(records(first.stdout).filter((x) => x.status === 'done').length, 1);
    // An archive added, and a newer inventory taken by someone else: the vault's LastInventoryDate moves on.
    const added = await upload('kept', 'second.bin');
    await new Promise((r) => setTimeout(r, 1100)); // inventory dates are to the second or finer; make them differ
    await inventoryFile('kept', join(work, 'kept-newer.json'));
    const second = await run('glacier-restore', args, { env });
    assert.equal(second.code, 0, show(second));
    assert.match(second.stderr, /older than the vault's last inventory .*--refresh-inventory takes a new one/);
    assert.ok(!records(second.stdout).some((x) => x.archiveId === added.id), 'the kept inventory does not list the new archive');
    const third = await run('glacier-restore', [...args, '--refresh-inventory'], { env });
    assert.equal(third.code, 0, show(third));
    const rec = records(third.stdout).find((x) => x.archiveId === added.id && x.status === 'done');
    assert.ok(rec && readFileSync(rec.to).equals(data.get(added.id)!), show(third));
    assert.doesNotMatch(third.stderr, /older than the vault's last inventory/);
  });

  it('an archive deleted since the inventory is `missing`: not retried, counted, exit 0', { timeout: within(60_000) }, async () => {
    const a = await upload('gone', 'stays.bin');
    const b = await upload('gone', 'deleted.bin');
    await local.client().send(new DeleteArchiveCommand({ accountId: '-', vaultName: 'gone', archiveId: b.id }));
    await local.admin('DELETE', 'counters');
    const r = await run('glacier-restore', ['-v', 'gone', '--to', join(work, 'out-gone'), '--interval', '200ms'], { env, input: `${a.line}\n${b.line}\n` });
    assert.equal(r.code, 0, show(r));
    const recs = records(r.stdout);
    assert.equal(recs.find((x) => x.archiveId === b.id)?.status, 'missing');
    assert.equal(recs.find((x) => x.archiveId === a.id)?.status, 'done');
    const summary = recs.at(-1)!;
    assert.equal(summary.missing, 1);
    assert.equal(summary.failed, 0);
    const log = await local.admin<{ op: string }[]>('GET', 'requests');
    assert.equal(log.filter((e) => e.op === 'InitiateJob').length, 2, 'the missing archive was asked for once');
    assert.match(r.stderr, /1 archive\(s\) are no longer in the vault/);
  });

  it('an expired --inventory JOB_ID says what to do next', { timeout: within(60_000) }, async () => {
    await upload('expired', 'x.bin');
    const g = local.client();
    const job = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'expired', jobParameters: { Type: 'inventory-retrieval' } }));
    // The job completes at once and is forgotten 10 s later.
    await until(async () => g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'expired', jobId: job.jobId! })).then(() => false, () => true), 'the inventory job to expire', 30_000, 200);
    const r = await run('glacier-restore', ['-v', 'expired', `--inventory=${job.jobId!}`, '--to', join(work, 'out-expired')], { env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /inventory job \S+ is not in vault expired .*expires.*run without --inventory to start a new inventory job/);
  });

  it('an inventory fetch stopped part-way (SIGTERM while it waits to fetch again) leaves no STATE.inventory.tmp; the rerun fetches it whole', { timeout: within(60_000) }, async () => {
    const a = await upload('cut', 'cut.bin');
    const state = join(work, 'cut-state.jsonl');
    const out = join(work, 'out-cut');
    // Every answer is cut halfway: what came is in STATE.inventory.tmp, and the fetch waits a second to start again.
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:drop' });
    try {
      const p = start('glacier-restore', ['-v', 'cut', '--to', out, '--state', state, '--interval', '200ms'], { env: { ...env, AWS_MAX_ATTEMPTS: '1' } });
      await until(() => p.stderr().includes('fetching the inventory again') && existsSync(`${state}.inventory.tmp`), 'a first fetch cut short, kept in STATE.inventory.tmp');
      p.proc.kill('SIGTERM');
      const r = await p.done;
      assert.equal(r.code, 143, show(r));
    } finally {
      await local.admin('DELETE', 'faults');
    }
    assert.ok(!existsSync(`${state}.inventory.tmp`), 'STATE.inventory.tmp is removed');
    assert.ok(!existsSync(`${state}.inventory`), 'no inventory is kept');
    const r = await run('glacier-restore', ['-v', 'cut', '--to', out, '--state', state, '--interval', '200ms'], { env });
    assert.equal(r.code, 0, show(r));
    assert.ok(readFileSync(join(out, 'cut.bin')).equals(data.get(a.id)!), 'the archive restored from the inventory fetched whole');
    assert.ok(!existsSync(`${state}.inventory.tmp`));
  });

  it('an inventory fetched whole that cannot be renamed into place (a folder at STATE.inventory) leaves no STATE.inventory.tmp', { timeout: within(60_000) }, async () => {
    await upload('cut', 'cut2.bin');
    const state = join(work, 'cut-folder-state.jsonl');
    mkdirSync(`${state}.inventory`);
    const r = await run('glacier-restore', ['-v', 'cut', '--to', join(work, 'out-cut-folder'), '--state', state, '--interval', '200ms'], { env });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /inventory/);
    assert.ok(!existsSync(`${state}.inventory.tmp`), 'STATE.inventory.tmp is removed');
  });
});
