// glacier-ls, glacier-abort, glacier-rm and glacier-vault end to end: the real binaries spawned over real pipes, and
// under a real terminal through script(1), against a glacier-local that cuts every listing into pages of 2, so
// that each listing below is only right if every Marker was followed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateVaultCommand, DescribeJobCommand, DescribeVaultCommand, GetJobOutputCommand, InitiateJobCommand, InitiateMultipartUploadCommand,
  ListMultipartUploadsCommand, UploadArchiveCommand, UploadMultipartPartCommand, type GlacierClient,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { Journal } from '../src/upload/journal.js';
import { errorLines, run, sh, show, sleep, type Ran } from './helpers/bins.js';
import { BIN, startLocal, type Local, openUploads } from './helpers/local.js';

const A = { accountId: '-' };
const LOCAL_ARGS = ['--memory', '--job-delay', '0', '--page-size', '2'];
const HAVE_JQ = spawnSync('jq', ['--version']).status === 0;
const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0; // util-linux, for a real terminal

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gp-manage-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** The binaries' environment: this glacier-local, a private state folder, no GLACIER_VAULT from the caller. */
function envOf(local: Local, state = join(work, 'state')): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...local.env, XDG_STATE_HOME: state };
  delete env.GLACIER_VAULT;
  return env;
}

/** stdout as JSON lines (nothing else may be on it). */
function lines<T = Record<string, unknown>>(r: Ran): T[] {
  const text = r.stdout.toString('utf8');
  if (text === '') return [];
  assert.ok(text.endsWith('\n'), `stdout ends with a newline: ${JSON.stringify(text)}`);
  return text.slice(0, -1).split('\n').map((l) => JSON.parse(l) as T);
}

/** A failed run: this exit code, nothing else than one-line `name: ...` errors on stderr; returns those lines. */
function failed(r: Ran, name: string, code: number): string[] {
  assert.equal(r.code, code, show(r));
  const errs = errorLines(r.stderr, name);
  assert.ok(errs.length >= 1, show(r));
  for (const l of errs) assert.ok(l.startsWith(`${name}: `) && !/^\s+at /.test(l), `a one-line error: ${l}`);
  assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
  return errs;
}

function ok(r: Ran): Ran {
  assert.equal(r.code, 0, show(r));
  assert.equal(r.stderr, '', show(r));
  return r;
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs a binary with a terminal as its stdin and stdout (script(1) gives it a pty); output with \r\n undone. */
async function underTerminal(name: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; r: Ran }> {
  const cmd = [process.execPath, BIN(name), ...args].map(q).join(' ');
  const r = await sh('exec script -qec "$1" /dev/null', [cmd], { env: { ...env, SHELL: '/bin/sh' } }).done;
  return { code: r.code, out: r.stdout.toString('utf8').replace(/\r\n/g, '\n'), r };
}

/**
 * The cell of `row` under the column titled `title` in a table whose header is `header`: a left-aligned cell starts
 * where its title starts, a right-aligned one ends where its title ends, and two spaces part it from its neighbours.
 */
function cell(header: string, row: string, title: string, right = false): string {
  const at = header.indexOf(title);
  assert.ok(at >= 0, `header has ${title}: ${header}`);
  if (right) {
    const end = at + title.length;
    assert.ok(row[end] === ' ' || row[end] === undefined, `"${title}" column ends at ${end} in: ${row}`);
    const v = row.slice(0, end).split(/ {2,}/).pop()!.trim();
    assert.notEqual(row[end - 1], ' ', `"${title}" right-aligned in: ${row}`);
    return v;
  }
  assert.ok(at === 0 || row.slice(at - 2, at) === '  ', `"${title}" column starts at ${at} in: ${row}`);
  assert.notEqual(row[at], ' ', `"${title}" left-aligned in: ${row}`);
  return row.slice(at).split(/ {2,}/)[0];
}

async function newUpload(g: GlacierClient, vaultName: string, parts: Buffer[] = [], archiveDescription?: string): Promise<string> {
  const { uploadId } = await g.send(new InitiateMultipartUploadCommand({ ...A, vaultName, partSize: String(MiB), archiveDescription }));
  for (const [i, body] of parts.entries()) {
    const range = `bytes ${i * MiB}-${i * MiB + body.length - 1}/*`;
    await g.send(new UploadMultipartPartCommand({ ...A, vaultName, uploadId, range, checksum: treeHash(body), body }));
  }
  return uploadId!;
}

async function newArchive(g: GlacierClient, vaultName: string): Promise<string> {
  return (await g.send(new UploadArchiveCommand({ ...A, vaultName, body: randomBytes(1000) }))).archiveId!;
}

const uploadIds = openUploads;

const archivesIn = async (g: GlacierClient, vaultName: string) => (await g.send(new DescribeVaultCommand({ ...A, vaultName }))).NumberOfArchives;

/** A vault's JSON inventory, from an inventory-retrieval job (glacier-local runs with --job-delay 0). */
async function inventory(g: GlacierClient, vaultName: string): Promise<Buffer> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters: { Type: 'inventory-retrieval', Format: 'JSON' } }));
  for (let i = 0; !(await g.send(new DescribeJobCommand({ ...A, vaultName, jobId }))).Completed; i++) {
    assert.ok(i < 200, 'inventory job did not complete');
    await sleep(25);
  }
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

const count = async (local: Local, op: string) => (await local.counters())[op] ?? 0;

// Each suite has its own glacier-local, so they run side by side; within a suite, one test at a time.
describe('management binaries', { concurrency: 5 }, () => {
  describe('glacier-ls', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    const vaults = ['ls-1', 'ls-2', 'ls-3', 'ls-4', 'ls-5'];
    let uploads: string[];
    let fivePart: string;
    const parts = Array.from({ length: 5 }, () => randomBytes(MiB));
    before(async () => {
      local = await startLocal(LOCAL_ARGS);
      g = local.client();
      for (const vaultName of vaults) await g.send(new CreateVaultCommand({ ...A, vaultName }));
      await newArchive(g, 'ls-2');
      fivePart = await newUpload(g, 'ls-3', parts, 'five parts');
      uploads = [fivePart];
      for (let i = 0; i < 4; i++) uploads.push(await newUpload(g, 'ls-3', [], i === 0 ? undefined : `upload ${i}`));
    });
    after(() => local.stop());

    it('lists every vault, across pages, as JSON lines with the service field names when piped', async () => {
      const c0 = await count(local, 'ListVaults');
      const r = ok(await run('glacier-ls', [], { env: envOf(local) }));
      assert.equal((await count(local, 'ListVaults')) - c0, 3, '5 vaults in pages of 2');
      const got = lines<{ VaultName: string; NumberOfArchives: number; SizeInBytes: number; VaultARN: string; CreationDate: string }>(r);
      assert.deepEqual(got.map((v) => v.VaultName).sort(), vaults);
      for (const v of got) {
        assert.equal(v.NumberOfArchives, v.VaultName === 'ls-2' ? 1 : 0);
        assert.equal(v.SizeInBytes, v.VaultName === 'ls-2' ? 1000 : 0);
        assert.match(v.VaultARN, new RegExp(`:vaults/${v.VaultName}$`));
        assert.ok(!Number.isNaN(Date.parse(v.CreationDate)), v.CreationDate);
      }
    });

    it("lists a vault's in-progress uploads, across pages", async () => {
      const c0 = await count(local, 'ListMultipartUploads');
      const r = ok(await run('glacier-ls', ['-v', 'ls-3'], { env: envOf(local) }));
      assert.equal((await count(local, 'ListMultipartUploads')) - c0, 3, '5 uploads in pages of 2');
      const got = lines<{ MultipartUploadId: string; PartSizeInBytes: number; CreationDate: string; ArchiveDescription?: string }>(r);
      assert.deepEqual(got.map((u) => u.MultipartUploadId).sort(), [...uploads].sort());
      for (const u of got) assert.equal(u.PartSizeInBytes, MiB);
      assert.equal(got.find((u) => u.MultipartUploadId === fivePart)!.ArchiveDescription, 'five parts');
      // GLACIER_VAULT stands for -v.
      const viaEnv = ok(await run('glacier-ls', [], { env: { ...envOf(local), GLACIER_VAULT: 'ls-3' } }));
      assert.equal(lines(viaEnv).length, 5);
    });

    it("lists an upload's parts, across pages, each with its range and tree hash", async () => {
      const c0 = await count(local, 'ListParts');
      const r = ok(await run('glacier-ls', ['-v', 'ls-3', '--', fivePart], { env: envOf(local) }));
      assert.equal((await count(local, 'ListParts')) - c0, 3, '5 parts in pages of 2');
      assert.deepEqual(
        lines(r),
        parts.map((p, i) => ({ part: i, RangeInBytes: `${i * MiB}-${(i + 1) * MiB - 1}`, SHA256TreeHash: treeHash(p) })),
      );
    });

    it('shows aligned tables on a terminal, and JSON there with --json', { skip: !HAVE_SCRIPT && 'script(1) is not installed' }, async () => {
      const env = envOf(local);
      const v = await underTerminal('glacier-ls', [], env);
      assert.equal(v.code, 0, show(v.r));
      const vl = v.out.trimEnd().split('\n');
      assert.match(vl[0], /^VAULT +ARCHIVES +SIZE +CREATED +LAST INVENTORY$/);
      assert.equal(vl.length, 6, v.out);
      assert.ok(!v.out.includes('{'), `no JSON on a terminal: ${v.out}`);
      for (const row of vl.slice(1)) {
        const name = cell(vl[0], row, 'VAULT');
        assert.ok(vaults.includes(name), row);
        assert.equal(cell(vl[0], row, 'ARCHIVES', true), name === 'ls-2' ? '1' : '0');
        assert.match(cell(vl[0], row, 'CREATED'), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
      }

      const u = await underTerminal('glacier-ls', ['-v', 'ls-3'], env);
      assert.equal(u.code, 0, show(u.r));
      const ul = u.out.trimEnd().split('\n');
      assert.match(ul[0], /^UPLOAD ID +PART SIZE +CREATED +DESCRIPTION$/);
      assert.deepEqual(ul.slice(1).map((row) => cell(ul[0], row, 'UPLOAD ID')).sort(), [...uploads].sort());
      for (const row of ul.slice(1)) assert.equal(cell(ul[0], row, 'PART SIZE', true), '1.00 MiB');
      assert.equal(cell(ul[0], ul.find((l) => l.startsWith(fivePart))!, 'DESCRIPTION'), 'five parts');

      const p = await underTerminal('glacier-ls', ['-v', 'ls-3', '--', fivePart], env);
      assert.equal(p.code, 0, show(p.r));
      const pl = p.out.trimEnd().split('\n');
      assert.match(pl[0], /^PART +RANGE +TREE HASH$/);
      assert.equal(pl.length, 6, p.out);
      for (const [i, row] of pl.slice(1).entries()) {
        assert.equal(cell(pl[0], row, 'PART', true), String(i));
        assert.equal(cell(pl[0], row, 'RANGE', true), `${i * MiB}-${(i + 1) * MiB - 1}`);
        assert.equal(cell(pl[0], row, 'TREE HASH'), treeHash(parts[i]));
      }

      const j = await underTerminal('glacier-ls', ['--json'], env);
      assert.equal(j.code, 0, show(j.r));
      assert.deepEqual(j.out.trimEnd().split('\n').map((l) => (JSON.parse(l) as { VaultName: string }).VaultName).sort(), vaults);
    });

    it('refuses bad usage with exit 2 and reports unknown vaults and uploads with exit 1, one line each', async () => {
      const env = envOf(local);
      const [noVault, twoIds, unknownOpt, badName, nv, nu, emptyId] = await Promise.all([
        run('glacier-ls', ['--', fivePart], { env }),
        run('glacier-ls', ['-v', 'ls-3', 'a', 'b'], { env }),
        run('glacier-ls', ['--color'], { env }),
        run('glacier-ls', ['-v', 'bad/name'], { env }),
        run('glacier-ls', ['-v', 'nope'], { env }),
        run('glacier-ls', ['-v', 'ls-3', 'NoSuchUpload'], { env }),
        run('glacier-ls', ['-v', 'ls-3', '--', ''], { env }),
      ]);
      assert.match(failed(emptyId, 'glacier-ls', 2)[0], /malformed upload id ""/);
      assert.match(failed(noVault, 'glacier-ls', 2)[0], /needs its vault/);
      assert.match(failed(twoIds, 'glacier-ls', 2)[0], /one UPLOAD_ID at most/);
      assert.match(failed(unknownOpt, 'glacier-ls', 2)[0], /unknown option --color/);
      assert.match(failed(badName, 'glacier-ls', 2)[0], /invalid vault name/);
      assert.deepEqual(failed(nv, 'glacier-ls', 1).map((l) => l.replace(/\(.*\)/, '(...)')), ['glacier-ls: vault "nope" not found (...); create it with: glacier-vault create nope']);
      assert.deepEqual(failed(nu, 'glacier-ls', 1), ['glacier-ls: The upload ID was not found: NoSuchUpload']);
    });
  });

  describe('glacier-rm', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    before(async () => {
      local = await startLocal(LOCAL_ARGS);
      g = local.client();
      for (const vaultName of ['inv', 'rm-a', 'rm-b']) await g.send(new CreateVaultCommand({ ...A, vaultName }));
    });
    after(() => local.stop());

    it(`deletes every archive of an inventory piped in through ${HAVE_JQ ? 'jq -r' : 'a node one-liner (no jq here)'}`, async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await newArchive(g, 'inv'));
      const inv = join(work, 'inventory.json');
      writeFileSync(inv, await inventory(g, 'inv'));
      const extract = HAVE_JQ
        ? `jq -r '.ArchiveList[].ArchiveId' "$1"`
        : `"$NODE" -e 'for (const a of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).ArchiveList) console.log(a.ArchiveId)' "$1"`;
      const c0 = await count(local, 'DeleteArchive');
      const r = ok(await sh(`set -e; ${extract} | "$NODE" "$BIN/glacier-rm" -v inv`, [inv], { env: envOf(local) }).done);
      assert.deepEqual(lines(r), ids.map((archiveId) => ({ archiveId, deleted: true })), 'one line per archive, in input order');
      assert.equal((await count(local, 'DeleteArchive')) - c0, 5);
      const after = JSON.parse((await inventory(g, 'inv')).toString('utf8')) as { ArchiveList: unknown[] };
      assert.deepEqual(after.ArchiveList, [], 'a new inventory is empty');
      assert.equal(await archivesIn(g, 'inv'), 0);
    });

    it(`glacier-job output --archives | ${HAVE_JQ ? 'jq -r .ArchiveId' : 'node'} | glacier-rm deletes what the inventory listed`, async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push(await newArchive(g, 'inv'));
      const env = envOf(local);
      const job = ok(await sh('"$NODE" "$BIN/glacier-job" inventory -v inv', [], { env }).done);
      const jobId = lines<{ JobId: string }>(job)[0].JobId;
      const extract = HAVE_JQ ? 'jq -r .ArchiveId' : `"$NODE" -e 'require("readline").createInterface({input: process.stdin}).on("line", (l) => console.log(JSON.parse(l).ArchiveId))'`;
      const r = ok(await sh(`set -e; "$NODE" "$BIN/glacier-job" output -v inv --wait --interval 100ms --archives -- "$1" | ${extract} | "$NODE" "$BIN/glacier-rm" -v inv`, [jobId], { env }).done);
      assert.deepEqual(lines(r).map((l) => l.archiveId).sort(), [...ids].sort());
      assert.equal(await archivesIn(g, 'inv'), 0);
    });

    it('--dry-run deletes nothing', async () => {
      const a = await newArchive(g, 'rm-a');
      const c0 = await count(local, 'DeleteArchive');
      const r = ok(await run('glacier-rm', ['-v', 'rm-a', '--dry-run'], { env: envOf(local), input: `${a}\n` }));
      assert.deepEqual(lines(r), [{ archiveId: a, deleted: false, dryRun: true }]);
      assert.equal((await count(local, 'DeleteArchive')) - c0, 0);
      assert.equal(await archivesIn(g, 'rm-a'), 1);
      ok(await run('glacier-rm', ['-v', 'rm-a', a], { env: envOf(local) }));
    });

    it('reports an archive id of another vault, deletes the rest, and exits 1', async () => {
      const [a1, a2, b1] = [await newArchive(g, 'rm-a'), await newArchive(g, 'rm-a'), await newArchive(g, 'rm-b')];
      const r = await run('glacier-rm', ['-v', 'rm-a', a1, b1, a2], { env: envOf(local) });
      const errs = failed(r, 'glacier-rm', 1);
      assert.equal(errs.length, 2, show(r));
      assert.match(errs[0], new RegExp(`^glacier-rm: archive ${b1}: not an archive of vault "rm-a".*Invalid vault name`));
      assert.match(errs[1], /1 of 3 archive\(s\) not deleted/);
      const out = lines<{ archiveId: string; deleted: boolean; error?: string }>(r);
      assert.deepEqual(out.map((l) => [l.archiveId, l.deleted]), [[a1, true], [b1, false], [a2, true]]);
      assert.match(out[1].error ?? '', /not an archive of vault "rm-a"/);
      assert.equal(await archivesIn(g, 'rm-a'), 0);
      assert.equal(await archivesIn(g, 'rm-b'), 1, 'the other vault keeps its archive');
    });

    it('reports a malformed id on stdin, skips blank lines, deletes the others, and exits 2', async () => {
      const [a1, a2] = [await newArchive(g, 'rm-a'), await newArchive(g, 'rm-a')];
      const r = await run('glacier-rm', ['-v', 'rm-a'], { env: envOf(local), input: `${a1}\r\n\n  \nnot an id!\n{"Archive":"x"}\n${a2}\n` });
      const errs = failed(r, 'glacier-rm', 2);
      assert.equal(errs.length, 3, show(r));
      assert.match(errs[0], /^glacier-rm: malformed archive id "not an id!"/);
      assert.match(errs[1], /malformed archive id .*without a valid ArchiveId/);
      assert.match(errs[2], /2 of 4 line\(s\) were not archive ids; the others were deleted/);
      assert.deepEqual(lines<{ archiveId: string; deleted: boolean }>(r).map((l) => l.deleted), [true, false, false, true]);
      assert.equal(await archivesIn(g, 'rm-a'), 0);
    });

    it('ends at once, in one line, when the vault does not exist, and refuses a terminal as stdin', async () => {
      const r = await run('glacier-rm', ['-v', 'nope'], { env: envOf(local), input: 'abc\ndef\nghi\n' });
      assert.deepEqual(failed(r, 'glacier-rm', 1).length, 1, show(r));
      assert.match(r.stderr, /vault "nope" not found/);
      assert.equal(r.stdout.length, 0);
      if (HAVE_SCRIPT) {
        const t = await underTerminal('glacier-rm', ['-v', 'rm-a'], envOf(local));
        assert.equal(t.code, 2, t.out);
        assert.match(t.out, /^glacier-rm: no ARCHIVE_ID given and stdin is a terminal/);
      }
      ok(await run('glacier-rm', ['-v', 'rm-a'], { env: envOf(local), input: '' }));
    });
  });

  describe('glacier-abort', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    let state: string;
    let old: string;
    let young: string[];
    const journalOf = (uploadId: string) => join(state, 'glacier-pipes', `${uploadId}.journal`);
    before(async () => {
      local = await startLocal(LOCAL_ARGS);
      g = local.client();
      state = mkdtempSync(join(work, 'state-abort-'));
      for (const vaultName of ['ab', 'dash', 'dashin']) await g.send(new CreateVaultCommand({ ...A, vaultName }));
      old = await newUpload(g, 'ab', [randomBytes(MiB)], 'stale');
      young = [await newUpload(g, 'ab'), await newUpload(g, 'ab')];
      await local.admin('POST', `uploads/${old}/age`, { seconds: 2 * 3600 });
      for (const uploadId of [old, young[0]]) {
        Journal.create(join(state, 'glacier-pipes'), {
          type: 'glacier-put', version: 1, vault: 'ab', accountId: '-', uploadId, partSize: MiB, description: null,
          source: { kind: 'stdin' }, created: new Date().toISOString(),
        });
      }
    });
    after(() => local.stop());

    it('--all --older-than 1h --dry-run aborts nothing and removes nothing', async () => {
      const c0 = await count(local, 'AbortMultipartUpload');
      const r = ok(await run('glacier-abort', ['-v', 'ab', '--all', '--older-than', '1h', '--dry-run'], { env: envOf(local, state) }));
      const out = lines<Record<string, unknown>>(r);
      assert.equal(out.length, 1, show(r));
      const { creationDate, ...rest } = out[0];
      assert.deepEqual(rest, { uploadId: old, vault: 'ab', aborted: false, dryRun: true, journalRemoved: false, journal: journalOf(old), description: 'stale' });
      assert.ok(Date.now() - Date.parse(String(creationDate)) > 3600_000, String(creationDate));
      assert.equal((await count(local, 'AbortMultipartUpload')) - c0, 0);
      assert.deepEqual(await uploadIds(g, 'ab'), [old, ...young].sort());
      assert.ok(existsSync(journalOf(old)) && existsSync(journalOf(young[0])));
    });

    it('--all --older-than 1h aborts only the upload older than an hour, and removes its journal', async () => {
      const l0 = await count(local, 'ListMultipartUploads');
      const r = ok(await run('glacier-abort', ['-v', 'ab', '--all', '--older-than', '1h'], { env: envOf(local, state) }));
      assert.equal((await count(local, 'ListMultipartUploads')) - l0, 2, '3 uploads in pages of 2');
      const out = lines<{ uploadId: string; aborted: boolean; journalRemoved: boolean; creationDate: string }>(r);
      assert.equal(out.length, 1, show(r));
      assert.equal(out[0].uploadId, old);
      assert.equal(out[0].aborted, true);
      assert.equal(out[0].journalRemoved, true);
      assert.ok(Date.now() - Date.parse(out[0].creationDate) > 3600_000);
      assert.deepEqual(await uploadIds(g, 'ab'), [...young].sort());
      assert.ok(!existsSync(journalOf(old)), 'its journal is gone');
      assert.ok(existsSync(journalOf(young[0])), "a younger upload's journal stays");
    });

    it('reports an unknown upload id with the 404 message and exit 1, and still aborts the others', async () => {
      const r = await run('glacier-abort', ['-v', 'ab', '--', 'NoSuchUpload', young[0]], { env: envOf(local, state) });
      const errs = failed(r, 'glacier-abort', 1);
      assert.deepEqual(errs, ['glacier-abort: The upload ID was not found: NoSuchUpload', 'glacier-abort: 1 of 2 upload(s) not aborted']);
      const out = lines<{ uploadId: string; aborted: boolean; journalRemoved: boolean; error?: string }>(r);
      assert.deepEqual(out.map((l) => [l.uploadId, l.aborted, l.journalRemoved]), [['NoSuchUpload', false, false], [young[0], true, true]]);
      assert.match(out[0].error ?? '', /not found/);
      assert.deepEqual(await uploadIds(g, 'ab'), [young[1]]);
      assert.ok(!existsSync(journalOf(young[0])));
    });

    it("an id that starts with '-' and reads as short flags holding -h (-h-...) is still a usage error, not --help", async () => {
      const env = envOf(local, state);
      for (const id of [`-h-${'A'.repeat(89)}`, `-qh-${'b'.repeat(88)}`, `-h_${'C'.repeat(89)}`]) {
        const bare = failed(await run('glacier-abort', ['-v', 'dash', id], { env }), 'glacier-abort', 2);
        assert.equal(bare.length, 1);
        assert.match(bare[0], /starts with '-' goes after --/);
      }
    });

    it("takes an upload id that starts with '-' after --, and says so when it comes without", async () => {
      // glacier-local's ids are random base64url: about one in 64 starts with '-'.
      let dashed: string | undefined;
      const others: string[] = [];
      for (let i = 0; i < 2000 && !dashed; i++) {
        const id = await newUpload(g, 'dash');
        if (id.startsWith('-')) dashed = id;
        else others.push(id);
      }
      assert.ok(dashed, "no upload id starting with '-' in 2000 tries");
      const env = envOf(local, state);
      const bare = failed(await run('glacier-abort', ['-v', 'dash', dashed], { env }), 'glacier-abort', 2);
      assert.equal(bare.length, 1);
      assert.match(bare[0], /starts with '-' goes after --/);
      assert.ok((await uploadIds(g, 'dash')).includes(dashed), 'nothing aborted');
      ok(await run('glacier-ls', ['-v', 'dash', '--', dashed], { env }));
      const r = ok(await run('glacier-abort', ['-v', 'dash', '--', dashed], { env }));
      assert.deepEqual(lines(r), [{ uploadId: dashed, vault: 'dash', aborted: true, journalRemoved: false }]);
      assert.ok(!(await uploadIds(g, 'dash')).includes(dashed));
      // The pipe from the help: every upload id from glacier-ls, through xargs, after --.
      if (!HAVE_JQ) return;
      const all = ok(await sh('"$NODE" "$BIN/glacier-ls" -v dash | jq -r .MultipartUploadId | xargs -r "$NODE" "$BIN/glacier-abort" -v dash --', [], { env }).done);
      assert.equal(lines(all).length, others.length);
      assert.deepEqual(await uploadIds(g, 'dash'), []);
    });

    it("'-' reads the upload ids from stdin, one a line, as glacier-rm does (nothing listed: exit 0)", async () => {
      const env = envOf(local, state);
      const a = await newUpload(g, 'dashin');
      const b = await newUpload(g, 'dashin');
      const r = ok(await run('glacier-abort', ['-v', 'dashin', '-'], { env, input: `${a}\n\n${b}\n` }));
      assert.deepEqual(lines(r).map((l) => [l.uploadId, l.aborted]), [[a, true], [b, true]]);
      assert.deepEqual(await uploadIds(g, 'dashin'), []);
      const none = ok(await run('glacier-abort', ['-v', 'dashin', '-'], { env, input: '' }));
      assert.deepEqual(lines(none), []);
      failed(await run('glacier-abort', ['-v', 'dashin', '-', a], { env, input: '' }), 'glacier-abort', 2);
    });

    it('refuses bad usage with exit 2 and an unknown vault with exit 1, one line each', async () => {
      const env = envOf(local, state);
      const cases: [string[], RegExp][] = [
        [['-v', 'ab'], /no upload to abort/],
        [['-v', 'ab', '--all', 'X'], /not both/],
        [['-v', 'ab', '--all', '--older-than', 'soon'], /invalid --older-than "soon"/],
        [['-v', 'ab', '--older-than', '1h', 'X'], /--older-than goes with --all/],
        [['-v', 'ab', 'not/an/id'], /malformed upload id/],
        [['--all'], /no vault/],
      ];
      const runs = await Promise.all(cases.map(([args]) => run('glacier-abort', args, { env })));
      for (const [i, [args, re]] of cases.entries()) {
        const errs = failed(runs[i], 'glacier-abort', 2);
        assert.equal(errs.length, 1, args.join(' '));
        assert.match(errs[0], re);
      }
      const nv = failed(await run('glacier-abort', ['-v', 'nope', '--all'], { env }), 'glacier-abort', 1);
      assert.equal(nv.length, 1);
      assert.match(nv[0], /vault "nope" not found/);
    });
  });

  describe('glacier-vault', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    before(async () => {
      local = await startLocal(LOCAL_ARGS);
      g = local.client();
    });
    after(() => local.stop());

    it('creates, describes and deletes a vault', async () => {
      const env = envOf(local);
      const c = lines<{ vault: string; location: string }>(ok(await run('glacier-vault', ['create', 'tmp-v'], { env })));
      assert.equal(c.length, 1);
      assert.equal(c[0].vault, 'tmp-v');
      assert.match(c[0].location, /\/vaults\/tmp-v$/);
      const d = lines<Record<string, unknown>>(ok(await run('glacier-vault', ['describe', '-v', 'tmp-v'], { env })));
      assert.deepEqual(Object.keys(d[0]).sort(), ['CreationDate', 'NumberOfArchives', 'SizeInBytes', 'VaultARN', 'VaultName']);
      assert.equal(d[0].VaultName, 'tmp-v');
      assert.equal(d[0].NumberOfArchives, 0);
      assert.deepEqual(lines(ok(await run('glacier-vault', ['delete', 'tmp-v'], { env }))), [{ vault: 'tmp-v', deleted: true }]);
      const gone = failed(await run('glacier-vault', ['describe', 'tmp-v'], { env }), 'glacier-vault', 1);
      assert.equal(gone.length, 1);
      assert.match(gone[0], /vault "tmp-v" not found/);
      const again = failed(await run('glacier-vault', ['delete', 'tmp-v'], { env }), 'glacier-vault', 1);
      assert.match(again[0], /vault "tmp-v" not found.*nothing to delete/);
    });

    it('refuses to delete a vault that is not empty, in one line naming the reason', async () => {
      await g.send(new CreateVaultCommand({ ...A, vaultName: 'full' }));
      await newArchive(g, 'full');
      const r = await run('glacier-vault', ['delete', 'full'], { env: envOf(local) });
      const errs = failed(r, 'glacier-vault', 1);
      assert.equal(errs.length, 1, show(r));
      assert.match(errs[0], /^glacier-vault: cannot delete vault "full": it is not empty .*Vault not empty or recently written to: arn:/);
      assert.equal(r.stdout.length, 0);
      assert.equal(await archivesIn(g, 'full'), 1);
    });

    it('refuses bad usage with exit 2', async () => {
      const env = { ...envOf(local), GLACIER_VAULT: 'full' };
      const cases: [string[], RegExp][] = [
        [[], /give an action/],
        [['drop', 'x'], /unknown action "drop"/],
        [['create', 'a/b'], /invalid vault name "a\/b"/],
        [['create', 'a', 'b'], /one vault at a time/],
        [['describe', 'a', '-v', 'b'], /two vault names/],
        [['delete'], /name the vault to delete/],
      ];
      const runs = await Promise.all(cases.map(([args]) => run('glacier-vault', args, { env })));
      for (const [i, [args, re]] of cases.entries()) {
        const errs = failed(runs[i], 'glacier-vault', 2);
        assert.equal(errs.length, 1, args.join(' '));
        assert.match(errs[0], re);
      }
      assert.equal(await archivesIn(g, 'full'), 1);
    });
  });

  describe('--help', () => {
    for (const name of ['glacier-ls', 'glacier-abort', 'glacier-rm', 'glacier-vault']) {
      it(`${name} --help shows usage, exit codes and a pipe`, async () => {
        const r = ok(await run(name, ['--help'], { env: process.env }));
        const text = r.stdout.toString('utf8');
        assert.match(text, new RegExp(`^Usage: ${name} `));
        assert.match(text, /\nExit: 0 /);
        const examples = text.slice(text.indexOf('\nExamples:\n'));
        assert.ok(examples.length > 12 && / \| /.test(examples), `a pipe among the examples: ${examples}`);
      });
    }
  });
});
