// glacier-restore to S3 across kills: a multipart upload killed -9 mid-archive is continued by the rerun (the
// parts S3 holds checked against the bytes re-read from Glacier, none sent twice), a kill between
// CreateMultipartUpload and its record leaves no upload open, an object of another archive is never replaced,
// and the memory of a part does not grow with the part size. Against glacier-local and moto's S3 server, with a
// recording proxy in between that sees every S3 request (and can hold one to kill the client at that instant).
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutObjectCommand, S3Client, UploadPartCommand } from '@aws-sdk/client-s3';
import { CreateVaultCommand, DescribeJobCommand, ListJobsCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { S3Sink } from '../src/restore/s3-sink.js';
import { run, show, start } from './helpers/bins.js';
import { BIN, startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';
import { composite, isCreate, isPart, partNumber, records, startMoto, uploadIdOf, type Moto, type RecordingProxy, type Seen } from './helpers/s3-moto.js';

const MiB = 1024 * 1024;
const VAULT = 's3moves';
const BUCKET = 'moved-vault';
type Rec = Record<string, any>;

const writes = (log: Seen[]) => log.filter((s) => s.method !== 'GET' && s.method !== 'HEAD');

describe('glacier-restore to S3: uploads continued across kills, never over another archive', () => {
  let local: Local;
  let moto: Moto;
  let proxy: RecordingProxy;
  let s3: S3Client;
  let env: NodeJS.ProcessEnv;
  let work: string;
  const archives: { id: string; data: Buffer; line: string; name: string }[] = [];

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'glacier-restore-s3-'));
    local = await startLocal(['--memory', '--job-delay', '0']);
    const g = local.client();
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
    // 23 MiB + 12345 bytes: five 5 MiB parts, the last one short; then smaller ones for the other cases.
    for (const [i, size] of [23 * MiB + 12345, 7 * MiB + 1, 6 * MiB + 3, 5 * MiB + 77, 64 * MiB, 22 * MiB + 9].entries()) {
      const data = randomBytes(size);
      const name = `a${i}.bin`;
      const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, archiveDescription: name }));
      const line = JSON.stringify({ ArchiveId: r.archiveId, ArchiveDescription: name, CreationDate: new Date().toISOString(), Size: size, SHA256TreeHash: r.checksum });
      archives.push({ id: r.archiveId!, data, line: `${line}\n`, name });
    }
    moto = await startMoto(BUCKET);
    ({ proxy, s3 } = moto);
    env = { ...local.env, AWS_ENDPOINT_URL_S3: moto.endpoint, XDG_STATE_HOME: join(work, 'state') };
  });
  after(async () => {
    moto?.stop();
    await local?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const args = (prefix: string, state: string, partSize = '5M') => ['-v', VAULT, '--to', `s3://${BUCKET}/${prefix}/`, '--storage-class', 'STANDARD', '--part-size', partSize, '--interval', '200ms', '--state', join(work, state)];

  async function openUploadsUnder(prefix: string): Promise<string[]> {
    const r = await s3.send(new ListMultipartUploadsCommand({ Bucket: BUCKET, Prefix: `${prefix}/` }));
    return (r.Uploads ?? []).map((u) => `${u.Key} ${u.UploadId}`);
  }

  async function objectIs(key: string, data: Buffer, partSize: number): Promise<void> {
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(data), `bytes of ${key}`);
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key, ChecksumMode: 'ENABLED' }));
    assert.equal(h.ChecksumSHA256?.replace(/-\d+$/, ''), composite(data, partSize), `composite checksum of ${key}`);
  }

  /**
   * Stops a move of `a` with `sig` while part 3 is on its way (parts 1 and 2 in S3), then runs the same command
   * again (after `between`): the rerun must continue the same upload, sending only parts 3 to 5.
   */
  async function stopMidArchive(o: { a: (typeof archives)[0]; prefix: string; sig: NodeJS.Signals; env?: NodeJS.ProcessEnv; between?: () => Promise<void> }): Promise<Rec> {
    const e = o.env ?? env;
    const { a, prefix } = o;
    proxy.log.length = 0;
    // Parts 1 and 2 reach S3; from part 3 on, the client streams into the proxy, which never answers.
    proxy.hold = (s) => (isPart(s) && partNumber(s) >= 3 ? 'drop' : undefined);
    const s = start('glacier-restore', args(prefix, `${prefix}.jsonl`), { env: e, input: a.line });
    await until(() => proxy.log.some((x) => x.held) && proxy.log.filter((x) => isPart(x) && x.status === 200).length >= 2, 'part 3 to be on its way after parts 1 and 2', 120_000);
    s.proc.kill(o.sig);
    const stopped = await s.done;
    if (o.sig === 'SIGTERM') {
      assert.equal(stopped.code, 143, show(stopped));
      assert.doesNotMatch(stopped.stderr, /An error was encountered/, 'no SDK warning on stderr');
    }
    proxy.hold = undefined;
    const first = proxy.log.splice(0);
    const upload = uploadIdOf(first.find((x) => isPart(x))!);
    assert.deepEqual(first.filter((x) => isPart(x) && x.status === 200).map(partNumber), [1, 2]);
    assert.equal((await openUploadsUnder(prefix)).length, 1, 'the stopped run left its upload open');
    await o.between?.();

    const r = await run('glacier-restore', args(prefix, `${prefix}.jsonl`), { env: e, input: a.line });
    assert.equal(r.code, 0, show(r));
    const again = proxy.log.splice(0);
    assert.equal(again.filter(isCreate).length, 0, 'no new upload was created');
    assert.ok(again.filter(isPart).every((x) => uploadIdOf(x) === upload), 'the rerun sent its parts to the same upload');
    // Only completed part uploads count: a request the killed run had begun writing can reach the proxy after the
    // kill (its socket read late on a busy machine), and its body, cut short, never completes (CI saw part 4 twice so).
    const parts = again.filter((x) => isPart(x) && x.status === 200);
    assert.deepEqual(parts.map(partNumber).sort(), [3, 4, 5], 'only the parts S3 lacked were sent (1 and 2 were not sent twice)');
    // Every checksum S3 reported for a part is the SHA-256 of that part's bytes.
    for (const x of [...first, ...again].filter((y) => isPart(y) && y.status === 200)) {
      const n = partNumber(x);
      assert.equal(x.checksum, createHash('sha256').update(a.data.subarray((n - 1) * 5 * MiB, n * 5 * MiB)).digest('base64'), `checksum S3 reported for part ${n}`);
    }
    const rec = records(r.stdout).find((x) => x.archiveId === a.id)!;
    assert.equal(rec.status, 'done');
    await objectIs(`${prefix}/${rec.name}`, a.data, 5 * MiB);
    assert.deepEqual(await openUploadsUnder(prefix), []);
    return r;
  }

  it('killed -9 mid-archive, the rerun continues the same multipart upload: no part sent twice, bytes and checksums exact', { timeout: within(180_000) }, async () => {
    await stopMidArchive({ a: archives[0], prefix: 'kill', sig: 'SIGKILL' });
  });

  it('SIGTERM mid-archive: exit 143 at once (no answer awaited), and the rerun continues the same upload', { timeout: within(180_000) }, async () => {
    await stopMidArchive({ a: archives[5], prefix: 'term', sig: 'SIGTERM' });
  });

  it('killed -9 mid-archive with the state file then lost: the upload open on the key is found and continued', { timeout: within(180_000) }, async () => {
    await stopMidArchive({ a: archives[5], prefix: 'kill-lost', sig: 'SIGKILL', between: async () => rmSync(join(work, 'kill-lost.jsonl')) });
  });

  it('a part S3 holds that does not match the bytes re-read is sent again from them (S3 replaces it): the upload completes with the archive\'s bytes', { timeout: within(60_000) }, async () => {
    const sink = new S3Sink({ bucket: BUCKET, prefix: 'mismatch/' }, { client: s3, storageClass: 'STANDARD', partSize: 5 * MiB });
    const data = randomBytes(11 * MiB);
    const item = { archiveId: 'MISMATCH-ARCHIVE-ID', name: 'm.bin', size: data.length, treeHash: 'b'.repeat(64), description: 'm.bin', creationDate: '' };
    const w = await sink.open(item);
    await w.write(data.subarray(0, 6 * MiB), 0); // part 1 sent whole, part 2 begun
    await until(async () => (await openUploadsUnder('mismatch')).length === 1, 'the upload');
    await w.suspend!();
    const [line] = await openUploadsUnder('mismatch');
    const UploadId = line.split(' ')[1];
    // Part 1 replaced by other bytes of the same size (as another writer of the key would).
    await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: 'mismatch/m.bin', UploadId, PartNumber: 1, Body: randomBytes(5 * MiB) }));
    const again = await sink.open(item);
    await again.write(data, 0);
    await again.finish();
    assert.deepEqual(await openUploadsUnder('mismatch'), [], 'the upload was completed');
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'mismatch/m.bin' }));
    assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(data), 'the object holds the archive\'s bytes, not the other part 1');
  });

  it('killed -9 mid-archive and its job expired: the next job continues the same upload', { timeout: within(240_000) }, async () => {
    const short = await startLocal(['--memory', '--job-delay', '0', '--job-expiry', '15s']);
    try {
      const g = short.client();
      await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
      const a = archives[0];
      const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: a.data, archiveDescription: a.name }));
      const line = `${JSON.stringify({ ...JSON.parse(a.line), ArchiveId: r.archiveId })}\n`;
      const e = { ...env, AWS_ENDPOINT_URL_GLACIER: short.endpoint };
      const jobs = async () => (await short.admin<{ op: string }[]>('GET', 'requests')).filter((x) => x.op === 'InitiateJob').length;
      const rerun = await stopMidArchive({
        a: { ...a, id: r.archiveId!, line },
        prefix: 'expired',
        sig: 'SIGKILL',
        env: e,
        between: async () => {
          const { JobList } = await g.send(new ListJobsCommand({ accountId: '-', vaultName: VAULT }));
          const jobId = JobList![0].JobId!;
          await until(() => g.send(new DescribeJobCommand({ accountId: '-', vaultName: VAULT, jobId })).then(() => false, () => true), 'the job to expire', 60_000, 200);
        },
      });
      assert.match(rerun.stderr, /expired/);
      assert.equal(await jobs(), 2, 'a second job was started for the rest');
    } finally {
      await short.stop();
    }
  });

  for (const stateLost of [false, true]) {
    it(`killed -9 between CreateMultipartUpload and its record: no upload open after the rerun${stateLost ? ' (state file deleted too)' : ''}`, { timeout: within(120_000) }, async () => {
      const a = archives[stateLost ? 2 : 1];
      const prefix = stateLost ? 'create-lost' : 'create';
      proxy.log.length = 0;
      proxy.hold = (s) => (isCreate(s) ? 'mute' : undefined);
      const s = start('glacier-restore', args(prefix, `${prefix}.jsonl`), { env, input: a.line });
      await until(() => proxy.log.some((x) => isCreate(x) && x.status === 200), 'moto to have created the upload', 120_000);
      s.proc.kill('SIGKILL');
      await s.done;
      proxy.hold = undefined;
      assert.equal((await openUploadsUnder(prefix)).length, 1, 'the upload exists, its id never reached the client');
      if (stateLost) rmSync(join(work, `${prefix}.jsonl`));
      proxy.log.length = 0;
      const r = await run('glacier-restore', args(prefix, `${prefix}.jsonl`), { env, input: a.line });
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(await openUploadsUnder(prefix), [], 'no upload left open');
      const rec = records(r.stdout).find((x) => x.archiveId === a.id)!;
      await objectIs(`${prefix}/${rec.name}`, a.data, 5 * MiB);
      // With the state lost the upload on the archive's key is found and continued rather than left behind.
      if (stateLost) assert.equal(proxy.log.filter(isCreate).length, 0, 'the upload found on the key was continued');
    });
  }

  it('an object of another archive at the key is not replaced', { timeout: within(120_000) }, async () => {
    const a = archives[3];
    const theirs = Buffer.from('another archive, restored earlier');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `other/${a.name}`, Body: theirs, Metadata: { 'glacier-archive-id': 'ANOTHER-ARCHIVE-ID', 'glacier-tree-hash': '0'.repeat(64) } }));
    const r = await run('glacier-restore', args('other', 'other.jsonl'), { env, input: a.line });
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: `other/${a.name}` }));
    assert.ok(Buffer.from(await o.Body!.transformToByteArray()).equals(theirs), `the other archive's object is intact: ${show(r)}`);
    const h = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `other/${a.name}` }));
    assert.equal(h.Metadata?.['glacier-archive-id'], 'ANOTHER-ARCHIVE-ID');
    const rec = records(r.stdout).find((x) => x.archiveId === a.id)!;
    if (rec.status === 'done') {
      // Given another name: its bytes are where its line says.
      assert.notEqual(rec.to, `s3://${BUCKET}/other/${a.name}`);
      await objectIs(rec.to.slice(`s3://${BUCKET}/`.length), a.data, 5 * MiB);
    } else {
      assert.equal(r.code, 1, show(r));
      assert.match(rec.error, /already holds archive ANOTHER-ARCHIVE-ID: not replaced/);
    }
    assert.deepEqual(await openUploadsUnder('other'), []);
  });

  it('the sink checks the key again before completing: another archive landing there meanwhile is not replaced', { timeout: within(60_000) }, async () => {
    const sink = new S3Sink({ bucket: BUCKET, prefix: 'race/' }, { client: s3, storageClass: 'STANDARD', partSize: 5 * MiB });
    const data = randomBytes(6 * MiB);
    const item = { archiveId: 'OUR-ARCHIVE-ID', name: 'x.bin', size: data.length, treeHash: 'a'.repeat(64), description: 'x.bin', creationDate: '' };
    const w = await sink.open(item);
    await w.write(data.subarray(0, 3 * MiB), 0);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race/x.bin', Body: 'theirs', Metadata: { 'glacier-archive-id': 'THEIR-ARCHIVE-ID' } }));
    await w.write(data.subarray(3 * MiB), 3 * MiB);
    await assert.rejects(w.finish(), /already holds archive THEIR-ARCHIVE-ID: not replaced/);
    await w.abort();
    const o = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'race/x.bin' }));
    assert.equal(Buffer.from(await o.Body!.transformToByteArray()).toString(), 'theirs');
    assert.deepEqual(await openUploadsUnder('race'), [], 'the upload was aborted');
  });

  it('with the state file lost, a rerun finding the object of this archive writes nothing', { timeout: within(120_000) }, async () => {
    const a = archives[1];
    const first = await run('glacier-restore', args('again', 'again.jsonl'), { env, input: a.line });
    assert.equal(first.code, 0, show(first));
    rmSync(join(work, 'again.jsonl'));
    proxy.log.length = 0;
    const r = await run('glacier-restore', args('again', 'again.jsonl'), { env, input: a.line });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(writes(proxy.log).map((s) => `${s.method} ${s.url}`), [], 'no write request reached S3');
  });

  it('peak RSS does not grow with the part size: 64 MiB at a 64 MiB part size within 36 MiB of a 5 MiB part size', { timeout: within(240_000) }, async () => {
    const a = archives[4];
    const rss = async (partSize: string, prefix: string): Promise<number> => {
      const p = spawn('/usr/bin/time', ['-f', 'peak-rss-kib %M', process.execPath, BIN('glacier-restore'), ...args(prefix, `${prefix}.jsonl`, partSize)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let err = '';
      p.stderr!.on('data', (d) => (err += d));
      p.stdout!.resume();
      p.stdin!.end(a.line);
      const code = await new Promise((r) => p.on('close', r));
      assert.equal(code, 0, err);
      return Number(/peak-rss-kib (\d+)/.exec(err)![1]) * 1024;
    };
    const small = await rss('5M', 'rss-5m');
    const big = await rss('64M', 'rss-64m');
    await objectIs(`rss-64m/${a.name}`, a.data, 64 * MiB);
    process.stderr.write(`peak RSS, 64 MiB archive: part size 5 MiB ${(small / MiB).toFixed(1)} MiB, 64 MiB ${(big / MiB).toFixed(1)} MiB\n`);
    // A part held whole would add at least 59 MiB (64 - 5); the heap's own growth under load has reached 24 MiB.
    assert.ok(big - small < 36 * MiB, `peak RSS at 64 MiB parts ${(big / MiB).toFixed(1)} MiB, at 5 MiB parts ${(small / MiB).toFixed(1)} MiB`);
  });
});
