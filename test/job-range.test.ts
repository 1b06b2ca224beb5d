// Ranges and files of `glacier-job output`: a megabyte-aligned range that is not tree-hash aligned is retrieved
// as the smallest aligned range covering it and output gives exactly the bytes asked for, verified, under
// glacier-local's default checksum rule and under `--checksum-rule megabyte`; a job no hash covers is refused
// (exit 3) and taken with --unverified; FILE.partial is locked against a second download, private (0600) and
// never followed when it is a planted symbolic link.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InitiateJobCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { run, show, start, type Ran } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { until } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const VAULT = 'ranges';
const SIZE = 3 * MiB;
const [FIRST, LAST] = [1048576, 3145727];

let dir: string;
const data = randomBytes(SIZE);

async function server(rule: 'tree' | 'megabyte'): Promise<{ local: Local; env: NodeJS.ProcessEnv; archiveId: string }> {
  const local = await startLocal(['--memory', '--job-delay', '0', '--checksum-rule', rule]);
  const env = { ...local.env, XDG_STATE_HOME: join(dir, `state-${rule}`) };
  const v = await run('glacier-vault', ['create', VAULT], { env });
  assert.equal(v.code, 0, show(v));
  const g = local.client();
  const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body: data, checksum: treeHash(data) }));
  return { local, env, archiveId: r.archiveId! };
}

const job = (env: NodeJS.ProcessEnv, args: string[]): Promise<Ran> => run('glacier-job', args, { env });
const jobId = (r: Ran): string => {
  assert.equal(r.code, 0, show(r));
  return JSON.parse(r.stdout.toString('utf8')).JobId as string;
};

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-job-range-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

for (const rule of ['tree', 'megabyte'] as const) {
  describe(`--range ${FIRST}-${LAST} of a 3 MiB archive, checksum rule ${rule}`, () => {
    let s: Awaited<ReturnType<typeof server>>;
    before(async () => {
      s = await server(rule);
    });
    after(async () => {
      await s?.local.stop();
    });

    it('without the archive size: the aligned cover would pass the end, so exit 2 asks for --archive-size', async () => {
      const r = await job(s.env, ['retrieve', '-v', VAULT, '--range', `${FIRST}-${LAST}`, '--', s.archiveId]);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /^glacier-job: --range 1048576-3145727 is not tree-hash aligned.*--archive-size N/);
    });

    it('the job covers an aligned range (said on stderr with its cost); output gives exactly the 2 MiB, verified', async () => {
      const r = await job(s.env, ['retrieve', '-v', VAULT, '--range', `${FIRST}-${LAST}`, '--archive-size', String(SIZE), '--', s.archiveId]);
      const id = jobId(r);
      const described = JSON.parse(r.stdout.toString('utf8'));
      assert.equal(described.RetrievalByteRange, `0-${SIZE - 1}`, 'the smallest tree-hash-aligned range covering 1 MiB-3 MiB of 3 MiB is the whole archive');
      assert.match(r.stderr, /retrieving 0-3145727 instead, 1048576 bytes more \(1\.0 MiB\)/);
      assert.match(r.stderr, /output gives exactly 1048576-3145727/);
      assert.match(r.stderr, /elsewhere use: output --range 1048576-3145727/);

      const out = await job(s.env, ['output', '-v', VAULT, '--', id]);
      assert.equal(out.code, 0, show(out));
      assert.ok(out.stdout.equals(data.subarray(FIRST, LAST + 1)), 'exactly the bytes asked for');
      assert.doesNotMatch(out.stderr, /warning/);
      // The GETs asked only for hashed pieces: each one a whole MiB-aligned node.
      const gets = (await s.local.admin<{ op: string; range?: string }[]>('GET', 'requests')).filter((q) => q.op === 'GetJobOutput');
      assert.ok(gets.length > 0 && gets.every((q) => q.range && Number(q.range.split('-')[0]) % MiB === 0), JSON.stringify(gets));

      // With -o, the same bytes, FILE private; with no record (another machine), --range of the output does it.
      const file = join(dir, `ranged-${rule}.bin`);
      const o = await job(s.env, ['output', '-v', VAULT, '-o', file, '--', id]);
      assert.equal(o.code, 0, show(o));
      assert.ok(readFileSync(file).equals(data.subarray(FIRST, LAST + 1)));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const elsewhere = await job({ ...s.env, XDG_STATE_HOME: join(dir, 'empty-state') }, ['output', '-v', VAULT, '--range', `${FIRST}-${LAST}`, '--', id]);
      assert.equal(elsewhere.code, 0, show(elsewhere));
      assert.ok(elsewhere.stdout.equals(data.subarray(FIRST, LAST + 1)));
      const whole = await job({ ...s.env, XDG_STATE_HOME: join(dir, 'empty-state') }, ['output', '-v', VAULT, '--', id]);
      assert.ok(whole.stdout.equals(data), 'without the record, the whole job output');
    });

    it('an unaligned output --range of an aligned job: exactly those bytes, verified', async () => {
      const id = jobId(await job(s.env, ['retrieve', '-v', VAULT, '--', s.archiveId]));
      const out = await job(s.env, ['output', '-v', VAULT, '--range', '1000-2100000', '--', id]);
      assert.equal(out.code, 0, show(out));
      assert.ok(out.stdout.equals(data.subarray(1000, 2100001)));
    });

    it(`a job started by another client for ${FIRST}-${LAST} itself: ${rule === 'tree' ? 'no hash, so exit 3; --unverified takes it with a warning' : 'each MiB piece hashed, so verified'}`, async () => {
      const g = s.local.client();
      const r = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: VAULT, jobParameters: { Type: 'archive-retrieval', ArchiveId: s.archiveId, RetrievalByteRange: `${FIRST}-${LAST}` } }));
      const file = join(dir, `unaligned-${rule}.bin`);
      const out = await job(s.env, ['output', '-v', VAULT, '-o', file, '--', r.jobId!]);
      if (rule === 'megabyte') {
        assert.equal(out.code, 0, show(out));
        assert.ok(readFileSync(file).equals(data.subarray(FIRST, LAST + 1)));
        return;
      }
      assert.equal(out.code, 3, show(out));
      assert.match(out.stderr, /^glacier-job: Glacier sent no tree hash for output bytes 0-\d+ .*--unverified/);
      assert.ok(!existsSync(file), 'nothing unverified was written');
      // What was left for a later run is private.
      assert.equal(statSync(`${file}.partial`).mode & 0o777, 0o600);
      assert.equal(statSync(`${file}.partial.json`).mode & 0o777, 0o600);
      const taken = await job(s.env, ['output', '-v', VAULT, '--unverified', '--', r.jobId!]);
      assert.equal(taken.code, 0, show(taken));
      assert.ok(taken.stdout.equals(data.subarray(FIRST, LAST + 1)));
      assert.match(taken.stderr, /^glacier-job: warning: .*UNVERIFIED, as --unverified asks/m);
    });
  });
}

describe('FILE.partial: locked, private, never followed', () => {
  let s: Awaited<ReturnType<typeof server>>;
  let id: string;
  before(async () => {
    s = await server('tree');
    id = jobId(await job(s.env, ['retrieve', '-v', VAULT, '--', s.archiveId]));
  });
  after(async () => {
    await s?.local.stop();
  });

  it('two `output -o SAME` at once: one exits 1 naming the lock and its holder, the other file is exact', async () => {
    // Every GET slowed, so the first download still holds the lock when the second starts.
    await s.local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=1000' });
    try {
      const file = join(dir, 'same.bin');
      const first = start('glacier-job', ['output', '-v', VAULT, '-o', file, '--piece-size', '1M', '-c', '1', '--', id], { env: s.env });
      await until(() => (existsSync(`${file}.partial.json`) && existsSync(`${file}.partial.lock`)) || first.proc.exitCode !== null, 'the first download to take its lock');
      assert.ok(existsSync(`${file}.partial.lock`), 'the first download holds the lock');
      assert.equal(statSync(`${file}.partial`).mode & 0o777, 0o600, 'FILE.partial is created 0600');
      const second = await job(s.env, ['output', '-v', VAULT, '-o', file, '--', id]);
      const a = await first.done;
      assert.equal(second.code, 1, show(second));
      assert.match(second.stderr, new RegExp(`^glacier-job: ${file.replace(/[.]/g, '\\.')}\\.partial is locked by process ${first.proc.pid}\\b`));
      assert.equal(a.code, 0, show(a));
      assert.ok(readFileSync(file).equals(data), 'the first download is exact');
      assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('same.bin.')), [], 'no partial, record or lock left');
    } finally {
      await s.local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('a symbolic link planted at FILE.partial is refused and its target left unchanged', async () => {
    const target = join(dir, 'precious.txt');
    writeFileSync(target, 'keep me\n');
    const file = join(dir, 'linked.bin');
    symlinkSync(target, `${file}.partial`);
    const r = await job(s.env, ['output', '-v', VAULT, '-o', file, '--', id]);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^glacier-job: .*linked\.bin\.partial is a symbolic link; refusing to follow it/);
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
    assert.ok(lstatSync(`${file}.partial`).isSymbolicLink());
    assert.ok(!existsSync(file));
    // Also a link at the record's name, for an inventory output and an archive one alike.
    rmSync(`${file}.partial`);
    symlinkSync(target, `${file}.partial.json`);
    const r2 = await job(s.env, ['output', '-v', VAULT, '-o', file, '--', id]);
    assert.equal(r2.code, 1, show(r2));
    assert.equal(readFileSync(target, 'utf8'), 'keep me\n');
  });
});
