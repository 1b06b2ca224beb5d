// glacier-restore's names belong to archives, not runs: archives sharing a description restored by runs that see
// the input in other orders (a subset then all, reversed, with the state lost, in shards) each end up where their
// `done` line says, nothing replaced; names compared as a case-insensitive destination compares them. Names as
// other clients wrote them (folder markers, CloudBerry's UTF-7, 255-byte names, `\` in mt2, dates before 1970,
// blank names, FastGlacier's <ce>), the modes of restored files under a umask, and `Name` in --archives lines.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inShard } from '../src/restore/shard.js';
import { run, sh, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';

type Rec = Record<string, any>;
type LogEntry = { op: string; status?: number };
const VAULT = 'names';
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const mt2 = (filename: string, mtime: string) => `mt2 ${b64url(Buffer.from(JSON.stringify({ filename, mtime }), 'utf8'))}`;

let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;
const data = new Map<string, Buffer>();
/** Each uploaded archive's `glacier-job output --archives` line, by a label. */
const lines = new Map<string, Rec>();
const ids = new Map<string, string>();

// label → description uploaded (printable ASCII, as Glacier takes them)
const DESCRIPTIONS: [string, string][] = [
  ...Array.from({ length: 8 }, (_, i): [string, string] => [`dup${i}`, 'same.txt']),
  ['caseUpper', 'Photo.JPG'],
  ['caseLower', 'photo.jpg'],
  ['marker', 'photos/'],
  ['child', 'photos/a.jpg'],
  ['utf7', JSON.stringify({ Path: 'C:+AFw-Fotos+AFw-Caf+AOk-.jpg', UTCDateModified: '20120304T050607Z' })],
  ['long', `${'n'.repeat(300)}.jpeg`],
  ['backslash', mt2('dir/a\\b.txt', '20130228T163008Z')],
  ['pre1970', mt2('old/1965.txt', '19650704T120000Z')],
  ['ce', `<m><v>4</v><p>${b64('fg/secret.doc')}</p><lm>20140101T010203Z</lm><ce>1:1:4340ebcf79712dc5e3ef7d50bab98ba5:54687</ce></m>`],
  ['plainOne', 'one.bin'],
  ['sub', 'sub/x.txt'],
  ['mode', mt2('m/dir/f.txt', '20130228T163008Z')],
  ['nul', 'nul.txt'],
];

function records(out: Buffer): Rec[] {
  return out.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
const archivesOf = (recs: Rec[]) => recs.filter((r) => !r.summary);
const input = (labels: string[], patch: Record<string, Partial<Rec>> = {}) => labels.map((l) => JSON.stringify({ ...lines.get(l), ...patch[l] })).join('\n') + '\n';
const labelOf = (id: string) => [...ids].find(([, v]) => v === id)![0];

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Every `done` line's file holds that archive's bytes, and no two archives claim one file. */
function checkDone(recs: Rec[], what: string): void {
  const owner = new Map<string, string>();
  for (const r of recs.filter((x) => x.status === 'done' && !x.folder)) {
    assert.ok(existsSync(r.to), `${what}: ${labelOf(r.archiveId)} done at ${r.to}, which does not exist`);
    assert.ok(readFileSync(r.to).equals(data.get(r.archiveId)!), `${what}: ${r.to} does not hold ${labelOf(r.archiveId)}'s bytes (its done line says it does)`);
    const o = owner.get(resolve(r.to));
    assert.ok(o === undefined || o === r.archiveId, `${what}: ${r.to} is the file of two archives`);
    owner.set(resolve(r.to), r.archiveId);
  }
}

const restoreArgs = (dir: string, state: string, more: string[] = []) => ['-v', VAULT, '--to', dir, '--state', state, '--interval', '200ms', ...more];

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'glacier-restore-names-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  env = { ...local.env, XDG_STATE_HOME: join(work, 'xdg') };
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  for (const [label, d] of DESCRIPTIONS) {
    const body = randomBytes(1000 + Math.floor(Math.random() * 5000));
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body, archiveDescription: d }));
    data.set(r.archiveId!, body);
    ids.set(label, r.archiveId!);
  }
  for (const rec of records(await inventoryOutput(VAULT, env))) lines.set(labelOf(rec.ArchiveId), rec);
  assert.equal(lines.size, DESCRIPTIONS.length);
});
after(async () => {
  await local?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('glacier-restore: names belong to archives, not runs', () => {
  const dups = Array.from({ length: 8 }, (_, i) => `dup${i}`);

  it('a subset run, then all: the subset keeps its names, and no other archive is given them', async () => {
    const dir = join(work, 'subset');
    const state = join(work, 'subset.state');
    const first = await run('glacier-restore', restoreArgs(dir, state), { env, input: input(['dup5', 'dup2']) });
    assert.equal(first.code, 0, show(first));
    const second = await run('glacier-restore', restoreArgs(dir, state), { env, input: input(dups) });
    assert.equal(second.code, 0, show(second));
    const recs = [...archivesOf(records(first.stdout)), ...archivesOf(records(second.stdout))];
    checkDone(recs, 'subset then all');
    const names = new Map(archivesOf(records(second.stdout)).map((r) => [r.archiveId, r.name]));
    for (const r of archivesOf(records(first.stdout))) assert.equal(names.get(r.archiveId), r.name, 'a name never changes');
    assert.equal(new Set(names.values()).size, dups.length);
    assert.equal(walk(dir).length, dups.length, 'one file per archive, none replaced');
  });

  it('all, then all in reverse order, then reversed again with the state lost: nothing replaced', async () => {
    const dir = join(work, 'reverse');
    const state = join(work, 'reverse.state');
    const runs: Rec[][] = [];
    for (const [labels, st] of [[dups, state], [[...dups].reverse(), state], [[...dups].reverse(), join(work, 'reverse-lost.state')]] as const) {
      const r = await run('glacier-restore', restoreArgs(dir, st), { env, input: input([...labels]) });
      assert.equal(r.code, 0, show(r));
      runs.push(archivesOf(records(r.stdout)));
      checkDone(runs.flat(), `run ${runs.length}`);
    }
    const nameOf = (recs: Rec[]) => new Map(recs.map((r) => [r.archiveId, r.name]));
    assert.deepEqual(nameOf(runs[1]), nameOf(runs[0]), 'the same names in reverse order');
    assert.deepEqual(nameOf(runs[2]), nameOf(runs[0]), 'and with the state lost (the folder says which file is whose)');
    assert.equal(walk(dir).length, dups.length);
  });

  it('two shards, each seeing the input in another order, into one folder: nothing replaced', async () => {
    const dir = join(work, 'shards');
    // The first archive of one order and of the other in different shards: both would be "same.txt" if names
    // followed input order.
    const order = [...dups].sort((a, b) => Number(inShard(ids.get(b)!, { k: 0, n: 2 })) - Number(inShard(ids.get(a)!, { k: 0, n: 2 })));
    assert.ok(inShard(ids.get(order[0])!, { k: 0, n: 2 }) && inShard(ids.get(order.at(-1)!)!, { k: 1, n: 2 }), 'the archives fall in both shards');
    const s0 = await run('glacier-restore', restoreArgs(dir, join(work, 'shard0.state'), ['--shard', '0/2']), { env, input: input(order) });
    assert.equal(s0.code, 0, show(s0));
    const s1 = await run('glacier-restore', restoreArgs(dir, join(work, 'shard1.state'), ['--shard', '1/2']), { env, input: input([...order].reverse()) });
    assert.equal(s1.code, 0, show(s1));
    const recs = [...archivesOf(records(s0.stdout)), ...archivesOf(records(s1.stdout))];
    assert.equal(recs.filter((r) => r.status === 'done').length, dups.length);
    checkDone(recs, 'shards');
    assert.equal(walk(dir).length, dups.length);
  });

  it('a case-insensitive destination (simulated): Photo.JPG and photo.jpg get names that differ in more than case', async () => {
    const dir = join(work, 'nocase');
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'nocase.state')), { env: { ...env, GLACIER_RESTORE_TEST_FOLD_CASE: '1' }, input: input(['caseUpper', 'caseLower']) });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout));
    assert.equal(recs.length, 2);
    assert.notEqual(recs[0].name.toLowerCase(), recs[1].name.toLowerCase(), `${recs[0].name} and ${recs[1].name} are one file on a case-insensitive folder`);
    assert.equal(recs.find((x) => x.archiveId === ids.get('caseUpper'))!.name, 'Photo.JPG', 'the first in the input keeps its name');
    checkDone(recs, 'case-insensitive');
  });
});

describe('glacier-restore: its own files', () => {
  it('--state inside --to DIR is refused (exit 2), nothing written', async () => {
    const dir = join(work, 'state-in-dir');
    const r = await run('glacier-restore', restoreArgs(dir, join(dir, 'sub', 'restore.state')), { env, input: input(['plainOne']) });
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /^glacier-restore: .*inside --to .*--state/m);
    assert.ok(!existsSync(join(dir, 'sub', 'restore.state')));
  });

  it('a link planted at the compaction temp file is not followed: its target is unchanged', async () => {
    const dir = join(work, 'planted');
    const state = join(work, 'planted.state');
    const victim = join(work, 'victim.txt');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, `${state}.tmp`);
    const r = await run('glacier-restore', restoreArgs(dir, state), { env, input: input(['plainOne']) });
    assert.equal(r.code, 0, show(r));
    assert.equal(readFileSync(victim, 'utf8'), 'precious\n', 'the link target is untouched');
    assert.equal(statSync(state).mode & 0o777, 0o600);
    assert.ok(!statSync(state).isSymbolicLink());
  });

  it('a symlinked subfolder planted in DIR does not send files outside DIR', async () => {
    const dir = join(work, 'symdir');
    const outside = join(work, 'outside');
    mkdirSync(dir, { recursive: true });
    mkdirSync(outside);
    symlinkSync(outside, join(dir, 'sub'));
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'symdir.state')), { env, input: input(['sub']) });
    assert.equal(r.code, 1, show(r));
    const [rec] = archivesOf(records(r.stdout));
    assert.equal(rec.status, 'failed');
    assert.match(rec.error, /symbolic link/);
    assert.deepEqual(readdirSync(outside), [], 'nothing written through the link');
  });

  it('two processes racing for one lock, 200 times for each kind (half over a stale lock): exactly one winner each time', async () => {
    const racer = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, 'helpers', 'lock-racer.js');
    // A pid that was alive and is gone: a stale lock's holder.
    const gone = await new Promise<number>((res) => {
      const p = sh('exit 0', [], { env });
      p.done.then(() => res(p.proc.pid!));
    });
    const { spawn } = await import('node:child_process');
    const { createInterface } = await import('node:readline');
    const { hostname } = await import('node:os');
    const procs = [0, 1].map(() => spawn(process.execPath, [racer], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const answers = procs.map((p) => createInterface({ input: p.stdout! })[Symbol.asyncIterator]());
    const locks = join(work, 'locks');
    mkdirSync(locks);
    try {
      for (const kind of ['partial', 'state']) {
        for (let round = 0; round < 200; round++) {
          const path = join(locks, `${kind}-${round}`);
          if (round % 2) writeFileSync(`${path}.lock`, `${gone} ${hostname()}\n`, { mode: 0o600 });
          for (const p of procs) p.stdin!.write(`${round} ${kind} ${path}\n`);
          const got = await Promise.all(answers.map(async (a) => (await a.next()).value as string));
          const won = got.filter((g) => g.endsWith(' won')).length;
          assert.equal(won, 1, `${kind} round ${round}${round % 2 ? ' (over a stale lock)' : ''}: ${JSON.stringify(got)}`);
        }
      }
    } finally {
      for (const p of procs) p.stdin!.end();
    }
  });

  it("names of its own files in another case (.Glacier-Restore-Run.lock, X.PARTIAL) get `_`, as on a case-insensitive folder they are its files", async () => {
    const dir = join(work, 'owncase');
    const patch = {
      dup1: { ArchiveDescription: '.Glacier-Restore-Run.lock' },
      dup2: { ArchiveDescription: 'X.PARTIAL' },
      dup3: { ArchiveDescription: 'y.Partial.Json' },
      dup4: { ArchiveDescription: '.GLACIER-RESTORE-abc.tmp' },
    };
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'owncase.state')), { env: { ...env, GLACIER_RESTORE_TEST_FOLD_CASE: '1' }, input: input(Object.keys(patch), patch) });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout));
    checkDone(recs, 'own names in another case');
    const nameOf = (label: string) => recs.find((x) => x.archiveId === ids.get(label))!.name;
    assert.equal(nameOf('dup1'), '.Glacier-Restore-Run.lock_');
    assert.equal(nameOf('dup2'), 'X.PARTIAL_');
    assert.equal(nameOf('dup3'), 'y.Partial.Json_');
    assert.equal(nameOf('dup4'), '.GLACIER-RESTORE-abc.tmp_');
  });

  it('C1 controls (U+0085, U+009B) and bidirectional overrides and isolates (U+202E, U+2066) become `_`, as C0 controls do', async () => {
    const dir = join(work, 'c1bidi');
    // As glacier-put writes them: \uXXXX escapes, undone in the name.
    const patch = {
      dup5: { ArchiveDescription: 'a\\u0085b\\u009b[31m.txt' },
      dup6: { ArchiveDescription: 'invoice\\u202etxt.exe' },
      dup7: { ArchiveDescription: '\\u2066x\\u2069\\u202a\\u202b\\u202c\\u202d\\u2067\\u2068.txt' },
    };
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'c1bidi.state')), { env, input: input(Object.keys(patch), patch) });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout));
    checkDone(recs, 'C1 and bidi');
    const nameOf = (label: string) => recs.find((x) => x.archiveId === ids.get(label))!.name;
    assert.equal(nameOf('dup5'), 'a_b_[31m.txt');
    assert.equal(nameOf('dup6'), 'invoice_txt.exe');
    assert.equal(nameOf('dup7'), '_x_______.txt');
    assert.deepEqual(walk(dir).map((f) => f.slice(dir.length + 1)).sort(), ['_x_______.txt', 'a_b_[31m.txt', 'invoice_txt.exe'].sort());
  });

  it('a description holding a NUL with --exec: refused once for good, no job started, on this run or the next', async () => {
    const args = ['-v', VAULT, '--exec', 'cat > /dev/null', '--state', join(work, 'nul.state'), '--interval', '200ms'];
    for (const n of [1, 2]) {
      await local.admin('DELETE', 'counters');
      const r = await run('glacier-restore', args, { env, input: input(['nul'], { nul: { ArchiveDescription: 'a\u0000b.txt' } }) });
      assert.equal(r.code, 1, show(r));
      const log = await local.admin<LogEntry[]>('GET', 'requests');
      assert.deepEqual(log.filter((e) => e.op === 'InitiateJob' || e.op === 'GetJobOutput'), [], `run ${n} started no job and fetched nothing`);
      const [rec] = archivesOf(records(r.stdout));
      assert.equal(rec.status, 'failed', `run ${n}`);
      assert.equal(rec.refused, true);
      assert.match(rec.error, /NUL/);
    }
  });
});

describe('glacier-restore: names from other clients', () => {
  const forms = ['marker', 'child', 'utf7', 'long', 'backslash', 'pre1970', 'ce', 'plainOne'];

  it('each name form: path, bytes and mtime', async () => {
    const dir = join(work, 'forms');
    const labels = [...forms, 'blank'];
    const text = input(forms) + JSON.stringify({ ...lines.get('dup0'), ArchiveDescription: '   ' }) + '\n';
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'forms.state')), { env, input: text });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout));
    assert.equal(recs.length, labels.length);
    const by = new Map(recs.map((x) => [x.archiveId, x]));
    const at = (label: string) => by.get(ids.get(label)!)!;
    const want: Record<string, { name: string; mtime?: string }> = {
      marker: { name: `photos/${ids.get('marker')}` }, // a marker with bytes keeps them, in its folder
      child: { name: 'photos/a.jpg' },
      utf7: { name: 'C/Fotos/Café.jpg', mtime: '2012-03-04T05:06:07.000Z' },
      backslash: { name: 'dir/a\\b.txt', mtime: '2013-02-28T16:30:08.000Z' },
      pre1970: { name: 'old/1965.txt', mtime: '1965-07-04T12:00:00.000Z' },
      ce: { name: 'fg/secret.doc', mtime: '2014-01-01T01:02:03.000Z' },
      plainOne: { name: 'one.bin' },
    };
    for (const [label, w] of Object.entries(want)) {
      const rec = at(label);
      assert.equal(rec.status, 'done', label);
      assert.equal(rec.name, w.name, label);
      assert.equal(resolve(rec.to), join(dir, w.name), label);
      assert.ok(readFileSync(join(dir, w.name)).equals(data.get(ids.get(label)!)!), `bytes of ${label}`);
      if (w.mtime) assert.equal(statSync(join(dir, w.name)).mtime.toISOString(), w.mtime, `mtime of ${label}`);
    }
    assert.ok(statSync(join(dir, 'photos')).isDirectory(), 'the marker is a folder');
    const long = at('long');
    assert.equal(Buffer.byteLength(long.name), 255, 'a long name is cut to 255 bytes');
    assert.match(long.name, /^n+~[A-Za-z0-9_-]{8}\.jpeg$/, 'and keeps its extension');
    assert.ok(readFileSync(join(dir, long.name)).equals(data.get(ids.get('long')!)!));
    const blank = by.get(ids.get('dup0')!)!;
    assert.equal(blank.name, ids.get('dup0'), 'a blank name falls back to the archive id');
    assert.ok(readFileSync(join(dir, String(blank.name))).equals(data.get(ids.get('dup0')!)!));
    assert.equal(at('ce').encoding, 'compressed+encrypted', 'a <ce> archive says how it is stored');
    assert.equal(at('plainOne').encoding, undefined);
    assert.match(r.stderr, /warning: .*fg\/secret\.doc.*compressed\+encrypted/);
  });

  it('a folder marker without bytes becomes a folder, with no job', async () => {
    const dir = join(work, 'emptymarker');
    await local.admin('DELETE', 'counters');
    const r = await run('glacier-restore', restoreArgs(dir, join(work, 'emptymarker.state')), { env, input: input(['marker', 'child'], { marker: { Size: 0 } }) });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout));
    const marker = recs.find((x) => x.archiveId === ids.get('marker'))!;
    assert.equal(marker.status, 'done');
    assert.equal(marker.folder, true);
    assert.ok(statSync(join(dir, 'photos')).isDirectory());
    assert.ok(readFileSync(join(dir, 'photos', 'a.jpg')).equals(data.get(ids.get('child')!)!), 'its child is inside it, not flattened');
    assert.equal(marker.jobId, undefined, 'no job for the marker');
    const log = await local.admin<LogEntry[]>('GET', 'requests');
    // The child's job is started, or taken up from the vault's (an earlier test retrieved it): at most one.
    assert.ok(log.filter((e) => e.op === 'InitiateJob').length <= 1, 'no job but the child\'s');
  });

  for (const [umask, file, folder] of [['022', 0o644, 0o755], ['077', 0o600, 0o700]] as const) {
    it(`complete files and folders get the umask's mode (umask ${umask})`, async () => {
      const dir = join(work, `mode-${umask}`);
      const p = sh(`umask ${umask}; exec "$NODE" "$BIN/glacier-restore" "$@"`, restoreArgs(dir, join(work, `mode-${umask}.state`)), { env, input: input(['mode']) });
      const r = await p.done;
      assert.equal(r.code, 0, show(r));
      assert.equal(statSync(join(dir, 'm/dir/f.txt')).mode & 0o777, file, 'file mode');
      assert.equal(statSync(join(dir, 'm/dir')).mode & 0o777, folder, 'folder mode');
      assert.equal(statSync(join(dir, 'm')).mode & 0o777, folder, 'folder mode');
      assert.equal(statSync(join(work, `mode-${umask}.state`)).mode & 0o777, 0o600, 'the state stays private');
    });
  }

  it('glacier-job output --archives lines carry Name for each description form; glacier-restore takes them as they are', async () => {
    const want: Record<string, string> = {
      dup0: 'same.txt',
      caseUpper: 'Photo.JPG',
      marker: 'photos/',
      child: 'photos/a.jpg',
      utf7: 'C/Fotos/Café.jpg',
      backslash: 'dir/a\\b.txt',
      pre1970: 'old/1965.txt',
      ce: 'fg/secret.doc',
      plainOne: 'one.bin',
      sub: 'sub/x.txt',
      mode: 'm/dir/f.txt',
    };
    for (const [label, name] of Object.entries(want)) assert.equal(lines.get(label)!.Name, name, label);
    assert.match(lines.get('long')!.Name, /^n+~[A-Za-z0-9_-]{8}\.jpeg$/);
    const picked = [...lines.values()].filter((l) => l.Name.startsWith('photos/')).map((l) => JSON.stringify(l)).join('\n');
    const r = await run('glacier-restore', [...restoreArgs(join(work, 'named'), join(work, 'named.state')), '--dry-run'], { env, input: `${picked}\n` });
    assert.equal(r.code, 0, show(r));
    const recs = archivesOf(records(r.stdout)).filter((x) => !x.plan);
    assert.deepEqual(recs.map((x) => x.name).sort(), [`photos/${ids.get('marker')}`, 'photos/a.jpg'].sort());
  });
});

