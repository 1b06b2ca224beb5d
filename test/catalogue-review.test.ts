// The catalogue's safety rules: a retention pipe deletes only this host's own dated uploads; durations, globs,
// inventories, regions, accounts and the catalogue's own file and folders that would pick the wrong archives, or
// write where they should not, are refused. The real binaries against a real glacier-local.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, lchownSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { run, sh, show, start } from './helpers/bins.js';
import { BIN, ROOT, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';
import { catalogueBench, lines, ok, rewrite } from './helpers/catalogue.js';

const bench = catalogueBench('gp-catalogue-review-');
let local: Local;
let work: string;
before(async () => ({ local, work } = await bench.start()));
after(() => bench.stop());
const { envOf, vault: vaultOps, inventoryJob, inventoryIds } = bench;

type Listed = { ArchiveId: string; Name: string; Source: string; Host: string | null };

async function put(vault: string, env: NodeJS.ProcessEnv, desc: string, extra: string[] = []): Promise<string> {
  return lines<{ archiveId: string }>(ok(await run('glacier-put', ['-v', vault, '-d', desc, ...extra], { env, input: randomBytes(100) })))[0].archiveId;
}

async function ids(vault: string, env: NodeJS.ProcessEnv, extra: string[] = []): Promise<string[]> {
  return lines<Listed>(ok(await run('glacier-ls', ['-v', vault, '--archives', '--json', ...extra], { env }))).map((a) => a.ArchiveId).sort();
}

const jsonlUnder = (dir: string): string[] => (existsSync(dir) ? (readdirSync(dir, { recursive: true }) as string[]).filter((f) => f.endsWith('.jsonl')) : []);

describe('retention deletes only what this host uploaded, and only the dated names', { concurrency: 1 }, () => {
  it('after --inventory, the retention pipe leaves other hosts\' archives alone; --all-hosts and --host H list them', { timeout: within(120_000) }, async () => {
    await vaultOps('hosts');
    const mine = join(work, 'hosts-mine.jsonl');
    const env = envOf({ catalogue: mine });
    const own = await put('hosts', env, 'mydb-2026-10-01');
    const theirs = await put('hosts', envOf({ catalogue: join(work, 'hosts-theirs.jsonl') }), 'mydb-2026-10-02');
    const shared = await put('hosts', env, 'mydb-2026-10-03');
    rewrite(mine, [shared], { host: 'db2.example' }); // a catalogue shared with another host
    const rec = ok(await run('glacier-ls', ['-v', 'hosts', '--archives', '--json', `--inventory=${await inventoryJob('hosts')}`], { env }));
    assert.match(rec.stderr, /now added, Host null: listed with --all-hosts/);
    assert.deepEqual(lines<Listed>(rec).map((a) => a.ArchiveId), [own], 'the reconciled listing is this host\'s too');
    rewrite(mine, [own, theirs, shared], { days: 40 });

    assert.deepEqual(await ids('hosts', env, ['--all-hosts']), [own, theirs, shared].sort());
    assert.deepEqual(await ids('hosts', env, ['--host', 'db2.example']), [shared]);
    assert.deepEqual(await ids('hosts', env, ['--host', hostname()]), [own]);
    const both = await run('glacier-ls', ['-v', 'hosts', '--archives', '--all-hosts', '--host', 'x'], { env });
    assert.equal(both.code, 2, show(both));

    const r = ok(await sh(`set -e; "$NODE" "$BIN/glacier-ls" -v hosts --archives --older-than 35d --name 'mydb-[0-9]*' --json | "$NODE" "$BIN/glacier-rm" -v hosts -`, [], { env }).done);
    assert.deepEqual(lines<{ archiveId: string }>(r).map((l) => l.archiveId), [own]);
    assert.deepEqual(await inventoryIds('hosts'), [theirs, shared].sort(), 'the other hosts\' archives are still in the vault');
  });

  it('the documented glob picks mydb-2026-… and never mydb-test-1; README, --help and the cron line use it', { timeout: within(60_000) }, async () => {
    await vaultOps('glob');
    const env = envOf({ catalogue: join(work, 'glob.jsonl') });
    const dated = await put('glob', env, 'mydb-2026-10-01');
    await put('glob', env, 'mydb-test-1');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const cron = readme.split('\n').find((l) => l.startsWith('30 2 * * *'))!;
    const glob = /--name '([^']+)'/.exec(cron)![1];
    assert.deepEqual(await ids('glob', env, ['--name', glob]), [dated], `the cron line's --name '${glob}'`);
    assert.ok(!/--name 'mydb-\*'/.test(readme), 'no mydb-* in the README');
    for (const bin of ['glacier-ls', 'glacier-rm']) {
      const help = ok(await run(bin, ['--help'], { env })).stdout.toString();
      assert.ok(!help.includes("'mydb-*' --json"), `${bin} --help`);
      assert.ok(help.includes("--name 'mydb-[0-9]*'"), `${bin} --help`);
    }
  });

  it('examples/pg-dump-to-glacier.sh KEEP_DAYS never deletes a dump of a DB named "mydb extra"', { timeout: within(120_000) }, async () => {
    const { cat, env, script } = await bench.pgDump('pgx');
    const old = await put('pgx', env, 'pg_dump mydb 2026-10-01');
    const extra = await put('pgx', env, 'pg_dump mydb extra 2026-10-01');
    const hand = await put('pgx', env, 'pg_dump mydb before-upgrade');
    rewrite(cat, [old, extra, hand], { days: 40 });
    const r = ok(await script('35'));
    const tonight = lines<{ archiveId: string }>(r)[0].archiveId;
    assert.match(r.stderr, new RegExp(`"archiveId":"${old}","deleted":true`));
    assert.deepEqual(await inventoryIds('pgx'), [extra, hand, tonight].sort());
  });
});

describe('refused before anything is listed, deleted or created (exit 2)', { concurrency: 1 }, () => {
  it('--older-than 1M (a month to some, a minute here) and --older-than 0 are refused; glacier-abort too', async () => {
    const env = envOf({ catalogue: join(work, 'units.jsonl') });
    for (const args of [['--older-than', '1M'], ['--older-than', '2M'], ['--newer-than', '1M'], ['--older-than', '0'], ['--older-than', '0d']]) {
      const r = await run('glacier-ls', ['-v', 'units', '--archives', ...args], { env });
      assert.equal(r.code, 2, `${args.join(' ')}: ${show(r)}`);
    }
    const m = await run('glacier-ls', ['-v', 'units', '--archives', '--older-than', '1M'], { env });
    assert.match(m.stderr, /^glacier-ls: invalid --older-than "1M": .*use m for minutes, d or w for days or weeks/m);
    const a = await run('glacier-abort', ['-v', 'units', '--all', '--older-than', '1M'], { env });
    assert.equal(a.code, 2, show(a));
    ok(await run('glacier-ls', ['-v', 'units', '--archives', '--older-than', '90m'], { env }));
  });

  it('--inventory FILE of another vault is refused, and the catalogue is left as it was', { timeout: within(60_000) }, async () => {
    await vaultOps('inv-a');
    await vaultOps('inv-b');
    await put('inv-a', envOf({ catalogue: join(work, 'inv-a.jsonl') }), 'a-only');
    const file = join(work, 'inv-a-inventory.json');
    ok(await run('glacier-job', ['output', '-v', 'inv-a', '--wait', '--interval', '100ms', '-o', file, '--', await inventoryJob('inv-a')], { env: envOf() }));
    const cat = join(work, 'inv-b.jsonl');
    const r = await run('glacier-ls', ['-v', 'inv-b', '--archives', '--all-hosts', '--json', '--inventory', file], { env: envOf({ catalogue: cat }) });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^glacier-ls: the inventory .* is of vault inv-a .*not inv-b/m);
    assert.equal(existsSync(cat) ? readFileSync(cat, 'utf8') : '', '');
  });

  it('a region that is not a region name creates nothing anywhere', async () => {
    const state = join(work, 'state-region');
    for (const [bin, args] of [['glacier-put', ['-v', 'reg', '--region', '../../../x']], ['glacier-ls', ['-v', 'reg', '--archives', '--region', '../../../x']], ['glacier-rm', ['-v', 'reg', '--region', '../../../x', '--', 'abc']]] as const) {
      const r = await run(bin, [...args], { env: envOf({ state }), input: 'data' });
      assert.equal(r.code, 2, `${bin}: ${show(r)}`);
      assert.match(r.stderr, /invalid region "\.\.\/\.\.\/\.\.\/x"/);
    }
    assert.deepEqual(jsonlUnder(state), []);
  });

  it('--name with an unclosed [ is refused; glacier-ls --help names exit 3', async () => {
    const env = envOf({ catalogue: join(work, 'glob2.jsonl') });
    const r = await run('glacier-ls', ['-v', 'g', '--archives', '--name', 'mydb-['], { env });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^glacier-ls: invalid --name "mydb-\[": the \[ at character 6 has no \] to close it/m);
    ok(await run('glacier-ls', ['-v', 'g', '--archives', '--name', 'mydb-\\[x'], { env }));
    assert.match(ok(await run('glacier-ls', ['--help'], { env })).stdout.toString(), /Exit: .* 3 /s);
  });
});

describe('where the catalogue is and what it is', { concurrency: 1 }, () => {
  it('an upload with --account-id and a deletion without it use one catalogue: the deleted archive is no longer listed either way', { timeout: within(60_000) }, async () => {
    await vaultOps('acct');
    const env = envOf({ state: join(work, 'state-acct') });
    const id = await put('acct', env, 'x', ['--account-id', '123456789012']);
    assert.deepEqual(await ids('acct', env), [id]);
    ok(await run('glacier-rm', ['-v', 'acct', '--', id], { env }));
    assert.deepEqual(await ids('acct', env, ['--account-id', '123456789012']), []);
    assert.deepEqual(await ids('acct', env), []);
  });

  it('the resume command printed on failure keeps --catalogue, and the resumed upload is recorded there', { timeout: within(120_000) }, async () => {
    await vaultOps('resume-cat');
    const cat = join(work, 'resume-cat.jsonl');
    const file = join(work, 'resume.bin');
    writeFileSync(file, randomBytes(4 * 1024 * 1024));
    const env = { ...envOf({ state: join(work, 'state-resume') }), AWS_MAX_ATTEMPTS: '1', PATH: `${BIN('').replace(/\/$/, '')}:${process.env.PATH}` };
    await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:500:skip=2' });
    let cmd: string;
    try {
      const r = await run('glacier-put', ['-v', 'resume-cat', '-p', '1M', '-c', '1', '--catalogue', cat, file], { env });
      assert.equal(r.code, 1, show(r));
      cmd = /Resume with: (.*)$/m.exec(r.stderr)![1];
    } finally {
      await local.admin('DELETE', 'faults');
    }
    assert.ok(cmd.includes(`--catalogue ${cat}`), cmd);
    const again = spawnSync('bash', ['-c', cmd], { env, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    const id = (JSON.parse(again.stdout) as { archiveId: string }).archiveId;
    assert.deepEqual(await ids('resume-cat', envOf({ catalogue: cat })), [id]);
  });

  it('a FIFO as the catalogue is refused at once (no wait for a writer), by glacier-ls, glacier-put and glacier-rm', { timeout: within(60_000) }, async () => {
    const fifo = join(work, 'cat.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const before = (await local.counters()).UploadArchive ?? 0;
    for (const [bin, args] of [['glacier-ls', ['-v', 'ff', '--archives']], ['glacier-put', ['-v', 'ff', '-d', 'x']], ['glacier-rm', ['-v', 'ff', '--', 'abc']]] as const) {
      const p = start(bin, ['--catalogue', fifo, ...args], { env: envOf(), input: 'data' });
      // Were it to block, a SIGTERM must still end it: sent only if it has not ended within a generous bound.
      const timer = setTimeout(() => p.proc.kill('SIGTERM'), within(15_000));
      const r = await p.done;
      clearTimeout(timer);
      assert.equal(r.code, 1, `${bin}: ${show(r)}`);
      assert.match(r.stderr, /not a regular file/, bin);
    }
    assert.equal((await local.counters()).UploadArchive ?? 0, before, 'nothing uploaded');
  });

  it('a catalogue in a folder others may write to (no sticky bit), or reached through another user\'s link, is refused', { timeout: within(60_000) }, async () => {
    await vaultOps('fold');
    const open = join(work, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    const r = await run('glacier-put', ['-v', 'fold', '-d', 'x', '--catalogue', join(open, 'c.jsonl')], { env: envOf(), input: 'data' });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^glacier-put: the catalogue's folder .*open is writable by others \(mode 777\); chmod o-w .*open, or keep the catalogue in a folder of your own/m);
    assert.ok(!existsSync(join(open, 'c.jsonl')));
    const ls = await run('glacier-ls', ['-v', 'fold', '--archives', '--catalogue', join(open, 'c.jsonl')], { env: envOf() });
    assert.equal(ls.code, 1, show(ls));
    // Sticky, as /tmp: allowed.
    chmodSync(open, 0o1777);
    ok(await run('glacier-put', ['-v', 'fold', '-d', 'x', '--catalogue', join(open, 'c.jsonl')], { env: envOf(), input: 'data' }));

    // A link another user owns on the way to the folder.
    if (process.getuid?.() !== 0) return; // only root can give a link to another user here
    const target = join(work, 'target');
    mkdirSync(target, { mode: 0o700 });
    const link = join(work, 'shared-cat');
    symlinkSync(target, link);
    lchownSync(link, 65534, 65534);
    const x = await run('glacier-put', ['-v', 'fold', '-d', 'x', '--catalogue', join(link, 'b.jsonl')], { env: envOf(), input: 'data' });
    assert.equal(x.code, 1, show(x));
    assert.match(x.stderr, /^glacier-put: the catalogue's folder .*shared-cat \(or a link on its way\) belongs to another user \(uid 65534\)/m);
    assert.ok(!existsSync(join(target, 'b.jsonl')));
  });
});

describe('glacier-rm', { concurrency: 1 }, () => {
  it('a junk id is "not an archive id of this vault", named; -q -c 16 prints no MaxListenersExceededWarning', { timeout: within(60_000) }, async () => {
    await vaultOps('rmx');
    const env = envOf({ catalogue: join(work, 'rmx.jsonl') });
    const junk = await run('glacier-rm', ['-v', 'rmx', '--', 'abc'], { env });
    assert.equal(junk.code, 1, show(junk));
    assert.match(junk.stderr, /^glacier-rm: archive abc: .*not an archive id of this vault/m);
    await local.admin('POST', 'fill', { vault: 'rmx', count: 40, size: 16 });
    const many = await inventoryIds('rmx');
    assert.equal(many.length, 40);
    const r = ok(await run('glacier-rm', ['-v', 'rmx', '-q', '-c', '16', '-'], { env, input: many.join('\n') }));
    assert.equal(lines(r).length, 40);
    assert.ok(!r.stderr.includes('MaxListenersExceededWarning'), r.stderr);
    assert.equal(readFileSync(join(work, 'rmx.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"Event":"deleted"')).length, 40);
  });
});
