// glacier-restore against a real glacier-local (and a real S3-compatible server, moto): 200 archives of mixed
// sizes and every description form come back byte-identical to a folder, to a command and to S3; names never
// leave the folder or prefix; shards split a vault exactly; --dry-run plans without a request that costs.
import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeDescription, Namer, safeName } from '../src/restore/names.js';
import { run, show, start } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';

const MiB = 1024 * 1024;
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const b64url = (b: Buffer) => b.toString('base64').replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const mt2 = (filename: string, mtime: string) => `mt2 ${b64url(Buffer.from(JSON.stringify({ filename, mtime }), 'utf8'))}`;
// mt-aws-glacier 0.80-0.84: the UTF-8 JSON encoded to UTF-8 a second time, as if it were Latin-1.
const mt1 = (filename: string, mtime: string) => `mt1 ${b64url(Buffer.from(Buffer.from(JSON.stringify({ filename, mtime }), 'utf8').toString('latin1'), 'utf8'))}`;

interface Arch {
  id: string;
  data: Buffer;
  description: string;
  /** What the name must be (when the test pins it). */
  want?: string | RegExp;
  mtime?: string;
}

/** A description form for archive i, and the name glacier-restore must give it. */
function descriptionFor(i: number): { d: string; want?: string | RegExp; mtime?: string } {
  switch (i % 14) {
    case 0: return { d: `file-${i}.txt`, want: `file-${i}.txt` };
    case 1: return { d: 'same.txt', want: i === 1 ? 'same.txt' : /^same~[A-Za-z0-9_-]{8}\.txt$/ };
    case 2: return { d: mt2(`mt/dir${i}/f${i}.dat`, '20130228T163008Z'), want: `mt/dir${i}/f${i}.dat`, mtime: '2013-02-28T16:30:08.000Z' };
    case 3: return { d: mt1(`mt1/café-${i}.txt`, '20120101T000000Z'), want: `mt1/café-${i}.txt`, mtime: '2012-01-01T00:00:00.000Z' };
    case 4: return { d: `<m><v>4</v><p>${b64(`fg/ünï-${i}.bin`)}</p><lm>20140101T010203Z</lm></m>`, want: `fg/ünï-${i}.bin`, mtime: '2014-01-01T01:02:03.000Z' };
    case 5: return { d: `<ArchiveMetadata><Path>${b64(`cbx/${i}.doc`)}</Path></ArchiveMetadata>`, want: `cbx/${i}.doc` };
    case 6: return { d: JSON.stringify({ Path: `cbj/${i}.json`, UTCDateModified: '2015-05-05T05:05:05Z' }), want: `cbj/${i}.json`, mtime: '2015-05-05T05:05:05.000Z' };
    case 7: return { d: '../../etc/passwd', want: i === 7 ? 'etc/passwd' : /^etc\/passwd~[A-Za-z0-9_-]{8}$/ };
    case 8: return { d: `/abs/path/${i}`, want: `abs/path/${i}` };
    case 9: return { d: '' }; // named by its archive id
    case 10: return { d: mt2(`nul\u0000x\ny-${i}`, '20130228T163008Z'), want: `nul_x_y-${i}` };
    case 11: return { d: `${'L'.repeat(1000)}${i}`, want: /^L{246}~[A-Za-z0-9_-]{8}$/ }; // NAME_MAX: 255 bytes
    case 12: return { d: `..\\..\\win\\path-${i}.txt`, want: `win/path-${i}.txt` };
    default: return { d: `${i % 3}/./../x.bin` };
  }
}

function sizeFor(i: number): number {
  if (i === 0) return 1;
  if (i === 5 || i === 6) return 11 * MiB + 12345; // several Glacier parts, and three S3 parts at --part-size 5M
  if (i % 20 === 3) return 1 * MiB + ((i * 7919) % MiB); // several 1 MiB tree-hash leaves
  return 1 + ((i * 104729) % 70_000);
}

let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;
const archives: Arch[] = [];
let jsonl = '';
const VAULT = 'restore-src';

async function uploadAll(): Promise<void> {
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  for (let i = 0; i < 200; i++) {
    const { d, want, mtime } = descriptionFor(i);
    const data = randomBytes(sizeFor(i));
    let id: string;
    if (data.length > 4 * MiB) {
      // Several parts, as glacier-put sends them.
      const f = join(work, `big-${i}`);
      writeFileSync(f, data);
      const r = await run('glacier-put', ['-v', VAULT, '-p', '1M', '-d', d, f], { env });
      assert.equal(r.code, 0, show(r));
      id = JSON.parse(r.stdout.toString()).archiveId;
      assert.ok(JSON.parse(r.stdout.toString()).parts > 1);
    } else {
      id = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, archiveDescription: d || undefined }))).archiveId!;
    }
    archives.push({ id, data, description: d, want, mtime });
  }
  // The input as `glacier-job output --archives` prints it, through the real binaries.
  jsonl = (await inventoryOutput(VAULT, env)).toString();
  assert.equal(jsonl.trim().split('\n').length, 200);
}

function records(stdout: Buffer): Record<string, any>[] {
  return stdout.toString().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function checkNames(recs: Record<string, any>[]): void {
  const byId = new Map(recs.map((r) => [r.archiveId, r]));
  for (const a of archives) {
    const r = byId.get(a.id);
    assert.ok(r, `a record for ${a.id}`);
    if (a.want instanceof RegExp) assert.match(r.name, a.want, `name of "${a.description.slice(0, 60)}"`);
    else if (a.want !== undefined) assert.equal(r.name, a.want, `name of "${a.description.slice(0, 60)}"`);
    else if (a.description === '') assert.equal(r.name, a.id);
    assert.doesNotMatch(r.name, /[\x00-\x1f]|(^|\/)\.\.?(\/|$)|^\//, 'no control characters, dot segments or leading /');
  }
  assert.equal(new Set(recs.map((r) => r.name)).size, recs.length, 'names are unique');
}

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

describe('glacier-restore names (unit)', () => {
  it('decodes each known client form and falls back to the description', () => {
    assert.deepEqual(decodeDescription(mt2('a/b.txt', '20130228T163008Z')), { path: 'a/b.txt', mtime: new Date('2013-02-28T16:30:08Z'), format: 'mt2', backslashSeparates: false });
    assert.equal(decodeDescription(mt1('é/ü.txt', '20130228T163008Z')).path, 'é/ü.txt');
    assert.equal(decodeDescription(`<m><v>2</v><p>${b64('C:\\x\\y.jpg')}</p><lm>20120101T000000Z</lm></m>`).path, 'C:\\x\\y.jpg');
    assert.equal(decodeDescription('{"Path":"p/q.txt"}').format, 'cloudberry-json');
    assert.equal(decodeDescription(JSON.stringify(JSON.stringify({ Path: 'p/q.txt' }))).path, 'p/q.txt');
    assert.equal(decodeDescription('mt2 not!base64').path, 'mt2 not!base64');
    assert.equal(decodeDescription('').path, null);
  });
  it('keeps every name inside the folder: dot segments, absolute paths, NUL, newlines, long names', () => {
    assert.equal(safeName('../../etc/passwd'), 'etc/passwd');
    assert.equal(safeName('/abs/path'), 'abs/path');
    assert.equal(safeName('a\u0000b\nc'), 'a_b_c');
    assert.equal(safeName('..'), null);
    assert.equal(safeName('x.partial'), 'x.partial_');
    // A download of `x` keeps x.partial.lock and x.partial.json.tmp beside it (and removes them): no archive may be named so.
    for (const own of ['x.partial.json', 'x.partial.json.tmp', 'x.partial.lock']) assert.equal(safeName(own), `${own}_`);
    const long = safeName('é'.repeat(400))!;
    assert.ok(Buffer.byteLength(long) <= 255, 'a segment fits NAME_MAX');
    for (const n of [220, 255, 256, 300]) {
      assert.ok(Buffer.byteLength(safeName('L'.repeat(n))!) <= 255, `a ${n}-byte segment too`);
      assert.equal(safeName('L'.repeat(n))!.length === n, n <= 255, `a ${n}-byte segment is kept whole only up to 255 bytes`);
    }
    for (const hostile of ['../../../x', '..\\..\\x', '/', 'a/../../b', '\u0000', './.././..']) {
      const n = safeName(hostile);
      if (n === null) continue;
      const full = resolve('/base', n);
      assert.ok(full.startsWith(`/base${sep}`), `${JSON.stringify(hostile)} → ${n}`);
    }
  });
  it('gives duplicates a suffix from the archive id, the same on every run', () => {
    const a = new Namer();
    const b = new Namer();
    const names = (n: Namer) => ['id1', 'id2', 'id3'].map((id) => n.name(id, 'same.txt').name);
    assert.deepEqual(names(a), names(b));
    assert.equal(new Set(names(new Namer())).size, 3);
    const n = new Namer();
    assert.equal(n.name('i1', 'a').name, 'a');
    assert.notEqual(n.name('i2', 'a/b').name, 'a/b', 'a file cannot be a folder too');
  });
});

describe('glacier-restore: 200 archives to a folder, a command and S3', () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'glacier-restore-'));
    local = await startLocal(['--memory', '--job-delay', '300ms']);
    env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
    await uploadAll();
  });
  after(async () => {
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('to a folder: every archive byte-identical, named from its description, inside DIR, mtimes set', async () => {
    const dir = join(work, 'out');
    const r = await run('glacier-restore', ['-v', VAULT, '--to', dir, '--interval', '200ms', '--max-jobs', '50', '-c', '4'], { env, input: jsonl });
    assert.equal(r.code, 0, show(r));
    const recs = records(r.stdout);
    const summary = recs.pop()!;
    assert.equal(summary.summary, true);
    assert.equal(summary.done, 200);
    assert.equal(recs.length, 200);
    checkNames(recs);
    const byId = new Map(recs.map((x) => [x.archiveId, x]));
    for (const a of archives) {
      const rec = byId.get(a.id)!;
      assert.equal(rec.status, 'done');
      const path = resolve(rec.to);
      assert.ok(path.startsWith(`${resolve(dir)}${sep}`), `${path} is inside ${dir}`);
      assert.ok(readFileSync(path).equals(a.data), `bytes of ${rec.name}`);
      if (a.mtime) assert.equal(statSync(path).mtime.toISOString(), a.mtime, `mtime of ${rec.name}`);
    }
    assert.deepEqual(walk(dir).sort(), recs.map((x) => resolve(x.to)).sort(), 'nothing else in DIR (no .partial left)');
    const st = readdirSync(join(work, 'state', 'glacier-pipes'));
    const journal = st.find((f) => f.endsWith('.jsonl'))!;
    assert.equal(statSync(join(work, 'state', 'glacier-pipes', journal)).mode & 0o777, 0o600, 'the state file is private');

    // The same command again: nothing retrieved a second time.
    await local.admin('DELETE', 'counters');
    const again = await run('glacier-restore', ['-v', VAULT, '--to', dir, '--interval', '200ms'], { env, input: jsonl });
    assert.equal(again.code, 0, show(again));
    const c = await local.counters();
    assert.equal(c.InitiateJob ?? 0, 0);
    assert.equal(c.GetJobOutput ?? 0, 0);
    assert.ok(records(again.stdout).slice(0, -1).every((x) => x.status === 'done' && x.before === true));
  });

  it('to a command: bytes on stdin and GLACIER_* in its environment; done when it exits 0', async () => {
    const out = join(work, 'exec');
    const cmd = 'cat > "$OUT/$GLACIER_ARCHIVE_ID" && printf "%s\\n%s\\n%s\\n%s\\n%s\\n" "$GLACIER_NAME" "$GLACIER_SIZE" "$GLACIER_TREE_HASH" "$GLACIER_CREATION_DATE" "$GLACIER_DESCRIPTION" > "$OUT/$GLACIER_ARCHIVE_ID.env"';
    rmSync(out, { recursive: true, force: true });
    (await import('node:fs')).mkdirSync(out);
    const r = await run('glacier-restore', ['-v', VAULT, '--exec', cmd, '--interval', '200ms', '--max-jobs', '200', '-c', '4'], { env: { ...env, OUT: out }, input: jsonl });
    assert.equal(r.code, 0, show(r));
    const recs = records(r.stdout).slice(0, -1);
    checkNames(recs);
    const inv = new Map(jsonl.trim().split('\n').map((l) => JSON.parse(l)).map((a) => [a.ArchiveId, a]));
    for (const a of archives) {
      assert.ok(readFileSync(join(out, a.id)).equals(a.data), `bytes of ${a.id}`);
      const [name, size, th, created, ...desc] = readFileSync(join(out, `${a.id}.env`), 'utf8').split('\n');
      const rec = recs.find((x) => x.archiveId === a.id)!;
      assert.equal(name, rec.name);
      assert.equal(Number(size), a.data.length);
      assert.equal(th, inv.get(a.id).SHA256TreeHash);
      assert.equal(created, inv.get(a.id).CreationDate);
      assert.equal(desc.join('\n').replace(/\n$/, ''), a.description);
    }
  });

  it('a command that fails: the archive is reported failed (exit 1) and done on a later run', async () => {
    const first = jsonl.split('\n').slice(0, 3).join('\n');
    const state = join(work, 'failing.jsonl');
    const cmd = 'cat > /dev/null; test "$GLACIER_SIZE" != "$FAIL_SIZE"';
    const r = await run('glacier-restore', ['-v', VAULT, '--exec', cmd, '--state', state, '--interval', '200ms'], { env: { ...env, FAIL_SIZE: '1' }, input: first });
    assert.equal(r.code, 1, show(r));
    const failed = records(r.stdout).filter((x) => x.status === 'failed');
    assert.deepEqual(failed.map((x) => x.size), [1]);
    assert.match(r.stderr, /1 archive\(s\) failed/);
    assert.ok(r.stderr.includes(`${failed[0].archiveId} (${failed[0].name}): not restored: the command exited 1`), `the failed archive is named on stderr: ${r.stderr}`);
    const again = await run('glacier-restore', ['-v', VAULT, '--exec', cmd, '--state', state, '--interval', '200ms'], { env, input: first });
    assert.equal(again.code, 0, show(again));
    assert.deepEqual(records(again.stdout).filter((x) => x.status === 'done' && !x.before).map((x) => x.size), [1]);
  });

  describe('to S3 (moto)', () => {
    let moto: ChildProcess;
    let s3: S3Client;
    let s3env: NodeJS.ProcessEnv;
    before(async () => {
      const port = await freePort();
      moto = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
      const endpoint = `http://127.0.0.1:${port}`;
      for (let i = 0; i < 100; i++) {
        if (await fetch(endpoint).then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      s3env = { ...env, AWS_ENDPOINT_URL_S3: endpoint };
      s3 = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      await s3.send(new CreateBucketCommand({ Bucket: 'vault-copy' }));
    });
    after(() => {
      moto?.kill('SIGTERM');
    });

    it('every object byte-identical, with the archive id, description and tree hash as metadata and the part checksums', async () => {
      const r = await run('glacier-restore', ['-v', VAULT, '--to', 's3://vault-copy/photos/', '--storage-class', 'STANDARD', '--part-size', '5M', '--interval', '200ms', '--max-jobs', '200', '-c', '4'], { env: s3env, input: jsonl });
      assert.equal(r.code, 0, show(r));
      const recs = records(r.stdout).slice(0, -1);
      checkNames(recs);
      const inv = new Map(jsonl.trim().split('\n').map((l) => JSON.parse(l)).map((a) => [a.ArchiveId, a]));
      for (const a of archives) {
        const rec = recs.find((x) => x.archiveId === a.id)!;
        assert.equal(rec.to, `s3://vault-copy/photos/${rec.name}`);
        const Key = `photos/${rec.name}`;
        const o = await s3.send(new GetObjectCommand({ Bucket: 'vault-copy', Key }));
        assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(a.data), `bytes of ${Key}`);
        const h = await s3.send(new HeadObjectCommand({ Bucket: 'vault-copy', Key, ChecksumMode: 'ENABLED' }));
        assert.equal(h.Metadata?.['glacier-archive-id'], a.id);
        assert.equal(h.Metadata?.['glacier-tree-hash'], inv.get(a.id).SHA256TreeHash);
        assert.equal(h.Metadata?.['glacier-description'], a.description);
        // The composite checksum, computed here from the bytes: SHA-256 of the parts' SHA-256s (5 MiB parts).
        const digests: Buffer[] = [];
        for (let off = 0; off < a.data.length; off += 5 * MiB) digests.push(createHash('sha256').update(a.data.subarray(off, off + 5 * MiB)).digest());
        const want = createHash('sha256').update(Buffer.concat(digests)).digest('base64');
        assert.equal(h.ChecksumSHA256?.replace(/-\d+$/, ''), want, `checksum of ${Key} (${digests.length} parts)`);
      }
    });

    it('DEEP_ARCHIVE by default', async () => {
      const three = jsonl.split('\n').slice(10, 13).join('\n');
      const r = await run('glacier-restore', ['-v', VAULT, '--to', 's3://vault-copy/deep', '--interval', '200ms'], { env: s3env, input: three });
      assert.equal(r.code, 0, show(r));
      for (const rec of records(r.stdout).slice(0, -1)) {
        assert.match(rec.to, /^s3:\/\/vault-copy\/deep\//);
        const h = await s3.send(new HeadObjectCommand({ Bucket: 'vault-copy', Key: rec.to.slice('s3://vault-copy/'.length) }));
        assert.equal(h.StorageClass, 'DEEP_ARCHIVE');
      }
    });
  });

  it('hostile names from the input itself (NUL, newlines, absolute, ..) stay inside DIR', async () => {
    const lines = jsonl.trim().split('\n').slice(20, 26).map((l) => JSON.parse(l));
    const hostile = ['../../../../tmp/escape', '/etc/shadow', 'a\u0000b', 'line\nbreak/../../..', '..', '\u0007\u001b[31m'];
    lines.forEach((a, i) => (a.ArchiveDescription = hostile[i]));
    const dir = join(work, 'hostile');
    const r = await run('glacier-restore', ['-v', VAULT, '--to', dir, '--interval', '200ms'], { env, input: lines.map((l) => JSON.stringify(l)).join('\n') });
    assert.equal(r.code, 0, show(r));
    const recs = records(r.stdout).slice(0, -1);
    assert.equal(recs.length, 6);
    for (const rec of recs) {
      assert.ok(resolve(rec.to).startsWith(`${resolve(dir)}${sep}`), rec.to);
      assert.doesNotMatch(rec.name, /[\x00-\x1f]/);
    }
    assert.equal(walk(dir).length, 6);
  });

  it('--shard 0/3, 1/3, 2/3 together restore every archive exactly once; names as one whole run gives them', async () => {
    const seen = new Map<string, string>();
    for (let k = 0; k < 3; k++) {
      const r = await run('glacier-restore', ['-v', VAULT, '--to', join(work, 'shards'), '--shard', `${k}/3`, '--dry-run'], { env, input: jsonl });
      assert.equal(r.code, 0, show(r));
      const recs = records(r.stdout);
      recs.pop();
      assert.ok(recs.length > 30 && recs.length < 110, `shard ${k}: ${recs.length} archives`);
      for (const x of recs) {
        assert.ok(!seen.has(x.archiveId), `${x.archiveId} in two shards`);
        seen.set(x.archiveId, x.name);
      }
    }
    assert.equal(seen.size, 200);
    const whole = records((await run('glacier-restore', ['-v', VAULT, '--to', join(work, 'shards'), '--dry-run'], { env, input: jsonl })).stdout);
    whole.pop();
    for (const x of whole) assert.equal(seen.get(x.archiveId), x.name);
    // And for real, on one shard: only its archives are retrieved.
    await local.admin('DELETE', 'counters');
    const one = await run('glacier-restore', ['-v', VAULT, '--to', join(work, 'shard1'), '--shard', '1/3', '--interval', '200ms', '--max-jobs', '100'], { env, input: jsonl });
    assert.equal(one.code, 0, `${show(one)}\nfailed: ${JSON.stringify(records(one.stdout).filter((x) => x.status !== 'done'))}`);
    const n = [...seen.values()].length && records(one.stdout).length - 1;
    // Jobs the earlier tests left in the vault are taken up rather than started again: together, one per archive.
    const summary = records(one.stdout).at(-1)!;
    assert.equal(((await local.counters()).InitiateJob ?? 0) + summary.jobsAdopted, n);
  });

  it('--dry-run: the plan and the days at the pace set, and no job started', async () => {
    await local.admin('DELETE', 'counters');
    const r = await run('glacier-restore', ['-v', VAULT, '--to', join(work, 'plan'), '--dry-run', '--max-jobs', '10', '--max-bytes-per-day', '10M', '--tier', 'Bulk'], { env, input: jsonl });
    assert.equal(r.code, 0, show(r));
    const recs = records(r.stdout);
    const p = recs.pop()!;
    assert.equal(p.plan, true);
    assert.equal(p.archives, 200);
    assert.equal(p.bytes, archives.reduce((s, a) => s + a.data.length, 0));
    assert.equal(p.jobs, 200);
    // 20 waves of 10 Bulk jobs (12 h each) = 10 days; the byte budget allows ~10 MiB a day.
    assert.ok(p.days >= 10, `days ${p.days}`);
    assert.ok(recs.every((x) => x.status === 'planned'));
    assert.equal((await local.counters()).InitiateJob ?? 0, 0);
  });

  it('usage errors: one line, exit 2, before any request', async () => {
    for (const [args, re] of [
      [['-v', VAULT], /give one destination/],
      [['-v', VAULT, '--to', 'x', '--exec', 'cat'], /give one destination/],
      [['-v', VAULT, '--to', 'x', '--shard', '3/3'], /invalid --shard/],
      [['-v', VAULT, '--to', 'x', '--tier', 'Fast'], /unknown --tier/],
      [['-v', VAULT, '--to', 's3://B/x'], /invalid S3 destination/],
      [['-v', VAULT, '--to', 's3://bucket/x', '--part-size', '1M'], /--part-size/],
      [['-v', VAULT, '--to', 'x', '--max-jobs', '0'], /--max-jobs/],
    ] as [string[], RegExp][]) {
      const r = await run('glacier-restore', args, { env, input: '' });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const bad = await run('glacier-restore', ['-v', VAULT, '--to', join(work, 'bad'), '--dry-run'], { env, input: '{"ArchiveId":"x"}\n' });
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /stdin line 1/);
  });
});
void start;
