// One name decoder for glacier-ls --archives, glacier-job output --archives and glacier-restore: a `\` in a
// glacier-put file name is a character of the name (a separator only in a Windows path), and the binaries give
// every archive of one vault the same Name.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';
import { catalogueBench, lines, ok } from './helpers/catalogue.js';

const bench = catalogueBench('gp-names-agree-');
let work: string;
before(async () => ({ work } = await bench.start()));
after(() => bench.stop());

type Line = { ArchiveId: string; ArchiveDescription: string; Name: string };

/** Uploads with glacier-put (`args` then FILE or stdin); returns the archive id. */
async function put(env: NodeJS.ProcessEnv, args: string[], input?: string): Promise<string> {
  const r = ok(await run('glacier-put', args, input === undefined ? { env } : { env, input }));
  return lines<{ archiveId: string }>(r)[0].archiveId;
}

/** Name by archive id, from glacier-ls --archives and from glacier-job output --archives of a new inventory job. */
async function names(vault: string, env: NodeJS.ProcessEnv): Promise<{ ls: Map<string, string>; job: Map<string, string>; lsLines: Line[] }> {
  const lsLines = lines<Line>(ok(await run('glacier-ls', ['-v', vault, '--archives', '--json'], { env })));
  const jobId = await bench.inventoryJob(vault);
  const out = lines<Line>(ok(await run('glacier-job', ['output', '-v', vault, '--wait', '--interval', '200ms', '--archives', '--', jobId], { env })));
  return { ls: new Map(lsLines.map((l) => [l.ArchiveId, l.Name])), job: new Map(out.map((l) => [l.ArchiveId, l.Name])), lsLines };
}

describe('archive names: one decoder', () => {
  it('a `\\` in a glacier-put file name stays in the name (no folder); a Windows path still makes folders', async () => {
    const vault = 'names-bs';
    await bench.vault(vault);
    const env = bench.envOf({ state: join(work, 'state-bs') });
    mkdirSync(join(work, 'src'), { recursive: true });
    const file = join(work, 'src', 'we\\ird.txt');
    writeFileSync(file, 'hi\n');
    const weird = await put(env, ['-v', vault, file]);
    const windows = await put(env, ['-v', vault, '-d', 'C:\\Fotos\\x.jpg'], 'jpg\n');
    const { ls, job, lsLines } = await names(vault, env);
    assert.equal(lsLines.find((l) => l.ArchiveId === weird)?.ArchiveDescription, 'we\\ird.txt', 'the description is the file name');
    assert.equal(ls.get(weird), 'we\\ird.txt', 'glacier-ls');
    assert.equal(job.get(weird), 'we\\ird.txt', 'glacier-job output');
    assert.equal(ls.get(windows), 'C/Fotos/x.jpg');
    assert.equal(job.get(windows), 'C/Fotos/x.jpg');
    // glacier-restore of the glacier-ls lines: one file named as the Name says, no folder `we`.
    const dir = join(work, 'restored-bs');
    const r = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', join(work, 'bs.state'), '--interval', '200ms'], { env, input: lsLines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
    assert.equal(r.code, 0, show(r));
    assert.ok(statSync(join(dir, 'we\\ird.txt')).isFile(), readdirSync(dir).join(' '));
    assert.ok(!existsSync(join(dir, 'we')), 'no folder `we`');
    assert.ok(statSync(join(dir, 'C', 'Fotos', 'x.jpg')).isFile());
  });

  it('a folder marker (photos/) is Name "photos/" in glacier-ls --archives and glacier-job output --archives alike', async () => {
    const vault = 'names-marker';
    await bench.vault(vault);
    const state = join(work, 'state-marker');
    const env = bench.envOf({ state });
    const file = join(work, 'src', 'f');
    mkdirSync(join(work, 'src'), { recursive: true });
    writeFileSync(file, 'in the marker\n');
    const marker = await put(env, ['-v', vault, '-d', 'photos/', file]);
    const trailing = await put(env, ['-v', vault, '-d', 'empty\\'], 'x\n'); // no Windows path: a file named `empty\`
    const child = await put(env, ['-v', vault, '-d', 'photos/a.jpg'], 'jpg\n');
    // A catalogue line written with another Name (by a version that decoded names otherwise) is named anew.
    const cat = join(state, 'glacier-pipes', 'catalogue');
    const file0 = join(cat, readdirSync(cat).find((n) => n.endsWith('.jsonl'))!);
    writeFileSync(file0, readFileSync(file0, 'utf8').replace(/"Name":"photos\/a\.jpg"/, '"Name":"stale"'));
    const { ls, job } = await names(vault, env);
    assert.equal(ls.get(marker), 'photos/', 'glacier-ls');
    assert.equal(job.get(marker), 'photos/', 'glacier-job output');
    assert.equal(ls.get(child), 'photos/a.jpg');
    assert.deepEqual(new Map([...ls].sort()), new Map([...job].sort()), 'every Name the same from both');
    assert.equal(ls.get(trailing), 'empty\\');
    // --name picks by that Name.
    const picked = lines<Line>(ok(await run('glacier-ls', ['-v', vault, '--archives', '--json', '--name', 'photos/'], { env })));
    assert.deepEqual(picked.map((l) => l.ArchiveId), [marker]);
  });
});

describe("glacier-put's escapes undone", () => {
  it('a file named café 😀.txt is put as caf\\u00e9 \\ud83d\\ude00.txt and comes back as café 😀.txt in Name and on disk', async () => {
    const vault = 'names-utf';
    await bench.vault(vault);
    const env = bench.envOf({ state: join(work, 'state-utf') });
    mkdirSync(join(work, 'src-utf'), { recursive: true });
    const file = join(work, 'src-utf', 'café 😀.txt');
    writeFileSync(file, 'unicode\n');
    const id = await put(env, ['-v', vault, file]);
    // Written as is by hand: escapes glacier-put never writes stay as they are.
    const literal = await put(env, ['-v', vault, '-d', 'x\\u0041\\u0000\\ud800y.txt'], 'lit\n');
    const { ls, job, lsLines } = await names(vault, env);
    assert.equal(lsLines.find((l) => l.ArchiveId === id)?.ArchiveDescription, 'caf\\u00e9 \\ud83d\\ude00.txt', 'printable ASCII in the description, a surrogate pair for the emoji');
    assert.equal(ls.get(id), 'café 😀.txt', 'glacier-ls');
    assert.equal(job.get(id), 'café 😀.txt', 'glacier-job output');
    assert.equal(ls.get(literal), 'x\\u0041\\u0000\\ud800y.txt');
    const dir = join(work, 'restored-utf');
    const r = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', join(work, 'utf.state'), '--interval', '200ms'], { env, input: lsLines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
    assert.equal(r.code, 0, show(r));
    assert.equal(readFileSync(join(dir, 'café 😀.txt'), 'utf8'), 'unicode\n');
    assert.equal(readFileSync(join(dir, 'x\\u0041\\u0000\\ud800y.txt'), 'utf8'), 'lit\n');
  });

  it("files named ' lead.txt' and 'trail.txt ' are put as \\u0020lead.txt and trail.txt\\u0020 and come back with their spaces", async () => {
    const vault = 'names-edge';
    await bench.vault(vault);
    const state = join(work, 'state-edge');
    const env = bench.envOf({ state });
    mkdirSync(join(work, 'src-edge'), { recursive: true });
    const put1 = async (name: string) => {
      writeFileSync(join(work, 'src-edge', name), `${name}\n`);
      const r = ok(await run('glacier-put', ['-v', vault, join(work, 'src-edge', name)], { env }));
      return lines<{ archiveId: string; description: string }>(r)[0];
    };
    const lead = await put1(' lead.txt');
    const trail = await put1('trail.txt ');
    assert.equal(lead.description, '\\u0020lead.txt', 'the printed description: the edge space escaped');
    assert.equal(trail.description, 'trail.txt\\u0020');
    const { ls, job, lsLines } = await names(vault, env);
    assert.equal(lsLines.find((l) => l.ArchiveId === lead.archiveId)?.ArchiveDescription, '\\u0020lead.txt', 'the vault holds it so');
    assert.equal(ls.get(lead.archiveId), ' lead.txt', 'glacier-ls');
    assert.equal(job.get(lead.archiveId), ' lead.txt', 'glacier-job output');
    assert.equal(ls.get(trail.archiveId), 'trail.txt ');
    assert.equal(job.get(trail.archiveId), 'trail.txt ');
    // The catalogue line glacier-put wrote carries the same Name.
    const cat = join(state, 'glacier-pipes', 'catalogue');
    const catLines = readFileSync(join(cat, readdirSync(cat).find((n) => n.endsWith('.jsonl'))!), 'utf8').split('\n').filter((l) => l.includes('"ArchiveId"')).map((l) => JSON.parse(l) as Line);
    assert.equal(catLines.find((l) => l.ArchiveId === lead.archiveId)?.Name, ' lead.txt', 'the catalogue');
    const dir = join(work, 'restored-edge');
    const r = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', join(work, 'edge.state'), '--interval', '200ms'], { env, input: lsLines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(readdirSync(dir).filter((n) => !n.startsWith('.')).sort(), [' lead.txt', 'trail.txt '].sort());
    assert.equal(readFileSync(join(dir, ' lead.txt'), 'utf8'), ' lead.txt\n');
    assert.equal(readFileSync(join(dir, 'trail.txt '), 'utf8'), 'trail.txt \n');
    // Only at the very edges: a \u0020 inside a description stays as written.
    const { decodeDescription } = await import('../src/core/archive-name.js');
    assert.equal(decodeDescription('a\\u0020b.txt').path, 'a\\u0020b.txt');
    assert.equal(decodeDescription('\\u0020\\u0020x\\u0020').path, '  x ');
  });

  it('a file literally named lit\\u00e9.txt reads back as lité.txt: beside a lité.txt, the second restored takes another name', async () => {
    const vault = 'names-lit';
    await bench.vault(vault);
    const env = bench.envOf({ state: join(work, 'state-lit') });
    mkdirSync(join(work, 'src-lit'), { recursive: true });
    writeFileSync(join(work, 'src-lit', 'lité.txt'), 'real\n');
    writeFileSync(join(work, 'src-lit', 'lit\\u00e9.txt'), 'literal\n');
    const real = await put(env, ['-v', vault, join(work, 'src-lit', 'lité.txt')]);
    const literal = await put(env, ['-v', vault, join(work, 'src-lit', 'lit\\u00e9.txt')]);
    const { ls, lsLines } = await names(vault, env);
    assert.equal(ls.get(real), 'lité.txt');
    assert.equal(ls.get(literal), 'lité.txt', 'the literal escape is decoded too');
    const dir = join(work, 'restored-lit');
    const r = await run('glacier-restore', ['-v', vault, '--to', dir, '--state', join(work, 'lit.state'), '--interval', '200ms'], { env, input: lsLines.map((l) => JSON.stringify(l)).join('\n') + '\n' });
    assert.equal(r.code, 0, show(r));
    const files = readdirSync(dir).filter((n) => !n.startsWith('.')).sort();
    assert.equal(files.length, 2, files.join(' '));
    assert.ok(files.includes('lité.txt'));
    assert.match(files.find((n) => n !== 'lité.txt')!, /^lité~[A-Za-z0-9_-]{8}\.txt$/, 'the second takes ~HASH, as a duplicate does');
    assert.deepEqual(files.map((n) => readFileSync(join(dir, n), 'utf8')).sort(), ['literal\n', 'real\n']);
  });

  it('in a Windows path \\u begins a folder name and is left alone', async () => {
    const { decodeDescription } = await import('../src/core/archive-name.js');
    assert.equal(decodeDescription('C:\\users\\u00e9\\a.txt').path, 'C:\\users\\u00e9\\a.txt');
    assert.equal(decodeDescription('r\\u00e9sum\\u00e9.pdf').path, 'résumé.pdf');
    assert.equal(decodeDescription('R\\u00C9SUM\\u00C9.PDF').path, 'RÉSUMÉ.PDF', 'either case');
  });
});
