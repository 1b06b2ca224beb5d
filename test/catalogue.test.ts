// The local catalogue end to end: glacier-put records each archive (several writers at once, a torn line
// skipped), glacier-ls --archives lists and picks them, reconciles them with a vault inventory, glacier-restore
// takes its lines, glacier-rm records deletions, warns of Glacier's early-deletion charge and deletes N at a time.
// The real binaries over real pipes against a real glacier-local.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync, appendFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { run, sh, show } from './helpers/bins.js';
import { BIN, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';
import { catalogueBench, lines, ok, rewrite } from './helpers/catalogue.js';

const bench = catalogueBench('gp-catalogue-test-');
let local: Local;
let work: string;
before(async () => ({ local, work } = await bench.start()));
after(() => bench.stop());
const { envOf, vault: vaultOps, inventoryJob, inventoryIds } = bench;

type Listed = { ArchiveId: string; ArchiveDescription: string; CreationDate: string; Size: number; SHA256TreeHash: string; Name: string; Source: string; Host: string | null; InInventory?: boolean };

async function put(vault: string, env: NodeJS.ProcessEnv, desc: string, body: Buffer | string = randomBytes(100)): Promise<{ archiveId: string; checksum: string; size: number }> {
  return lines<{ archiveId: string; checksum: string; size: number }>(ok(await run('glacier-put', ['-v', vault, '-d', desc], { env, input: body })))[0];
}

async function listed(vault: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Listed[]> {
  return lines<Listed>(ok(await run('glacier-ls', ['-v', vault, '--archives', '--json', ...extra], { env })));
}


describe('glacier-put records, glacier-ls --archives lists', { concurrency: 1 }, () => {
  it('three writers at once: every upload listed once, with its fields; a torn last line is skipped and the next line is whole', { timeout: within(180_000) }, async () => {
    await vaultOps('cat3');
    const state = join(work, 'state-3');
    const env = envOf({ state });
    writeFileSync(join(work, 'file-a.bin'), randomBytes(3000));
    // Writer 0 pipes stdin, writer 1 names a FILE, writer 2 runs a command: all three at once, four times each.
    const scripts = [
      'for i in 1 2 3 4; do head -c 1000 /dev/urandom | "$NODE" "$BIN/glacier-put" -v cat3 -d "w0-$i"; done',
      `for i in 1 2 3 4; do "$NODE" "$BIN/glacier-put" -v cat3 -d "w1-$i" ${JSON.stringify(join(work, 'file-a.bin'))}; done`,
      'for i in 1 2 3 4; do "$NODE" "$BIN/glacier-put" -v cat3 -d "w2-$i" -- head -c 2000 /dev/zero; done',
    ];
    const runs = await Promise.all(scripts.map((s) => sh(`set -e; ${s}`, [], { env }).done));
    const results = runs.flatMap((r) => lines<{ archiveId: string; checksum: string; size: number; description: string }>(ok(r)));
    assert.equal(results.length, 12);

    const file = join(state, 'glacier-pipes', 'catalogue', 'us-east-1.cat3.jsonl');
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the catalogue is private');
    assert.equal(statSync(join(state, 'glacier-pipes', 'catalogue')).mode & 0o777, 0o700);
    assert.equal(readFileSync(file, 'utf8').split('\n').filter(Boolean).length, 12, 'one whole line per upload, none interleaved');

    // A crash in the middle of a write: half a line, no newline. The next upload must not be glued to it.
    const text = readFileSync(file, 'utf8');
    appendFileSync(file, text.slice(0, 80));
    const last = await put('cat3', env, 'after-crash', 'x');

    const r = ok(await run('glacier-ls', ['-v', 'cat3', '--archives', '--json'], { env }));
    assert.match(r.stderr, /1 line\(s\) of .* are not catalogue lines .*skipped/);
    const got = lines<Listed>(r);
    assert.deepEqual(got.map((a) => a.ArchiveId).sort(), [...results.map((x) => x.archiveId), last.archiveId].sort());
    const sources: Record<string, string> = { w0: 'stdin', w1: 'file', w2: 'command' };
    for (const x of results) {
      const a = got.find((g) => g.ArchiveId === x.archiveId)!;
      assert.equal(a.ArchiveDescription, x.description);
      assert.equal(a.Name, x.description);
      assert.equal(a.Size, x.size);
      assert.equal(a.SHA256TreeHash, x.checksum);
      assert.equal(a.Source, sources[x.description.slice(0, 2)]);
      assert.equal(a.Host, hostname());
      assert.ok(Math.abs(Date.parse(a.CreationDate) - Date.now()) < 600_000, a.CreationDate);
    }
    // Oldest first, and picked by name.
    assert.deepEqual(got.map((a) => a.CreationDate), got.map((a) => a.CreationDate).sort());
    assert.deepEqual((await listed('cat3', env, ['--name', 'w2-*'])).map((a) => a.Name).sort(), ['w2-1', 'w2-2', 'w2-3', 'w2-4']);
    assert.equal((await listed('cat3', env, ['--older-than', '1h'])).length, 0);
    assert.equal((await listed('cat3', env, ['--newer-than', '1h'])).length, 13);
  });

  it('prints an aligned table on a terminal', { skip: spawnSync('script', ['--version']).status !== 0 && 'no script(1) here for a terminal' }, async () => {
    await vaultOps('tty');
    const env = envOf({ catalogue: join(work, 'tty.jsonl') });
    const a = await put('tty', env, 'docs/a.txt', 'a');
    const b = await put('tty', env, 'a-much-longer-name.tar.xz', randomBytes(3000));
    const cmd = [process.execPath, BIN('glacier-ls'), '-v', 'tty', '--archives'].map((w) => `'${w}'`).join(' ');
    const r = ok(await sh('exec script -qec "$1" /dev/null', [cmd], { env: { ...env, SHELL: '/bin/sh' } }).done);
    const rows = r.stdout.toString('utf8').replace(/\r\n/g, '\n').split('\n').filter(Boolean);
    assert.equal(rows.length, 3, r.stdout.toString());
    assert.match(rows[0], /^CREATED +SIZE +NAME +SOURCE +HOST +ARCHIVE ID$/);
    const at = rows[0].indexOf('ARCHIVE ID');
    assert.deepEqual(rows.slice(1).map((row) => row.slice(at)), [a.archiveId, b.archiveId], 'ids in one column, oldest first');
    const name = rows[0].indexOf('NAME');
    assert.deepEqual(rows.slice(1).map((row) => row.slice(name).split(/ {2,}/)[0]), ['docs/a.txt', 'a-much-longer-name.tar.xz']);
    assert.match(rows[2], /2\.93 KiB/);
  });

  it('refuses a link planted at the catalogue\'s name, before anything is sent', async () => {
    await vaultOps('sym');
    const state = join(work, 'state-sym');
    const dir = join(state, 'glacier-pipes', 'catalogue');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, join(dir, 'us-east-1.sym.jsonl'));
    const before = (await local.counters()).UploadArchive ?? 0;
    const r = await run('glacier-put', ['-v', 'sym', '-d', 'x'], { env: envOf({ state }), input: 'data' });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^glacier-put: cannot open the catalogue .*symbolic link; give a writable file with --catalogue FILE/m);
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
    assert.equal((await local.counters()).UploadArchive ?? 0, before, 'nothing uploaded');

    // A catalogue others may write to could name any archive for deletion: refused by every reader and writer.
    const shared = join(work, 'shared.jsonl');
    writeFileSync(shared, '');
    chmodSync(shared, 0o666);
    const env = envOf({ catalogue: shared });
    const a = await put('sym', envOf({ catalogue: join(work, 'sym-own.jsonl') }), 'keep me');
    const deletes = (await local.counters()).DeleteArchive ?? 0;
    for (const [name, args] of [['glacier-ls', ['-v', 'sym', '--archives']], ['glacier-rm', ['-v', 'sym', '--', a.archiveId]], ['glacier-put', ['-v', 'sym']]] as const) {
      const x = await run(name, [...args], { env, input: 'data' });
      assert.equal(x.code, 1, show(x));
      assert.match(x.stderr, new RegExp(`^${name}: catalogue .*shared.jsonl is writable by others \\(mode 666\\); make it private: chmod 600`, 'm'));
    }
    assert.equal((await local.counters()).DeleteArchive ?? 0, deletes, 'nothing deleted');
  });
});

describe('retention and reconciliation', { concurrency: 1 }, () => {
  it('glacier-ls --archives --older-than 35d --name | glacier-rm - deletes them; catalogue and inventory agree after it', { timeout: within(120_000) }, async () => {
    await vaultOps('ret');
    const cat = join(work, 'ret.jsonl');
    const env = envOf({ catalogue: cat });
    const old = [await put('ret', env, 'mydb-2026-10-01'), await put('ret', env, 'mydb-2026-10-02'), await put('ret', env, 'mydb-2026-10-03')];
    const oldOther = await put('ret', env, 'photos-2026-10-01');
    const fresh = await put('ret', env, 'mydb-2026-12-06');
    rewrite(cat, [...old, oldOther].map((a) => a.archiveId), { days: 40 });

    const r = ok(await sh(`set -e; "$NODE" "$BIN/glacier-ls" -v ret --archives --older-than 35d --name 'mydb-*' --json | "$NODE" "$BIN/glacier-rm" -v ret -`, [], { env }).done);
    const out = lines<{ archiveId: string; deleted: boolean; ageDays: number }>(r);
    assert.deepEqual(out.map((l) => l.archiveId).sort(), old.map((a) => a.archiveId).sort());
    assert.ok(out.every((l) => l.deleted && l.ageDays === 40), r.stdout.toString());
    assert.match(r.stderr, /is 40 day\(s\) old: Glacier charges its early deletion \(50 day\(s\) left of its 90-day minimum\)/);

    const remaining = [oldOther.archiveId, fresh.archiveId].sort();
    assert.deepEqual((await listed('ret', env)).map((a) => a.ArchiveId).sort(), remaining, 'the catalogue lists what is left');
    assert.deepEqual(await inventoryIds('ret'), remaining, 'the vault holds what the catalogue lists');
    const rec = await listed('ret', env, [`--inventory=${await inventoryJob('ret')}`]);
    assert.deepEqual(rec.map((a) => [a.ArchiveId, a.InInventory, a.Source]).sort(), remaining.map((id) => [id, true, 'stdin']).sort());
    assert.match(readFileSync(cat, 'utf8'), /"Event":"deleted"/);
  });

  it('--inventory adds what another host uploaded (names decoded) and marks what the inventory lacks', { timeout: within(120_000) }, async () => {
    await vaultOps('rec');
    const mine = join(work, 'rec-mine.jsonl');
    const theirs = join(work, 'rec-theirs.jsonl');
    const a1 = await put('rec', envOf({ catalogue: mine }), 'a-1');
    const gone = await put('rec', envOf({ catalogue: mine }), 'a-2');
    const b1 = await put('rec', envOf({ catalogue: theirs }), 'b-1');
    const mt2 = `mt2 ${Buffer.from(JSON.stringify({ filename: 'docs/report.pdf', mtime: 1700000000 })).toString('base64url')}`;
    const b2 = await put('rec', envOf({ catalogue: theirs }), mt2);
    // The other host deletes one of ours: our catalogue still lists it.
    ok(await run('glacier-rm', ['-v', 'rec', '--', gone.archiveId], { env: envOf({ catalogue: theirs }) }));

    const env = envOf({ catalogue: mine });
    const r = ok(await run('glacier-ls', ['-v', 'rec', '--archives', '--all-hosts', '--json', `--inventory=${await inventoryJob('rec')}`], { env }));
    assert.match(r.stderr, /the inventory had 2 archive\(s\) the catalogue lacked \(now added\); the catalogue has 1 listed here the inventory lacks/);
    const got = new Map(lines<Listed>(r).map((a) => [a.ArchiveId, a]));
    assert.equal(got.size, 4);
    assert.deepEqual([got.get(a1.archiveId)!.InInventory, got.get(a1.archiveId)!.Source, got.get(a1.archiveId)!.Host], [true, 'stdin', hostname()]);
    assert.deepEqual([got.get(gone.archiveId)!.InInventory, got.get(gone.archiveId)!.Name], [false, 'a-2']);
    assert.deepEqual([got.get(b1.archiveId)!.InInventory, got.get(b1.archiveId)!.Source, got.get(b1.archiveId)!.Host, got.get(b1.archiveId)!.Name], [true, 'inventory', null, 'b-1']);
    assert.equal(got.get(b2.archiveId)!.Name, 'docs/report.pdf', 'mt-aws-glacier description decoded');
    assert.equal(got.get(b2.archiveId)!.SHA256TreeHash, b2.checksum);
    // Recorded: the next listing, without an inventory, has them.
    assert.deepEqual((await listed('rec', env, ['--all-hosts', '--name', 'docs/*'])).map((a) => a.ArchiveId), [b2.archiveId]);
    // The same from the inventory kept in a FILE (CSV or JSON alike).
    const inv = join(work, 'rec-inventory.json');
    ok(await run('glacier-job', ['output', '-v', 'rec', '-o', inv, '--', await inventoryJob('rec')], { env }));
    const fromFile = lines<Listed>(ok(await run('glacier-ls', ['-v', 'rec', '--archives', '--all-hosts', '--json', '--inventory', inv], { env: envOf({ catalogue: join(work, 'rec-empty.jsonl') }) })));
    assert.deepEqual(fromFile.map((a) => a.ArchiveId).sort(), [a1, b1, b2].map((a) => a.archiveId).sort());
  });

  it('glacier-restore brings one file back from a catalogue line, with no inventory job', { timeout: within(120_000) }, async () => {
    await vaultOps('rst');
    const env = envOf({ catalogue: join(work, 'rst.jsonl') });
    const body = randomBytes(5000);
    const file = join(work, 'report.pdf');
    writeFileSync(file, body);
    await put('rst', env, 'docs/report.pdf', body);
    await put('rst', env, 'docs/other.txt', 'other');
    const to = join(work, 'restored');
    const before = await local.counters();
    const r = ok(await sh(`set -e; "$NODE" "$BIN/glacier-ls" -v rst --archives --name 'docs/report.pdf' --json | "$NODE" "$BIN/glacier-restore" -v rst --to "$1" --interval 100ms`, [to], { env }).done);
    assert.deepEqual(readFileSync(join(to, 'docs/report.pdf')), body, show(r));
    assert.ok(!existsSync(join(to, 'docs/other.txt')));
    const after = await local.counters();
    assert.equal((after.InitiateJob ?? 0) - (before.InitiateJob ?? 0), 1, 'one retrieval job, no inventory job');

    // What was verified moved is deleted from glacier-restore's own lines (archiveId, status), and recorded.
    const done = r.stdout.toString().split('\n').filter((l) => l && (JSON.parse(l) as { status: string }).status === 'done');
    assert.equal(done.length, 1, r.stdout.toString());
    const rm = ok(await run('glacier-rm', ['-v', 'rst', '-'], { env, input: `${done.join('\n')}\n` }));
    assert.match(rm.stdout.toString(), /"deleted":true/);
    assert.deepEqual((await listed('rst', env)).map((a) => a.Name), ['docs/other.txt']);
  });
});

describe('examples/pg-dump-to-glacier.sh KEEP_DAYS', () => {
  it('stores tonight\'s dump, then deletes this DB\'s dumps older than KEEP_DAYS, and only those', { timeout: within(120_000) }, async () => {
    const { cat, env, script } = await bench.pgDump('pg');
    const old = await put('pg', env, 'pg_dump mydb 2026-10-01');
    const recent = await put('pg', env, 'pg_dump mydb 2026-11-20');
    const otherDb = await put('pg', env, 'pg_dump mydb2 2026-10-01');
    rewrite(cat, [old.archiveId, otherDb.archiveId], { days: 40 });
    rewrite(cat, [recent.archiveId], { days: 17 });
    const r = ok(await script('35'));
    const tonight = lines<{ archiveId: string }>(r)[0].archiveId;
    assert.match(r.stderr, new RegExp(`"archiveId":"${old.archiveId}","deleted":true`));
    assert.match(r.stderr, /40 day\(s\) old: Glacier charges its early deletion/);
    const kept = [recent.archiveId, otherDb.archiveId, tonight].sort();
    assert.deepEqual((await listed('pg', env)).map((a) => a.ArchiveId).sort(), kept);
    assert.deepEqual(await inventoryIds('pg'), kept);
    const bad = await script('5x');
    assert.equal(bad.code, 2, show(bad));
  });
});

describe('glacier-rm', { concurrency: 1 }, () => {
  it('warns of the early-deletion charge, naming the days, by the catalogue or the line\'s CreationDate', { timeout: within(60_000) }, async () => {
    await vaultOps('early');
    const cat = join(work, 'early.jsonl');
    const env = envOf({ catalogue: cat });
    const young = await put('early', env, 'young');
    const tenDays = await put('early', envOf({ catalogue: join(work, 'elsewhere.jsonl') }), 'ten');
    const old = await put('early', envOf({ catalogue: join(work, 'elsewhere.jsonl') }), 'old');
    const input = [
      young.archiveId,
      JSON.stringify({ archiveId: tenDays.archiveId, CreationDate: new Date(Date.now() - 10.5 * 86_400_000).toISOString() }),
      JSON.stringify({ ArchiveId: old.archiveId, CreationDate: new Date(Date.now() - 120 * 86_400_000).toISOString() }),
    ].join('\n');
    const r = ok(await run('glacier-rm', ['-v', 'early', '-'], { env, input }));
    const warnings = r.stderr.split('\n').filter((l) => l.includes('early deletion'));
    assert.equal(warnings.length, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`archive ${young.archiveId} is 0 day\\(s\\) old: Glacier charges its early deletion \\(90 day\\(s\\) left`));
    assert.match(r.stderr, new RegExp(`archive ${tenDays.archiveId} is 10 day\\(s\\) old: .*\\(80 day\\(s\\) left`));
    assert.ok(!r.stderr.includes(old.archiveId), 'no warning past 90 days');
    assert.deepEqual(lines<{ deleted: boolean }>(r).map((l) => l.deleted), [true, true, true]);
    assert.deepEqual(await listed('early', env), [], 'the deletion is recorded');
  });

  it('-c 8 deletes 400 archives slowed to 100 ms each in under 15 s, each recorded', { timeout: within(120_000) }, async () => {
    await vaultOps('many');
    await local.admin('POST', 'fill', { vault: 'many', count: 440, size: 16 });
    const ids = await inventoryIds('many');
    assert.equal(ids.length, 440);
    await local.admin('POST', 'faults', { rules: [{ op: 'DeleteArchive', kind: 'slow', ms: 100 }] });
    const cat = join(work, 'many.jsonl');
    const env = envOf({ catalogue: cat });
    try {
      // Baseline in the same run: one at a time, 40 of them.
      const base = ok(await run('glacier-rm', ['-v', 'many', '-'], { env, input: ids.slice(400).join('\n') }));
      const r = ok(await run('glacier-rm', ['-v', 'many', '-c', '8', '-'], { env, input: ids.slice(0, 400).join('\n') }));
      const out = lines<{ archiveId: string; deleted: boolean }>(r);
      assert.equal(out.filter((l) => l.deleted).length, 400);
      assert.deepEqual(out.map((l) => l.archiveId).sort(), ids.slice(0, 400));
      const perBase = base.ms / 40;
      const perC8 = r.ms / 400;
      process.stdout.write(`# glacier-rm: 400 deletes at -c 8 in ${r.ms} ms (${perC8.toFixed(1)} ms each); baseline -c 1: ${perBase.toFixed(1)} ms each; ratio ${(perBase / perC8).toFixed(2)}x\n`);
      assert.ok(r.ms < within(15_000), `400 deletes took ${r.ms} ms`);
      assert.equal(readFileSync(cat, 'utf8').split('\n').filter((l) => l.includes('"Event":"deleted"')).length, 440);
      assert.deepEqual(await inventoryIds('many'), []);
    } finally {
      await local.admin('DELETE', 'faults');
    }
  });
});
