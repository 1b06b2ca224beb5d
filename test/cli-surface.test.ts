// The surface every byte-moving binary shares with rsync, curl and the AWS CLI: --limit-rate/--bwlimit (one bucket
// for every part or piece, paced evenly), the AWS CLI's spellings (--endpoint-url, --ca-bundle, --no-verify-ssl,
// --output json) and the nearest known option named for an unknown one. Real binaries against a real glacier-local.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { RateLimiter } from '../src/core/rate.js';
import { run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

const MiB = 2 ** 20;
let local: Local;
let tlsLocal: Local;
let work: string;
let env: NodeJS.ProcessEnv;
let file: string;
const data = randomBytes(3 * MiB);

before(async () => {
  [local, tlsLocal] = await Promise.all([startLocal(['--memory', '--job-delay', '0']), startLocal(['--memory', '--job-delay', '0'], { tls: true })]);
  work = mkdtempSync(join(tmpdir(), 'gp-cli-surface-'));
  env = { ...local.env, XDG_STATE_HOME: join(work, 'state') };
  delete env.AWS_ENDPOINT_URL_GLACIER;
  await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'rate' }));
  await tlsLocal.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'tls' }));
  file = join(work, 'three-mib');
  writeFileSync(file, data);
});
after(async () => {
  await Promise.all([local?.stop(), tlsLocal?.stop()]);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('RateLimiter: one bucket shared by every connection', () => {
  /**
   * Simulates `conns` connections each moving `partBytes` parts in the limiter's slices (asking before each slice,
   * as the data plane does) on a fake clock; returns when each slice moved.
   */
  function simulate(rate: number, conns: number, partBytes: number, seconds: number): { at: number; bytes: number }[] {
    let now = 0;
    const limiter = new RateLimiter(rate, 100, () => now);
    const moved: { at: number; bytes: number }[] = [];
    // Each connection's next moment to ask, and how much is left of its part.
    const next = Array.from({ length: conns }, (_, i) => ({ at: i * 7, left: partBytes }));
    while (now < seconds * 1000) {
      const c = next.reduce((a, b) => (b.at < a.at ? b : a));
      now = c.at;
      const n = Math.min(limiter.slice, c.left);
      const wait = limiter.reserve(n);
      moved.push({ at: now + wait, bytes: n });
      c.left -= n;
      // The slice goes at now + wait; the next ask follows it (a new part at once when this one is done).
      c.at = now + wait + 1;
      if (c.left === 0) c.left = partBytes;
    }
    return moved;
  }

  for (const [rate, conns] of [[8 * MiB, 5], [1 * MiB, 4], [100 * 1024, 1], [5_000_000, 16]] as const) {
    it(`${rate} B/s over ${conns} connections: every 10-second window within ±10% of the rate`, () => {
      const moved = simulate(rate, conns, 8 * MiB, 60);
      for (let w = 0; w + 10_000 <= 50_000; w += 2_500) {
        const bytes = moved.filter((m) => m.at >= w && m.at < w + 10_000).reduce((s, m) => s + m.bytes, 0);
        const ratio = bytes / (rate * 10);
        assert.ok(ratio > 0.9 && ratio < 1.1, `window ${w / 1000}-${w / 1000 + 10} s: ${bytes} bytes, ${ratio.toFixed(3)} of the rate`);
      }
    });
  }

  it('an idle bucket earns no more than its burst: the next second still goes at the rate', () => {
    let now = 0;
    const limiter = new RateLimiter(MiB, 100, () => now);
    limiter.reserve(1);
    now = 3_600_000; // an hour idle
    let booked = 0;
    let waitedTo = now;
    while (booked < 2 * MiB) {
      waitedTo = now + limiter.reserve(limiter.slice);
      booked += limiter.slice;
    }
    // 2 MiB at 1 MiB/s with 100 ms of credit: the last slice starts after at least 1.8 s.
    assert.ok(waitedTo - now >= 1800, `2 MiB booked within ${waitedTo - now} ms`);
  });

  it('a first transfer starts at the rate, with no credit: 40 MiB at 8 MiB/s is booked over 5 s', () => {
    let now = 1000;
    const limiter = new RateLimiter(8 * MiB, 500, () => now);
    let last = 0;
    for (let booked = 0; booked < 40 * MiB; booked += limiter.slice) last = limiter.reserve(limiter.slice);
    // The last slice may start at 5 s less one slice's time (31 ms).
    assert.ok(last >= 5000 - 40 && last <= 5000, `the last slice of 40 MiB starts after ${last} ms`);
  });
});

describe('--limit-rate / --bwlimit on the binaries that move archive bytes', () => {
  let archiveId: string;

  it('glacier-put --limit-rate 1M: 3 MiB in parts of 1 MiB, 3 in flight, takes at least 2.7 s (unlimited: the baseline)', async (t) => {
    const free = await run('glacier-put', ['-v', 'rate', '--endpoint-url', local.endpoint, '-p', '1M', '-c', '3', file], { env });
    assert.equal(free.code, 0, show(free));
    const paced = await run('glacier-put', ['-v', 'rate', '--endpoint', local.endpoint, '-p', '1M', '-c', '3', '--limit-rate', '1M', file], { env });
    assert.equal(paced.code, 0, show(paced));
    archiveId = JSON.parse(paced.stdout.toString()).archiveId;
    t.diagnostic(`glacier-put 3 MiB: unlimited ${free.ms} ms, --limit-rate 1M ${paced.ms} ms (ideal 3000 + start-up)`);
    assert.ok(paced.ms >= 2700, `3 MiB at 1 MiB/s in ${paced.ms} ms`);
    assert.ok(paced.ms <= free.ms + within(3000 * 1.1 + 3000), `3 MiB at 1 MiB/s took ${paced.ms} ms (unlimited ${free.ms} ms)`);
  });

  it('glacier-job output --bwlimit 1M: 3 MiB in pieces of 1 MiB, 3 at once, takes at least 2.7 s, bytes unchanged', async (t) => {
    assert.ok(archiveId, 'the upload above');
    const job = await run('glacier-job', ['retrieve', '-v', 'rate', '--endpoint', local.endpoint, '--', archiveId], { env });
    assert.equal(job.code, 0, show(job));
    const jobId = JSON.parse(job.stdout.toString()).JobId as string;
    const args = ['output', '-v', 'rate', '--endpoint', local.endpoint, '--wait', '--interval', '1s', '--piece-size', '1M', '-c', '3'];
    const free = await run('glacier-job', [...args, '--', jobId], { env });
    assert.equal(free.code, 0, show(free));
    const paced = await run('glacier-job', [...args, '--bwlimit', '1M', '--', jobId], { env });
    assert.equal(paced.code, 0, show(paced));
    assert.ok(paced.stdout.equals(data), 'the bytes that went up');
    t.diagnostic(`glacier-job output 3 MiB: unlimited ${free.ms} ms, --bwlimit 1M ${paced.ms} ms (ideal 3000 + start-up)`);
    assert.ok(paced.ms >= 2700, `3 MiB at 1 MiB/s in ${paced.ms} ms`);
    assert.ok(paced.ms <= free.ms + within(3000 * 1.1 + 3000), `3 MiB at 1 MiB/s took ${paced.ms} ms (unlimited ${free.ms} ms)`);
  });

  it('a rate that is not a size is exit 2, naming the option; glacier-job list takes none', async () => {
    const bad = await run('glacier-put', ['-v', 'rate', '--endpoint', local.endpoint, '--limit-rate', 'fast', file], { env });
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /^glacier-put: invalid --limit-rate "fast": use a size like/);
    const list = await run('glacier-job', ['list', '-v', 'rate', '--endpoint', local.endpoint, '--bwlimit', '1M'], { env });
    assert.equal(list.code, 2, show(list));
    assert.match(list.stderr, /does not apply to "list"/);
  });
});

describe("the AWS CLI's spellings", () => {
  it('--endpoint-url URL and --endpoint-url=URL are --endpoint', async () => {
    for (const args of [['--endpoint-url', local.endpoint], [`--endpoint-url=${local.endpoint}`]]) {
      const r = await run('glacier-vault', ['describe', 'rate', ...args], { env });
      assert.equal(r.code, 0, show(r));
      assert.equal(JSON.parse(r.stdout.toString()).VaultName, 'rate');
    }
    const bad = await run('glacier-ls', ['--endpoint-url', 'not a url'], { env });
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /invalid --endpoint "not a url"/);
  });

  it('--output json is --json; any other --output is exit 2 naming json (and -o FILE for glacier-job)', async () => {
    const r = await run('glacier-ls', ['--endpoint', local.endpoint, '--output', 'json'], { env });
    assert.equal(r.code, 0, show(r));
    assert.ok(r.stdout.toString().trim().split('\n').some((l) => JSON.parse(l).VaultName === 'rate'), r.stdout.toString());
    const text = await run('glacier-ls', ['--endpoint', local.endpoint, '--output=table'], { env });
    assert.equal(text.code, 2, show(text));
    assert.match(text.stderr, /^glacier-ls: invalid --output "table": json/);
    const job = await run('glacier-job', ['output', '-v', 'rate', '--output', 'out.tar', 'JOBID'], { env });
    assert.equal(job.code, 2, show(job));
    assert.match(job.stderr, /invalid --output "out.tar".*-o FILE/);
  });

  it('--ca-bundle FILE trusts a TLS endpoint without AWS_CA_BUNDLE; an unreadable FILE is exit 2', async () => {
    const bare = { ...env };
    delete bare.AWS_CA_BUNDLE;
    const untrusted = await run('glacier-vault', ['describe', 'tls', '--endpoint-url', tlsLocal.endpoint], { env: { ...bare, AWS_MAX_ATTEMPTS: '1' } });
    assert.equal(untrusted.code, 1, show(untrusted));
    const r = await run('glacier-vault', ['describe', 'tls', '--endpoint-url', tlsLocal.endpoint, '--ca-bundle', tlsLocal.ca!], { env: bare });
    assert.equal(r.code, 0, show(r));
    const missing = await run('glacier-put', ['-v', 'tls', '--endpoint', tlsLocal.endpoint, '--ca-bundle', join(work, 'no-such.pem'), file], { env: bare });
    assert.equal(missing.code, 2, show(missing));
    assert.match(missing.stderr, /^glacier-put: cannot read --ca-bundle .*no-such\.pem: ENOENT/);
  });

  it('--no-verify-ssl reaches an untrusted TLS endpoint, uploads and downloads included, with a warning on stderr', async () => {
    const bare = { ...env };
    delete bare.AWS_CA_BUNDLE;
    const put = await run('glacier-put', ['-v', 'tls', '--endpoint', tlsLocal.endpoint, '--no-verify-ssl', '-q', '-p', '1M', file], { env: bare });
    assert.equal(put.code, 0, show(put));
    assert.match(put.stderr, /^glacier-put: warning: --no-verify-ssl: TLS certificates are not verified/m);
    const archiveId = JSON.parse(put.stdout.toString()).archiveId as string;
    const get = await run('glacier-job', ['get', '-v', 'tls', '--endpoint', tlsLocal.endpoint, '--no-verify-ssl', '--interval', '1s', '--', archiveId], { env: bare });
    assert.equal(get.code, 0, show(get));
    assert.ok(get.stdout.equals(data));
  });

  it('the binaries that send no request accept them too (glacier-chunk, glacier-treehash, glacier-pack)', async () => {
    const opts = ['--endpoint-url', local.endpoint, '--ca-bundle', tlsLocal.ca!, '--no-verify-ssl'];
    const chunk = await run('glacier-chunk', opts, { env, input: 'abc' });
    assert.equal(chunk.code, 0, show(chunk));
    const th = await run('glacier-treehash', [...opts, file], { env });
    assert.equal(th.code, 0, show(th));
    const pack = await run('glacier-pack', [...opts, '-C', work, 'three-mib'], { env });
    assert.equal(pack.code, 0, show(pack));
  });
});

describe('an unknown option names the nearest known one', () => {
  const cases: [string, string[], RegExp][] = [
    ['glacier-put', ['-v', 'rate', '--bwlimt', '5M', '-'], /^glacier-put: unknown option --bwlimt; did you mean --bwlimit\?\n$/],
    ['glacier-put', ['-v', 'rate', '--limit-rte=5M', '-'], /^glacier-put: unknown option --limit-rte; did you mean --limit-rate\?\n$/],
    ['glacier-job', ['output', '--endpoint-ulr', 'http://x', 'JOB'], /^glacier-job: unknown option --endpoint-ulr; did you mean --endpoint-url\?\n$/],
    ['glacier-restore', ['-v', 'rate', '--to', '/tmp', '--dryrun'], /^glacier-restore: unknown option --dryrun; did you mean --dry-run\?\n$/],
    ['glacier-ls', ['--no-verfy-ssl'], /^glacier-ls: unknown option --no-verfy-ssl; did you mean --no-verify-ssl\?\n$/],
    ['glacier-pack', ['--exlude', '*.log', 'x'], /^glacier-pack: unknown option --exlude; did you mean --exclude\?\n$/],
    ['glacier-put', ['-v', 'rate', '--frobnicate', '-'], /^glacier-put: unknown option --frobnicate \(see --help\)\n$/],
  ];
  for (const [bin, args, message] of cases) {
    it(`${bin} ${args.join(' ')}: exit 2`, async () => {
      const r = await run(bin, args, { env, input: '' });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, message);
    });
  }
});

describe('small usage messages say what to do', () => {
  const cases: [string, string[], RegExp][] = [
    ['glacier-put', ['-v', 'rate', '--no-limit-rate', '-'], /^glacier-put: --limit-rate takes a rate \(5M, 512K; a bare number is MiB\); to remove a limit, leave --limit-rate out\n$/],
    ['glacier-put', ['-v', 'rate', '--limit-rate', '0', '-'], /^glacier-put: invalid --limit-rate "0": it must be more than 0 .*leave --limit-rate out\n$/],
    ['glacier-job', ['output', '-v', 'rate', '--bwlimit', '0K', 'JOB'], /^glacier-job: invalid --bwlimit "0K": it must be more than 0 /],
    ['glacier-ls', ['--output'], /^glacier-ls: option --output needs a value \(see --help\)\n$/],
    ['glacier-abort', ['-v', 'rate', '--al'], /^glacier-abort: unknown option --al; did you mean --all\?\n$/],
    ['glacier-job', ['retreive', '-v', 'rate', 'ID'], /^glacier-job: unknown subcommand "retreive"; did you mean retrieve\?\n$/],
    ['glacier-job', ['frobnicate'], /^glacier-job: unknown subcommand "frobnicate" \(see --help\)\n$/],
  ];
  for (const [bin, args, message] of cases) {
    it(`${bin} ${args.join(' ')}: exit 2`, async () => {
      const r = await run(bin, args, { env, input: '' });
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, message);
    });
  }
});
