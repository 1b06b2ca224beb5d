// Inventories read as Amazon writes them: descriptions that stress Glacier's CSV quoting (`,`, `"`, `\`, a
// trailing `\`, `\"`, runs of spaces, 1024 characters) uploaded with glacier-put come back from
// `glacier-job output --archives` exactly, and the JSON inventory of the same vault gives identical lines; a
// malformed or truncated row is exit 3 naming its line; the parser itself on rows no server of ours writes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { IntegrityError } from '../src/core/errors.js';
import { decodeCsvDescription, readInventory, type ArchiveRecord } from '../src/retrieve/inventory.js';
import { run, show, type Ran } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const VAULT = 'inv';

const LONG = Array.from({ length: 1024 }, (_, i) => 'ab,"\\ cd'[i % 9]).join('');
const DESCRIPTIONS = [
  'a,b,c',
  'say "hi", then go',
  'back\\slash in the middle',
  'trailing backslash\\',
  'a\\',
  '\\',
  '"',
  '\\"',
  'ends with backslash-quote \\"',
  'ends with quote"',
  '"starts with quote',
  'inner   runs    of spaces',
  ',',
  'x\\",2026-01-01T00:00:00.000Z,1,' + 'a'.repeat(64),
  LONG,
];

let local: Local;
let env: NodeJS.ProcessEnv;
let dir: string;
const ids = new Map<string, string>(); // archive id -> description

const job = (args: string[]): Promise<Ran> => run('glacier-job', args, { env });

function lines(r: Ran): string[] {
  assert.equal(r.code, 0, show(r));
  const text = r.stdout.toString('utf8');
  assert.ok(text.endsWith('\n'), show(r));
  return text.slice(0, -1).split('\n');
}

async function finishedInventory(format: 'JSON' | 'CSV'): Promise<string> {
  const r = await job(['inventory', '-v', VAULT, '--format', format]);
  assert.equal(r.code, 0, show(r));
  const id = JSON.parse(r.stdout.toString('utf8')).JobId as string;
  const w = await job(['wait', '-v', VAULT, '--interval', '100ms', '--', id]);
  assert.equal(w.code, 0, show(w));
  return id;
}

/** The file glacier-local serves a job's inventory from (its --data folder is the test's). */
function inventoryFile(jobId: string): string {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name === 'inventory' && d.endsWith(jobId)) found.push(join(d, e.name));
    }
  };
  walk(join(dir, 'data'));
  assert.equal(found.length, 1, `inventory file of ${jobId}`);
  return found[0];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'glacier-inventory-test-'));
  local = await startLocal(['--data', join(dir, 'data'), '--job-delay', '0']);
  env = { ...local.env, XDG_STATE_HOME: join(dir, 'state') };
  const v = await run('glacier-vault', ['create', VAULT], { env });
  assert.equal(v.code, 0, show(v));
  await Promise.all(
    DESCRIPTIONS.map(async (d, i) => {
      const r = await run('glacier-put', ['-v', VAULT, '-q', '-d', d], { env, input: `archive ${i}` });
      assert.equal(r.code, 0, show(r));
      ids.set(JSON.parse(r.stdout.toString('utf8')).archiveId, d);
    }),
  );
});

after(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inventories through glacier-job output --archives', () => {
  let csvJob: string;
  let jsonJob: string;

  it('CSV: every description comes back exactly as uploaded, and JSON gives identical lines', async () => {
    [csvJob, jsonJob] = await Promise.all([finishedInventory('CSV'), finishedInventory('JSON')]);
    const [csv, json] = await Promise.all([job(['output', '-v', VAULT, '--archives', '--', csvJob]), job(['output', '-v', VAULT, '--archives', '--', jsonJob])]);
    const csvLines = lines(csv);
    assert.equal(csvLines.length, DESCRIPTIONS.length);
    for (const l of csvLines) {
      const a = JSON.parse(l) as ArchiveRecord;
      assert.ok(ids.has(a.ArchiveId), `an archive we uploaded: ${l}`);
      assert.equal(a.ArchiveDescription, ids.get(a.ArchiveId), `description of ${a.ArchiveId}`);
      assert.equal(a.Size, `archive ${DESCRIPTIONS.indexOf(ids.get(a.ArchiveId)!)}`.length);
      assert.match(a.SHA256TreeHash, /^[0-9a-f]{64}$/);
      assert.ok(!Number.isNaN(Date.parse(a.CreationDate)));
    }
    assert.deepEqual(lines(json), csvLines, 'the JSON inventory gives the same lines as the CSV one');
    // The raw CSV really does hold the hard cases (a description ending in a backslash next to its closing quote).
    const raw = await job(['output', '-v', VAULT, '--', csvJob]);
    assert.equal(raw.code, 0, show(raw));
    assert.match(raw.stdout.toString('utf8'), /\\",20\d\d-/);
  });

  it('a connection cut mid-inventory: taken up again from the next byte, the same lines and bytes', async () => {
    const clean = await Promise.all([job(['output', '-v', VAULT, '--', csvJob]), job(['output', '-v', VAULT, '--archives', '--', jsonJob])]);
    for (const [args, want] of [
      [['output', '-v', VAULT, '--', csvJob], clean[0]],
      [['output', '-v', VAULT, '--archives', '--', jsonJob], clean[1]],
    ] as const) {
      await local.admin('PUT', 'faults', { spec: 'GetJobOutput:drop:count=1' });
      await local.admin('DELETE', 'counters');
      try {
        const r = await job([...args]);
        assert.equal(r.code, 0, show(r));
        assert.ok(r.stdout.equals(want.stdout), 'the same output as without the cut');
        const gets = (await local.admin<{ op: string; range?: string }[]>('GET', 'requests')).filter((q) => q.op === 'GetJobOutput');
        assert.equal(gets.length, 2, JSON.stringify(gets));
        assert.match(r.stderr, /warning: the job output stopped after \d+ bytes/);
      } finally {
        await local.admin('PUT', 'faults', { spec: '' });
      }
    }
  });

  it('a malformed row: exit 3 naming its line, nothing made up', async () => {
    const file = inventoryFile(csvJob);
    const original = readFileSync(file, 'utf8');
    try {
      const rows = original.split('\n');
      // Line 4 (header is line 1): its Size made non-numeric, same length so the served size still matches.
      rows[3] = rows[3].replace(/,(\d+),([0-9a-f]{64})$/, (_m, size: string, h: string) => `,${'x'.repeat(size.length)},${h}`);
      writeFileSync(file, rows.join('\n'));
      const r = await job(['output', '-v', VAULT, '--archives', '--', csvJob]);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, /^glacier-job: inventory line 4 is not a valid CSV inventory row/m);
      assert.equal(r.stdout.toString('utf8').split('\n').filter(Boolean).length, 2, 'the rows before it, and no more');
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a truncated last row: exit 3 naming its line', async () => {
    const file = inventoryFile(csvJob);
    const original = readFileSync(file, 'utf8');
    const size = statSync(file).size;
    try {
      const rows = original.replace(/\n$/, '').split('\n');
      const last = rows.length; // its line number
      const cut = rows[last - 1].slice(0, 150);
      const text = [...rows.slice(0, -1), cut].join('\n');
      writeFileSync(file, text.padEnd(size, '\n'));
      const r = await job(['output', '-v', VAULT, '--archives', '--', csvJob]);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, new RegExp(`^glacier-job: inventory line ${last} is not a valid CSV inventory row`, 'm'));
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a JSON inventory cut short or with a bad record: exit 3', async () => {
    const file = inventoryFile(jsonJob);
    const original = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, original.slice(0, original.length - 40).padEnd(original.length, ' '));
      const cut = await job(['output', '-v', VAULT, '--archives', '--', jsonJob]);
      assert.equal(cut.code, 3, show(cut));
      assert.match(cut.stderr, /^glacier-job: the inventory is not valid JSON after \d+ archives/m);
      writeFileSync(file, original.replace(/"Size":(\d+)/, (_m, n: string) => `"Size":"${n.slice(0, -1)}"`));
      const bad = await job(['output', '-v', VAULT, '--archives', '--', jsonJob]);
      assert.equal(bad.code, 3, show(bad));
      assert.match(bad.stderr, /^glacier-job: archive 1 of the inventory \(ArchiveList\[0\]\) has no valid Size/m);
    } finally {
      writeFileSync(file, original);
    }
  });
});

describe('readInventory on rows no server of ours writes', () => {
  const HASH = 'ab'.repeat(32);
  const DATE = '2026-01-31T12:00:00.000Z';
  const ID = 'A'.repeat(138);
  const csv = (...rows: string[]) => Readable.from([`ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash\r\n${rows.join('\r\n')}\r\n`]);
  const all = async (body: Readable, format: 'JSON' | 'CSV') => {
    const out: ArchiveRecord[] = [];
    for await (const a of readInventory(body, format)) out.push(a);
    return out;
  };

  it('every field quoted, CRLF line ends, unquoted descriptions', async () => {
    const got = await all(csv(`"${ID}","a \\"b\\" c","${DATE}","12","${HASH}"`, `${ID},plain words,${DATE},0,${HASH}`, `${ID},,${DATE},7,${HASH}`), 'CSV');
    assert.deepEqual(got.map((a) => [a.ArchiveDescription, a.Size]), [['a "b" c', 12], ['plain words', 0], ['', 7]]);
  });

  it('decodes Amazon quoting without ambiguity', () => {
    assert.equal(decodeCsvDescription('"a\\"'), 'a\\');
    assert.equal(decodeCsvDescription('"a\\\\""'), 'a\\"');
    assert.equal(decodeCsvDescription('"my archive description,1\\\\"2"'), 'my archive description,1\\"2');
    assert.equal(decodeCsvDescription('""'), '');
    assert.equal(decodeCsvDescription('"a"b"'), null);
    assert.equal(decodeCsvDescription('"open'), null);
    assert.equal(decodeCsvDescription('no"quote'), null);
  });

  for (const [name, row, line] of [
    ['a missing field', `${ID},desc,${DATE},${HASH}`, 2],
    ['an empty Size', `${ID},desc,${DATE},,${HASH}`, 2],
    ['a short tree hash', `${ID},desc,${DATE},5,${HASH.slice(2)}`, 2],
    ['a date in another form', `${ID},desc,31/01/2026,5,${HASH}`, 2],
    ['a bare quote inside a quoted description', `${ID},"a"b",${DATE},5,${HASH}`, 2],
    ['an empty archive id', `,desc,${DATE},5,${HASH}`, 2],
    ['a Size past 2^53 (it would come out rounded)', `${ID},desc,${DATE},99999999999999999999,${HASH}`, 2],
  ] as const) {
    it(`${name}: IntegrityError naming line ${line}`, async () => {
      await assert.rejects(all(csv(row), 'CSV'), (e: Error) => e instanceof IntegrityError && new RegExp(`inventory line ${line} `).test(e.message));
    });
  }

  it('a later bad row is named by its own line', async () => {
    const good = `${ID},d,${DATE},1,${HASH}`;
    await assert.rejects(all(csv(good, good, `${ID},d,${DATE},1`), 'CSV'), /inventory line 4 /);
  });

  it('a CSV without the inventory header, and a JSON document without ArchiveList, are not inventories', async () => {
    await assert.rejects(all(Readable.from(['a,b,c\n']), 'CSV'), (e: Error) => e instanceof IntegrityError && /not a CSV inventory/.test(e.message));
    await assert.rejects(all(Readable.from(['{"VaultARN":"x","Other":[]}']), 'JSON'), (e: Error) => e instanceof IntegrityError && /no ArchiveList/.test(e.message));
    assert.deepEqual(await all(Readable.from(['{"VaultARN":"x","ArchiveList":[]}']), 'JSON'), []);
  });
});
