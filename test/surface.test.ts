// The surface every binary shares, driven through the real binaries against a real glacier-local: one size and
// duration parser (a bare size is MiB; a bare duration is refused; 1d12h), glacier-pack --files-from, and the
// progress line under a pseudo-terminal (script(1)).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, InitiateMultipartUploadCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { errorLines, run, show } from './helpers/bins.js';
import { BIN, openUploads, startLocal, type Local } from './helpers/local.js';

const MiB = 2 ** 20;
let local: Local;
let g: GlacierClient;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  work = mkdtempSync(join(tmpdir(), 'gp-surface-'));
  env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  for (const v of ['sv', 'ages']) await g.send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
});
after(async () => {
  await local?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('sizes: one parser, a bare number is MiB (as the seed)', () => {
  it('glacier-chunk -p 64 cuts 64 MiB parts; -p 64MiB, -p 64M, -p 65536K the same', async () => {
    for (const p of ['64', '64MiB', '64M', '65536K']) {
      const r = await run('glacier-chunk', ['-p', p], { env, input: Buffer.alloc(3000, 1) });
      assert.equal(r.code, 0, show(r));
      const header = JSON.parse(r.stdout.subarray(0, r.stdout.indexOf(10)).toString()) as { partSize: number };
      assert.equal(header.partSize, 64 * MiB, `-p ${p}`);
    }
  });

  it('glacier-put -p 64 --dry-run reports 64 MiB parts; -p 2G reports 2 GiB', async () => {
    for (const [p, want] of [['64', 64 * MiB], ['2G', 2048 * MiB]] as const) {
      const r = await run('glacier-put', ['-v', 'sv', '--dry-run', '-p', p], { env, input: Buffer.alloc(5000, 2) });
      assert.equal(r.code, 0, show(r));
      assert.equal((JSON.parse(r.stdout.toString()) as { partSize: number }).partSize, want, `-p ${p}`);
    }
  });

  it('64B and 64K are the smaller units (not a valid part size: exit 2, naming the option)', async () => {
    for (const p of ['64B', '64K']) {
      const r = await run('glacier-chunk', ['-p', p], { env, input: Buffer.alloc(10) });
      assert.equal(r.code, 2, show(r));
      assert.match(errorLines(r.stderr, 'glacier-chunk')[0], /invalid --part-size/);
    }
  });
});

describe('durations: a unit is required; w, d, h, m, s and combinations', () => {
  const bare: [string, string[]][] = [
    ['glacier-abort', ['-v', 'sv', '--all', '--older-than', '24']],
    ['glacier-job', ['wait', '-v', 'sv', '--interval', '30', '--', 'SomeJobId0123456789']],
    ['glacier-job', ['get', '-v', 'sv', '--timeout', '48', '--', 'SomeArchiveId0123456789']],
  ];
  for (const [bin, args] of bare) {
    it(`${bin} ${args.filter((a) => /^--(older-than|interval|timeout)$/.test(a)).join(' ')} with a bare number: exit 2, the units named, no request`, async () => {
      await local.admin('DELETE', 'counters');
      const r = await run(bin, args, { env });
      assert.equal(r.code, 2, show(r));
      const lines = errorLines(r.stderr, bin);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /invalid --[a-z-]+ "\d+" \(a bare number has no unit\): use .*w, d, h, m, s/);
      assert.equal(Object.values(await local.counters()).reduce((a, b) => a + b, 0), 0, 'no request was sent');
    });
  }

  it('--older-than 1d12h aborts the upload 37 hours old and keeps the one 35 hours old; 1w keeps both', async () => {
    const ids: string[] = [];
    for (const hours of [37, 35]) {
      const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ accountId: '-', vaultName: 'ages', partSize: String(MiB) }));
      await local.admin('POST', `uploads/${uploadId}/age`, { seconds: hours * 3600 });
      ids.push(uploadId!);
    }
    const week = await run('glacier-abort', ['-v', 'ages', '--all', '--older-than', '1w'], { env });
    assert.equal(week.code, 0, show(week));
    assert.deepEqual(await openUploads(g, 'ages'), [...ids].sort());
    const r = await run('glacier-abort', ['-v', 'ages', '--all', '--older-than', '1d12h'], { env });
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.toString().trim().split('\n').map((l) => JSON.parse(l) as { uploadId: string; aborted: boolean });
    assert.deepEqual(lines.map((l) => [l.uploadId, l.aborted]), [[ids[0], true]]);
    assert.deepEqual(await openUploads(g, 'ages'), [ids[1]]);
  });
});

describe('progress under a pseudo-terminal', () => {
  it('glacier-pack on a terminal: percent of the total, bytes, rate, elapsed and ETA, on one redrawn line', () => {
    const dir = join(work, 'pty');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'a.bin'), Buffer.alloc(3 * MiB, 7));
    const cmd = `cd '${work}' && '${process.execPath}' '${BIN('glacier-pack')}' --no-compress pty > out.tar`;
    const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...env, TERM: 'xterm' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const draws = r.stdout.split('\r').filter((l) => l.startsWith('glacier-pack: '));
    assert.ok(draws.length >= 1, JSON.stringify(r.stdout));
    assert.match(draws.at(-1)!, /^glacier-pack: 100\.0% of 3\.00 MiB, 3\.00 MiB read at [\d.]+ [KMG]?i?B\/s, elapsed \d+:\d\d, ETA 0:00\x1b\[K/);
  });
});
