// glacier-restore --dry-run prices its plan from the project's price table (or --prices FILE): each figure of the
// "cost" object is the table's price times the plan's count, for each tier and destination; a plan longer than
// 30 days warns with the pace that takes about a week.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PRICES, type PriceTable } from '../src/restore/prices.js';
import { run, show } from './helpers/bins.js';
import { useLocal, type Local } from './helpers/local.js';

const MiB = 2 ** 20;
const GB = 2 ** 30;
let local: Local;
let work: string;

interface A { ArchiveId: string; ArchiveDescription: string; CreationDate: string; Size: number; SHA256TreeHash: string }

function inventory(n: number, size: (i: number) => number): { path: string; list: A[] } {
  const list: A[] = [];
  for (let i = 0; i < n; i++) {
    list.push({ ArchiveId: `arch${String(i).padStart(6, '0')}${'x'.repeat(120)}`, ArchiveDescription: `f${i}.bin`, CreationDate: new Date(Date.UTC(2015, 0, 1) + i * 60_000).toISOString(), Size: size(i), SHA256TreeHash: 'a'.repeat(64) });
  }
  const path = join(work, `inv-${n}-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify({ VaultARN: 'arn:aws:glacier:us-east-1:000000000000:vaults/v', InventoryDate: '2026-01-01T00:00:00Z', ArchiveList: list }));
  return { path, list };
}

function summary(stdout: Buffer): { days: number; jobs: number; cost: Record<string, number | string> } {
  const lines = stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
  const s = lines.at(-1);
  assert.equal(s.plan, true, 'the last line is the plan');
  return s;
}

const close = (got: number, want: number, what: string) => assert.ok(Math.abs(got - want) <= 2e-6, `${what}: got ${got}, the table's arithmetic gives ${want}`);

describe('glacier-restore --dry-run cost', () => {
  const env = () => ({ ...local.env, XDG_STATE_HOME: join(work, 'state') });
  useLocal('restore-cost-', (l, w) => ([local, work] = [l, w]));

  // Sizes from 1 byte to 37 MiB, so S3 uploads of several parts are counted.
  const sizes = (i: number) => (i % 5 === 0 ? 37 * MiB + i : 1 + i * 7919);

  for (const tier of ['Bulk', 'Standard', 'Expedited']) {
    it(`a known inventory to a folder at ${tier}: retrieval, requests and transfer out are the table's price times the plan`, async () => {
      const { path, list } = inventory(40, sizes);
      const r = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--tier', tier], { env: env() });
      assert.equal(r.code, 0, show(r));
      const s = summary(r.stdout);
      const p = DEFAULT_PRICES.regions['us-east-1'];
      const gb = list.reduce((a, x) => a + x.Size, 0) / GB;
      assert.equal(s.jobs, 40);
      assert.equal(s.cost.currency, 'USD');
      assert.equal(s.cost.region, 'us-east-1');
      assert.equal(s.cost.pricesAsOf, DEFAULT_PRICES.pricesAsOf);
      close(s.cost.retrieval as number, gb * p.retrievalPerGB[tier].usd, 'retrieval');
      close(s.cost.requests as number, (40 / 1000) * p.retrievalPer1000[tier].usd, 'requests');
      close(s.cost.transfer as number, gb * p.transferOutPerGB.usd, 'transfer');
      assert.equal(s.cost.s3Requests, 0);
      assert.equal(s.cost.s3StoragePerMonth, 0);
      close(s.cost.total as number, gb * (p.retrievalPerGB[tier].usd + p.transferOutPerGB.usd) + (40 / 1000) * p.retrievalPer1000[tier].usd, 'total');
    });
  }

  it('to S3 with --part-size 16M and --storage-class GLACIER: no transfer out, PUT requests per part, a month of storage', async () => {
    const { path, list } = inventory(40, sizes);
    const r = await run('glacier-restore', ['-v', 'v', '--to', 's3://bucket/p/', '--inventory', path, '--dry-run', '--storage-class', 'GLACIER', '--part-size', '16M'], { env: env() });
    assert.equal(r.code, 0, show(r));
    const s = summary(r.stdout);
    const p = DEFAULT_PRICES.regions['us-east-1'];
    const gb = list.reduce((a, x) => a + x.Size, 0) / GB;
    // Per archive: CreateMultipartUpload, each 16 MiB part, CompleteMultipartUpload.
    const puts = list.reduce((a, x) => a + 2 + Math.max(1, Math.ceil(x.Size / (16 * MiB))), 0);
    assert.ok(puts > 40 * 3, 'some archives have several parts');
    assert.equal(s.cost.transfer, 0);
    close(s.cost.retrieval as number, gb * p.retrievalPerGB.Bulk.usd, 'retrieval');
    close(s.cost.s3Requests as number, (puts / 1000) * p.s3PutPer1000.GLACIER.usd, 's3Requests');
    // GLACIER adds 40 KB per object: 32 KB at its own price, 8 KB at STANDARD's.
    const over = (40 * 32 * 1024) / GB * p.s3StoragePerGBMonth.GLACIER.usd + (40 * 8 * 1024) / GB * p.s3StoragePerGBMonth.STANDARD.usd;
    close(s.cost.s3StoragePerMonth as number, gb * p.s3StoragePerGBMonth.GLACIER.usd + over, 's3StoragePerMonth');
  });

  it('--prices FILE replaces the table (another region, other figures); a bad table is exit 2 with the fix', async () => {
    const { path, list } = inventory(10, sizes);
    const table: PriceTable = JSON.parse(JSON.stringify(DEFAULT_PRICES));
    table.pricesAsOf = '2030-01-02';
    table.regions = { 'eu-west-3': { ...table.regions['us-east-1'], retrievalPerGB: { Bulk: { usd: 1.5, source: 'x' } }, retrievalPer1000: { Bulk: { usd: 7, source: 'x' } }, transferOutPerGB: { usd: 0.5, source: 'x' } } };
    const pf = join(work, 'prices.json');
    writeFileSync(pf, JSON.stringify(table));
    const r = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--prices', pf, '--region', 'eu-west-3'], { env: env() });
    assert.equal(r.code, 0, show(r));
    const s = summary(r.stdout);
    const gb = list.reduce((a, x) => a + x.Size, 0) / GB;
    assert.equal(s.cost.region, 'eu-west-3');
    assert.equal(s.cost.pricesAsOf, '2030-01-02');
    close(s.cost.retrieval as number, gb * 1.5, 'retrieval');
    close(s.cost.requests as number, (10 / 1000) * 7, 'requests');
    close(s.cost.transfer as number, gb * 0.5, 'transfer');
    writeFileSync(pf, JSON.stringify({ ...table, currency: 'EUR' }));
    const bad = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--prices', pf], { env: env() });
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /^glacier-restore: --prices .*currency.*give a JSON price table/m);
    // A region that is null, or a figure that is not finite (1e400), is the same one-line usage error, not a crash.
    for (const broken of ['{"currency":"USD","pricesAsOf":"2025-01-01","regions":{"us-east-1":null}}', JSON.stringify(table).replace('"usd":1.5', '"usd":1e400')]) {
      writeFileSync(pf, broken);
      const b = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--prices', pf, '--region', 'eu-west-3'], { env: env() });
      assert.equal(b.code, 2, show(b));
      assert.match(b.stderr, /^glacier-restore: --prices .*give a JSON price table/m);
      assert.doesNotMatch(b.stderr, /TypeError/);
    }
  });

  it('a plan longer than 30 days warns with the --max-jobs (and --max-bytes-per-day) that take about a week; that pace plans a week, without the warning', async () => {
    const { path } = inventory(1000, () => 5 * MiB);
    const r = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--max-jobs', '10'], { env: env() });
    assert.equal(r.code, 0, show(r));
    const s = summary(r.stdout);
    assert.ok(s.days > 30, `the plan takes ${s.days} days`);
    const m = /takes ([\d.]+) days at the pace set.*; --max-jobs (\d+) would take about a week/.exec(r.stderr);
    assert.ok(m, `a warning naming --max-jobs: ${r.stderr}`);
    assert.equal(Number(m[1]), s.days);
    const ok = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--max-jobs', m[2]], { env: env() });
    const d = summary(ok.stdout).days;
    assert.ok(d >= 5 && d <= 7, `--max-jobs ${m[2]} plans ${d} days`);
    assert.doesNotMatch(ok.stderr, /would take about a week/);
    // One fewer job at a time takes longer than a week: the figure named is the smallest that does.
    const less = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--max-jobs', String(Number(m[2]) - 1)], { env: env() });
    assert.ok(summary(less.stdout).days > 7);

    // With a byte budget too: both options named, and together they plan about a week.
    const b = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--max-jobs', '10', '--max-bytes-per-day', '50M'], { env: env() });
    const mb = /; --max-jobs (\d+) --max-bytes-per-day (\S+) would take about a week/.exec(b.stderr);
    assert.ok(mb, `a warning naming both options: ${b.stderr}`);
    const both = await run('glacier-restore', ['-v', 'v', '--to', join(work, 'out'), '--inventory', path, '--dry-run', '--max-jobs', mb[1], '--max-bytes-per-day', mb[2]], { env: env() });
    assert.equal(both.code, 0, show(both));
    const db = summary(both.stdout).days;
    assert.ok(db <= 7.5 && db >= 5, `${mb[1]} jobs and ${mb[2]} a day plan ${db} days`);
    assert.doesNotMatch(both.stderr, /would take about a week/);
  });
});
