// examples/*.sh end to end: each script runs as a user would run it (bash, real pipes, the binaries found by name
// on PATH) against a real glacier-local, with the real gpg, tar and xz. Only what cannot run here is faked, in a
// folder put first on PATH: pg_dump (no PostgreSQL server) prints a deterministic SQL dump, and aws (no S3)
// records its arguments and keeps what it was piped as the "S3 object". Every round trip is checked byte for
// byte: restored trees (names, contents, modes, mtimes), the archive stored in the vault, the bytes that reached S3.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import {
  CreateVaultCommand, DescribeVaultCommand, InitiateMultipartUploadCommand, ListMultipartUploadsCommand, ListPartsCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { run, sh, show, type Ran } from './helpers/bins.js';
import { ROOT, startLocal, type Local } from './helpers/local.js';
import { until } from './helpers/time.js';

const EXAMPLES = join(ROOT, 'examples');
const SCRIPTS = ['pg-dump-to-glacier.sh', 'backup-dir.sh', 'encrypted-backup.sh', 'restore.sh', 'move-to-s3.sh', 'nightly-cron.sh'];
const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const A = { accountId: '-' };

let local: Local;
let client: GlacierClient;
let work: string;
let env: NodeJS.ProcessEnv;
const today = spawnSync('date', ['+%F'], { encoding: 'utf8' }).stdout.trim();

// pg_dump: a deterministic dump of FAKE_PG_ROWS rows; records its arguments; FAKE_PG_FAIL=1 dies halfway.
const FAKE_PG_DUMP = `#!/usr/bin/env bash
set -euo pipefail
printf '%s\\n' "$@" > "$FAKE_DIR/pg_dump.args"
rows=\${FAKE_PG_ROWS:-2000}
printf -- '--\\n-- PostgreSQL database dump of %s\\n--\\n\\nCREATE TABLE public.ledger (id integer, note text);\\n' "\${!#}"
printf 'COPY public.ledger (id, note) FROM stdin;\\n'
awk -v n="$rows" -v fail="\${FAKE_PG_FAIL:-0}" 'BEGIN {
  for (i = 0; i < n; i++) {
    if (fail == 1 && i == int(n / 2)) { fflush(); exit 1 }
    printf "%d\\tentry %d of the ledger, balance %d\\n", i, i, (i * 7919) % 100003
  }
}'
printf '\\\\.\\n\\n-- PostgreSQL database dump complete\\n'
`;

// aws: each call appends its arguments as a JSON line to $FAKE_DIR/aws.calls; `s3 cp - URL` keeps stdin as
// $FAKE_DIR/s3/<URL without s3://, '/' as '_'>; `s3 rm URL` removes it.
const FAKE_AWS = `#!/usr/bin/env node
const fs = require('node:fs');
const dir = process.env.FAKE_DIR;
const args = process.argv.slice(2);
fs.appendFileSync(dir + '/aws.calls', JSON.stringify(args) + '\\n');
const obj = (url) => dir + '/s3/' + url.replace(/^s3:\\/\\//, '').replace(/\\//g, '_');
fs.mkdirSync(dir + '/s3', { recursive: true });
if (args[0] === 's3' && args[1] === 'cp' && args[2] === '-') {
  const out = fs.createWriteStream(obj(args[3]));
  process.stdin.pipe(out).on('finish', () => process.stdout.write('upload: - to ' + args[3] + '\\n'));
} else if (args[0] === 's3' && args[1] === 'rm') {
  fs.rmSync(obj(args[2]), { force: true });
  process.stdout.write('delete: ' + args[2] + '\\n');
} else {
  process.stderr.write('fake aws: unexpected call\\n');
  process.exit(2);
}
`;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'gp-ex-'));
  const fakes = join(work, 'fakes');
  mkdirSync(fakes);
  writeFileSync(join(fakes, 'pg_dump'), FAKE_PG_DUMP, { mode: 0o755 });
  writeFileSync(join(fakes, 'aws.cjs'), FAKE_AWS);
  // A .cjs so `require` works whatever package.json is near; `aws` is the name the script calls.
  writeFileSync(join(fakes, 'aws'), `#!/bin/sh\nexec node "${join(fakes, 'aws.cjs')}" "$@"\n`, { mode: 0o755 });
  mkdirSync(join(work, 'gnupg'), { mode: 0o700 });
  local = await startLocal(['--memory', '--job-delay', '0']);
  client = local.client();
  env = {
    ...local.env,
    PATH: `${fakes}:${join(ROOT, 'bin')}:${dirname(process.execPath)}:${process.env.PATH}`,
    XDG_STATE_HOME: join(work, 'state'),
    GNUPGHOME: join(work, 'gnupg'),
    FAKE_DIR: fakes,
    INTERVAL: '1s',
  };
  for (const k of ['GLACIER_VAULT', 'VAULT', 'PASSFILE', 'SPOOL', 'EXPECTED_SIZE', 'DB', 'SRC', 'TIER']) delete env[k];
});

after(async () => {
  // gpg started an agent for GNUPGHOME: stop it before its folder goes.
  spawnSync('gpgconf', ['--kill', 'gpg-agent'], { env: { ...process.env, GNUPGHOME: join(work, 'gnupg') } });
  await local?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Runs examples/NAME with bash semantics from its shebang, in `work`, with env + extra. */
function script(name: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return sh('cd "$WORK" && exec "$@"', [join(EXAMPLES, name), ...args], { env: { ...env, WORK: work, ...extra } }).done;
}

function ok(r: Ran): Ran {
  assert.equal(r.code, 0, show(r));
  return r;
}

async function createVault(name: string): Promise<string> {
  await client.send(new CreateVaultCommand({ ...A, vaultName: name }));
  return name;
}

const archives = async (vault: string) => (await client.send(new DescribeVaultCommand({ ...A, vaultName: vault }))).NumberOfArchives;
const uploads = async (vault: string) =>
  ((await client.send(new ListMultipartUploadsCommand({ ...A, vaultName: vault }))).UploadsList ?? []).map((u) => u.MultipartUploadId!);

/** The archive as stored in the vault, read back with glacier-job get. */
async function stored(vault: string, id: string): Promise<Buffer> {
  const r = await run('glacier-job', ['get', '-v', vault, '--interval', '1s', '--', id], { env });
  assert.equal(r.code, 0, show(r));
  return r.stdout;
}

/** glacier-put's JSON result line among the lines of a stream. */
function putResult(text: string): { archiveId: string; size: number; parts: number; partSize: number; description: string } {
  const line = text.split('\n').map((l) => l.replace(/^.*?(\{"vault")/, '$1')).find((l) => l.startsWith('{"vault"') && l.includes('"archiveId"'));
  assert.ok(line, `a glacier-put result line in: ${text}`);
  return JSON.parse(line);
}

/** A folder with what a backup must keep: nesting, modes, an empty file and folder, a symlink, odd names, binary data. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'docs/notes'), { recursive: true });
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'private'), { mode: 0o750 });
  chmodSync(join(dir, 'private'), 0o750);
  writeFileSync(join(dir, 'docs/notes/readme.txt'), 'glacier-pipes examples\n');
  writeFileSync(join(dir, 'docs/notes/naïve café.txt'), 'non-ASCII names survive\n');
  writeFileSync(join(dir, 'docs/ledger.tsv'), Array.from({ length: 20_000 }, (_, i) => `${i}\tbalance ${(i * 7919) % 100_003}`).join('\n'));
  writeFileSync(join(dir, 'private/key.bin'), randomBytes(1536 * 1024)); // incompressible, more than 1 MiB
  chmodSync(join(dir, 'private/key.bin'), 0o600);
  writeFileSync(join(dir, 'empty-file'), '');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  chmodSync(join(dir, 'run.sh'), 0o755);
  writeFileSync(join(dir, 'group-read'), 'x', { mode: 0o640 });
  chmodSync(join(dir, 'group-read'), 0o640);
  symlinkSync('docs/notes/readme.txt', join(dir, 'README-link'));
  utimesSync(join(dir, 'docs/ledger.tsv'), new Date('2020-02-02T02:02:02Z'), new Date('2020-02-02T02:02:02Z'));
}

/** Every entry under dir: type, mode, size, mtime and content hash, or link target. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[rel] = `link ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = `dir ${mode}`;
        walk(p);
      } else out[rel] = `file ${mode} ${st.size} ${Math.floor(st.mtimeMs / 1000)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

describe('examples/: the scripts themselves', () => {
  it('are executable bash scripts with set -euo pipefail, parse, and are listed in examples/README.md', () => {
    const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
    for (const name of SCRIPTS) {
      const p = join(EXAMPLES, name);
      assert.ok(statSync(p).mode & 0o111, `${name} is executable`);
      const text = readFileSync(p, 'utf8');
      assert.match(text, /^#!\/usr\/bin\/env bash\n/, name);
      assert.match(text, /^set -euo pipefail$/m, name);
      const syntax = spawnSync('bash', ['-n', p], { encoding: 'utf8' });
      assert.equal(syntax.status, 0, `${name}: ${syntax.stderr}`);
      assert.ok(readme.includes(name), `examples/README.md lists ${name}`);
      // The binaries by name (PATH / npm link), never by a path into this repository.
      assert.doesNotMatch(text, /bin\/glacier-|dist\//, name);
    }
  });

  it('refuse bad usage with exit 2 and a one-line message, before any request', async () => {
    const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
      ['backup-dir.sh', [], {}, /usage: backup-dir DIR/],
      ['encrypted-backup.sh', [work], {}, /set PASSFILE/],
      ['encrypted-backup.sh', [work], { PASSFILE: join(work, 'no-such-passfile') }, /cannot read PASSFILE/],
      ['restore.sh', ['only-one-arg'], {}, /usage: restore ARCHIVE_ID DEST/],
      ['move-to-s3.sh', ['some-id', '/not/s3'], {}, /must be s3:\/\/BUCKET\/KEY/],
      ['pg-dump-to-glacier.sh', [], {}, /usage: DB=NAME/],
      ['nightly-cron.sh', [], {}, /set SRC/],
    ];
    const before = await local.counters();
    for (const [name, args, extra, message] of cases) {
      const r = await script(name, args, extra);
      assert.equal(r.code, 2, `${name} ${args.join(' ')}: ${show(r)}`);
      assert.match(r.stderr, message, show(r));
      assert.equal(r.stderr.trim().split('\n').length, 1, show(r));
      assert.equal(r.stdout.length, 0, show(r));
    }
    assert.deepEqual(await local.counters(), before, 'no request reached glacier-local');
  });
});

describe('examples/backup-dir.sh and restore.sh', () => {
  it('back up a folder with the date in the description and restore the same tree', async () => {
    const vault = await createVault('ex-backup');
    const src = join(work, 'site café'); // a space and non-ASCII bytes in the path
    mkdirSync(src);
    makeTree(src);
    const r = ok(await script('backup-dir.sh', [src], { VAULT: vault }));
    const id = r.stdout.toString('utf8').replace(/\n$/, '');
    assert.match(id, /^[\w-]{20,}$/, `stdout is the archive id alone: ${show(r)}`);
    const put = putResult(r.stderr);
    assert.equal(put.archiveId, id);
    assert.equal(put.description, `${work}/site caf?? ${today}`, 'the path (non-ASCII bytes as ?) and the date');

    const archive = await stored(vault, id);
    assert.ok(archive.subarray(0, 6).equals(XZ_MAGIC), 'a tar.xz in the vault');
    const names = spawnSync('tar', ['-tJf', '-'], { input: archive, encoding: 'utf8', maxBuffer: 2 ** 30 }).stdout.split('\n');
    assert.ok(names.includes('site café/docs/ledger.tsv'), `members are under the folder's own name: ${names.slice(0, 5)}`);

    const dest = join(work, 'restored plain');
    const back = ok(await script('restore.sh', [id, dest], { VAULT: vault }));
    assert.match(back.stderr, /unpacked into/);
    assert.deepEqual(readdirSync(dest), ['site café']);
    assert.deepEqual(fingerprint(join(dest, 'site café')), fingerprint(src));
  });

  it('deletes what was stored when glacier-pack dies mid-stream (a failing glacier-pack first on PATH)', async () => {
    const vault = await createVault('ex-backup-fail');
    const dying = join(work, 'dying');
    mkdirSync(dying);
    writeFileSync(join(dying, 'glacier-pack'), '#!/bin/sh\nhead -c 300000 /dev/zero\necho "glacier-pack: killed" >&2\nexit 137\n', { mode: 0o755 });
    const r = await script('backup-dir.sh', [work], { VAULT: vault, PATH: `${dying}:${env.PATH}` });
    assert.equal(r.code, 137, show(r));
    assert.equal(r.stdout.length, 0, 'no archive id');
    assert.match(r.stderr, /backup-dir: glacier-pack failed \(exit 137\); deleting the incomplete archive /, show(r));
    assert.equal(await archives(vault), 0);
  });
});

describe('examples/encrypted-backup.sh and restore.sh with PASSFILE', () => {
  it('store only ciphertext, restore the tree with the passphrase and fail without it', async () => {
    const vault = await createVault('ex-gpg');
    const src = join(work, 'secrets');
    mkdirSync(src);
    makeTree(src);
    const passfile = join(work, 'passphrase');
    writeFileSync(passfile, 'correct horse battery staple\n', { mode: 0o600 });

    const r = ok(await script('encrypted-backup.sh', [src], { VAULT: vault, PASSFILE: passfile }));
    const id = r.stdout.toString('utf8').replace(/\n$/, '');
    assert.equal(putResult(r.stderr).archiveId, id, show(r));
    assert.ok(putResult(r.stderr).description.endsWith(`${today} gpg`));

    const archive = await stored(vault, id);
    assert.ok(!archive.subarray(0, 6).equals(XZ_MAGIC), 'not the plain tar.xz');
    assert.ok(archive.indexOf(XZ_MAGIC) < 0, 'no xz stream anywhere in the stored bytes');
    assert.ok((archive[0] & 0x80) !== 0, `an OpenPGP packet first (got 0x${archive[0].toString(16)})`);
    const plain = spawnSync('gpg', ['--batch', '--quiet', '--decrypt', '--no-symkey-cache', '--passphrase-file', passfile], { input: archive, env, maxBuffer: 2 ** 30 });
    assert.equal(plain.status, 0, String(plain.stderr));
    assert.ok(plain.stdout.subarray(0, 6).equals(XZ_MAGIC), 'which decrypts to a tar.xz');

    const dest = join(work, 'restored gpg');
    ok(await script('restore.sh', [id, dest], { VAULT: vault, PASSFILE: passfile }));
    assert.deepEqual(fingerprint(join(dest, 'secrets')), fingerprint(src));

    const wrong = join(work, 'wrong-passphrase');
    writeFileSync(wrong, 'not it\n', { mode: 0o600 });
    const bad = await script('restore.sh', [id, join(work, 'restored wrong')], { VAULT: vault, PASSFILE: wrong });
    assert.notEqual(bad.code, 0, show(bad));
    assert.match(bad.stderr, /decryption failed/, show(bad));
    const none = await script('restore.sh', [id, join(work, 'restored none')], { VAULT: vault });
    assert.notEqual(none.code, 0, `without PASSFILE tar gets ciphertext: ${show(none)}`);
  });
});

describe('examples/pg-dump-to-glacier.sh (fake pg_dump)', () => {
  const dumpOf = (db: string, rows: number) => {
    const d = spawnSync(join(work, 'fakes', 'pg_dump'), [db], { env: { ...env, FAKE_PG_ROWS: String(rows) }, maxBuffer: 2 ** 30 });
    assert.equal(d.status, 0, String(d.stderr));
    return d.stdout;
  };

  it('stores exactly the dump, with pg_dump DATE in the description', async () => {
    const vault = await createVault('ex-pg');
    const r = ok(await script('pg-dump-to-glacier.sh', [], { VAULT: vault, DB: 'shop', PG_DUMP_ARGS: '--no-owner' }));
    const put = putResult(r.stdout.toString('utf8'));
    assert.equal(put.description, `pg_dump shop ${today}`);
    assert.deepEqual(readFileSync(join(work, 'fakes', 'pg_dump.args'), 'utf8').split('\n'), ['--no-owner', 'shop', '']);
    assert.ok((await stored(vault, put.archiveId)).equals(dumpOf('shop', 2000)));
  });

  it('with EXPECTED_SIZE: a multipart upload with parts that fit, the same bytes', async () => {
    const vault = await createVault('ex-pg-big');
    const rows = 400_000; // about 17 MiB: three 8 MiB parts
    const r = ok(await script('pg-dump-to-glacier.sh', ['warehouse'], { VAULT: vault, EXPECTED_SIZE: '20M', FAKE_PG_ROWS: String(rows) }));
    const put = putResult(r.stdout.toString('utf8'));
    const dump = dumpOf('warehouse', rows);
    assert.equal(put.partSize, 8 * 2 ** 20, show(r));
    assert.equal(put.parts, Math.ceil(dump.length / (8 * 2 ** 20)));
    assert.ok(put.parts > 1);
    assert.ok((await stored(vault, put.archiveId)).equals(dump));
    assert.deepEqual(await uploads(vault), [], 'no upload left in progress');
  });

  it('with SPOOL: spools through glacier-chunk -o, uploads from the spool, removes it', async () => {
    const vault = await createVault('ex-pg-spool');
    const spool = join(work, 'spool');
    const r = ok(await script('pg-dump-to-glacier.sh', ['crm'], { VAULT: vault, SPOOL: spool, FAKE_PG_ROWS: '50000' }));
    const put = putResult(r.stdout.toString('utf8'));
    assert.equal(put.description, `pg_dump crm ${today}`);
    assert.ok((await stored(vault, put.archiveId)).equals(dumpOf('crm', 50_000)));
    assert.ok(!existsSync(spool), 'the spool is removed after the upload');

    mkdirSync(spool);
    writeFileSync(join(spool, 'part-000000'), 'x'); // a spool without its manifest: interrupted, useless
    const busy = await script('pg-dump-to-glacier.sh', ['crm'], { VAULT: vault, SPOOL: spool });
    assert.equal(busy.code, 2, show(busy));
    assert.match(busy.stderr, /holds an interrupted spool \(no manifest.json\); remove it first/, show(busy));
  });

  it('with SPOOL: an upload killed halfway keeps the spool, and the command it names sends only the missing parts', async () => {
    const vault = await createVault('ex-pg-resume');
    const spool = join(work, 'spool-resume');
    const rows = 150_000; // about 6 MiB: six or seven 1 MiB parts
    const dump = dumpOf('crm', rows);
    // The first two parts land; every later one has its connection cut in glacier-local (retried by glacier-put,
    // never stored) until the run is killed. It is killed once two parts are in and a cut happened, whatever the
    // machine's load: no part can land after that, so the parts listed then are all the resume may skip.
    await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:drop:skip=2' });
    let landed = 0;
    let stderr = '';
    try {
      const proc = spawn(join(EXAMPLES, 'pg-dump-to-glacier.sh'), ['crm'], {
        env: { ...env, VAULT: vault, SPOOL: spool, PART_SIZE: '1M', FAKE_PG_ROWS: String(rows) }, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
      });
      proc.stderr!.on('data', (d) => (stderr += d));
      const closed = new Promise((r) => proc.once('close', r));
      await until(async () => {
        const f = await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters');
        if (!f.faults.UploadMultipartPart?.drop) return false;
        const [up] = await uploads(vault);
        return up && ((await client.send(new ListPartsCommand({ ...A, vaultName: vault, uploadId: up }))).Parts?.length ?? 0) >= 2;
      }, 'two parts to land and a third to be cut', 60_000, 50);
      process.kill(-proc.pid!, 'SIGTERM'); // Ctrl-C-like: the script and glacier-put
      await closed;
      const [up] = await uploads(vault);
      landed = (await client.send(new ListPartsCommand({ ...A, vaultName: vault, uploadId: up }))).Parts?.length ?? 0;
    } finally {
      await local.admin('DELETE', 'faults');
    }
    assert.equal(landed, 2, 'only the parts before the cut ones landed');
    assert.match(stderr, /^glacier-put: interrupted; the parts sent so far are kept\. Resume with: glacier-put /m, stderr);
    assert.ok(existsSync(join(spool, 'manifest.json')), 'the spool is kept, complete');

    const again = await script('pg-dump-to-glacier.sh', ['crm'], { VAULT: vault, SPOOL: spool });
    assert.equal(again.code, 2, show(again));
    const hint = /upload it with: (glacier-put .*)$/m.exec(again.stderr)?.[1];
    assert.equal(hint, `glacier-put -v ${vault} --resume ${spool} && rm -r ${spool}`, show(again));

    const before = (await local.counters()).UploadMultipartPart ?? 0;
    const resumed = await sh(hint!, [], { env }).done;
    assert.equal(resumed.code, 0, show(resumed));
    const put = putResult(resumed.stdout.toString('utf8'));
    assert.equal(put.description, `pg_dump crm ${today}`, 'the description given when the upload started');
    assert.equal(put.parts, Math.ceil(dump.length / 2 ** 20));
    assert.equal((await local.counters()).UploadMultipartPart - before, put.parts - landed, 'only the missing parts are sent');
    assert.ok((await stored(vault, put.archiveId)).equals(dump));
    assert.ok(!existsSync(spool));
    assert.deepEqual(await uploads(vault), []);
  });

  it('a pg_dump that dies halfway leaves no archive (streamed) and uploads nothing (spooled)', async () => {
    const vault = await createVault('ex-pg-fail');
    const r = await script('pg-dump-to-glacier.sh', ['shop'], { VAULT: vault, FAKE_PG_FAIL: '1' });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /glacier-put: pg_dump shop exited with status 1; nothing was stored/, show(r));
    assert.equal(r.stdout.length, 0, show(r));
    assert.equal(await archives(vault), 0, 'the truncated dump was never stored');
    assert.deepEqual(await uploads(vault), [], 'no upload left open');

    const spool = join(work, 'spool-fail');
    const before = await local.counters();
    const s = await script('pg-dump-to-glacier.sh', ['shop'], { VAULT: vault, FAKE_PG_FAIL: '1', SPOOL: spool });
    assert.equal(s.code, 1, show(s));
    assert.match(s.stderr, /nothing uploaded/, show(s));
    assert.ok(!existsSync(spool), 'the truncated spool is removed');
    assert.deepEqual(await local.counters(), before, 'no request at all');
    assert.equal(await archives(vault), 0);
    assert.deepEqual(await uploads(vault), []);
  });
});

describe('examples/move-to-s3.sh (fake aws)', () => {
  const calls = () =>
    readFileSync(join(work, 'fakes', 'aws.calls'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as string[]);

  it('pipes the verified archive into aws s3 cp -, with --expected-size', async () => {
    const vault = await createVault('ex-s3');
    const data = randomBytes(5 * 2 ** 20 + 12345);
    const put = await run('glacier-put', ['-v', vault, '-d', 'to move'], { env, input: data });
    assert.equal(put.code, 0, show(put));
    const { archiveId } = putResult(put.stdout.toString('utf8'));

    rmSync(join(work, 'fakes', 'aws.calls'), { force: true });
    const r = ok(await script('move-to-s3.sh', [archiveId, 's3://my-bucket/backups/www.tar.xz'], { VAULT: vault, EXPECTED_SIZE: String(data.length) }));
    assert.match(r.stderr, /copied to s3:\/\/my-bucket\/backups\/www.tar.xz/);
    assert.deepEqual(calls(), [['s3', 'cp', '-', 's3://my-bucket/backups/www.tar.xz', '--storage-class', 'STANDARD', '--expected-size', String(data.length)]]);
    assert.ok(readFileSync(join(work, 'fakes', 's3', 'my-bucket_backups_www.tar.xz')).equals(data), 'the bytes that reached S3 are the archive');

    // Without EXPECTED_SIZE, no --expected-size; a storage class passes through.
    rmSync(join(work, 'fakes', 'aws.calls'));
    ok(await script('move-to-s3.sh', [archiveId, 's3://my-bucket/deep'], { VAULT: vault, STORAGE_CLASS: 'DEEP_ARCHIVE' }));
    assert.deepEqual(calls(), [['s3', 'cp', '-', 's3://my-bucket/deep', '--storage-class', 'DEEP_ARCHIVE']]);
    assert.ok(readFileSync(join(work, 'fakes', 's3', 'my-bucket_deep')).equals(data));
  });

  it('when the retrieval fails, fails and removes what aws stored', async () => {
    const vault = await createVault('ex-s3-fail');
    const put = await run('glacier-put', ['-v', vault], { env, input: randomBytes(1000) });
    const { archiveId } = putResult(put.stdout.toString('utf8'));
    assert.equal((await run('glacier-rm', ['-v', vault, '--', archiveId], { env })).code, 0);

    rmSync(join(work, 'fakes', 'aws.calls'), { force: true });
    const r = await script('move-to-s3.sh', [archiveId, 's3://my-bucket/gone'], { VAULT: vault });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^glacier-job: /m, show(r));
    assert.match(r.stderr, /glacier-job failed \(exit 1\); removing the incomplete s3:\/\/my-bucket\/gone/, show(r));
    assert.deepEqual(calls().map((c) => c.slice(0, 2)), [['s3', 'cp'], ['s3', 'rm']]);
    assert.ok(!existsSync(join(work, 'fakes', 's3', 'my-bucket_gone')));
  });
});

describe('examples/nightly-cron.sh', () => {
  it('backs up with the date, aborts the stale upload and keeps the fresh one, logging to stderr', async () => {
    const vault = await createVault('ex-cron');
    const src = join(work, 'nightly-data');
    mkdirSync(src);
    makeTree(src);
    const initiate = async (d: string) =>
      (await client.send(new InitiateMultipartUploadCommand({ ...A, vaultName: vault, partSize: String(2 ** 20), archiveDescription: d }))).uploadId!;
    const stale = await initiate('yesterday, interrupted');
    const fresh = await initiate('running now');
    await local.admin('POST', `uploads/${stale}/age`, { seconds: 90_000 });

    const r = ok(await script('nightly-cron.sh', [], { VAULT: vault, SRC: src }));
    assert.equal(r.stdout.length, 0, 'stdout stays empty: everything is in the log');
    const log = r.stderr.trim().split('\n');
    for (const l of log) assert.match(l, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d nightly-cron: /, `a timestamped log line: ${l}`);
    const put = putResult(r.stderr);
    assert.equal(put.description, `nightly ${src} ${today}`);
    assert.ok(log.some((l) => l.includes('abort: ') && l.includes(stale) && l.includes('"aborted":true')), r.stderr);
    assert.ok(!r.stderr.includes(fresh), 'the fresh upload is not touched');
    assert.match(log.at(-1)!, /finished, exit 0$/);

    assert.deepEqual(await uploads(vault), [fresh]);
    assert.equal(await archives(vault), 1);
    const dest = join(work, 'restored nightly');
    mkdirSync(dest);
    const untar = spawnSync('tar', ['-xpJf', '-', '-C', dest], { input: await stored(vault, put.archiveId) });
    assert.equal(untar.status, 0, String(untar.stderr));
    assert.deepEqual(fingerprint(join(dest, basename(src))), fingerprint(src));
  });
});
