// Hardening of every binary, end to end against real glacier-local processes (no mocks):
//  1. a table of bad inputs across all ten binaries: each row asserts its exit code, exactly one `glacier-x: ...`
//     line on stderr (warnings aside) without a stack trace, and that glacier-local holds nothing new (no vault,
//     archive, job or multipart upload; no successful mutating request in its request log; no journal);
//  2. secrets: every binary with --debug, succeeding and failing, with a distinctive secret key and a session
//     token: neither they nor a signature appear on stdout, stderr or in a journal; journals are mode 0600;
//  3. SIGINT and SIGTERM at random moments of a multipart glacier-put and of a `glacier-job output -o FILE`:
//     a complete and exact archive, or a journal plus an open upload that --resume completes exactly, or nothing;
//     FILE either absent or complete and exact, and a rerun completes it;
//  4. glacier-local (with a data dir) refuses path traversal in vault names and ids, and bad signatures, and
//     nothing appears outside its data dir.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  CreateVaultCommand, DescribeJobCommand, DescribeVaultCommand, GetJobOutputCommand, GlacierClient, InitiateJobCommand,
  ListMultipartUploadsCommand, ListVaultsCommand, UploadArchiveCommand,
} from '@aws-sdk/client-glacier';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { errorLines, run, sh, show, sleep, start, type Ran } from './helpers/bins.js';
import { rawRequest } from './helpers/conformance.js';
import { ACCESS_KEY_ID, REGION, startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // for the SDK clients in this process
const A = { accountId: '-' };
const MUTATING = new Set([
  'CreateVault', 'DeleteVault', 'UploadArchive', 'DeleteArchive', 'InitiateMultipartUpload', 'UploadMultipartPart',
  'CompleteMultipartUpload', 'AbortMultipartUpload', 'InitiateJob',
]);

let work: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'gp-hardening-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

// ---- helpers ---------------------------------------------------------------------------------------------------

/** The binaries' environment: this glacier-local, a private state folder, no GLACIER_VAULT from the caller. */
function envOf(local: Local, state: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...local.env, XDG_STATE_HOME: state, ...extra };
  delete env.GLACIER_VAULT;
  delete env.AWS_PROFILE;
  return env;
}

/** A failure: this exit code, exactly one `name: ...` line on stderr besides warnings, and no stack trace. */
function oneLine(r: Ran, name: string, code: number, msg?: RegExp): string {
  assert.equal(r.code, code, `exit ${code} expected\n${show(r)}`);
  const errs = errorLines(r.stderr, name);
  assert.equal(errs.length, 1, `exactly one error line expected\n${show(r)}`);
  assert.ok(errs[0].startsWith(`${name}: `), `the line starts with "${name}: "\n${show(r)}`);
  assert.ok(!/^\s+at /m.test(r.stderr) && !/\bat (file|node):/.test(r.stderr), `no stack trace\n${show(r)}`);
  if (msg) assert.match(errs[0].slice(name.length + 2), msg, show(r));
  return errs[0];
}

/** Every vault with its archive count and open multipart uploads. */
async function holdings(g: GlacierClient): Promise<Record<string, { archives: number; uploads: string[] }>> {
  const out: Record<string, { archives: number; uploads: string[] }> = {};
  let vm: string | undefined;
  do {
    const lv = await g.send(new ListVaultsCommand({ ...A, marker: vm }));
    for (const v of lv.VaultList ?? []) {
      const vaultName = v.VaultName!;
      const d = await g.send(new DescribeVaultCommand({ ...A, vaultName }));
      const uploads: string[] = [];
      let um: string | undefined;
      do {
        const r = await g.send(new ListMultipartUploadsCommand({ ...A, vaultName, marker: um }));
        uploads.push(...(r.UploadsList ?? []).map((u) => u.MultipartUploadId!));
        um = r.Marker ?? undefined;
      } while (um);
      out[vaultName] = { archives: d.NumberOfArchives ?? 0, uploads: uploads.sort() };
    }
    vm = lv.Marker ?? undefined;
  } while (vm);
  return out;
}

interface LogEntry { op: string; status?: number; method?: string; path?: string; jobId?: string }
/** Mutating requests that glacier-local carried out (2xx), from its request log. */
async function mutations(local: Local): Promise<LogEntry[]> {
  return (await local.admin<LogEntry[]>('GET', 'requests')).filter((e) => MUTATING.has(e.op) && (e.status ?? 0) < 300);
}

/** The journals in the state folder; `pending` also counts those of an upload being initiated right now. */
function journals(state: string, pending = false): string[] {
  try {
    return readdirSync(join(state, 'glacier-pipes'))
      .filter((n) => n.endsWith('.journal') && (pending || !n.startsWith('.pending-')))
      .map((n) => join(state, 'glacier-pipes', n));
  } catch {
    return [];
  }
}

/** Every file under dir (relative paths), recursively. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
    .sort();
}

async function waitJob(g: GlacierClient, vaultName: string, jobId: string): Promise<void> {
  for (let i = 0; !(await g.send(new DescribeJobCommand({ ...A, vaultName, jobId }))).Completed; i++) {
    assert.ok(i < within(200), `job ${jobId} did not complete`);
    await sleep(25);
  }
}

async function startJob(g: GlacierClient, vaultName: string, jobParameters: Record<string, string>): Promise<string> {
  const { jobId } = await g.send(new InitiateJobCommand({ ...A, vaultName, jobParameters }));
  await waitJob(g, vaultName, jobId!);
  return jobId!;
}

/** An archive's bytes, read back through a retrieval job. */
async function readArchive(g: GlacierClient, vaultName: string, archiveId: string): Promise<Buffer> {
  const jobId = await startJob(g, vaultName, { Type: 'archive-retrieval', ArchiveId: archiveId });
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  return Buffer.from(await out.body!.transformToByteArray());
}

/** The archive ids of a vault, from an inventory job (glacier-local's inventories are current). */
async function archiveIds(g: GlacierClient, vaultName: string): Promise<string[]> {
  const jobId = await startJob(g, vaultName, { Type: 'inventory-retrieval', Format: 'JSON' });
  const out = await g.send(new GetJobOutputCommand({ ...A, vaultName, jobId }));
  const inv = JSON.parse(Buffer.from(await out.body!.transformToByteArray()).toString('utf8')) as { ArchiveList: { ArchiveId: string }[] };
  return inv.ArchiveList.map((a) => a.ArchiveId);
}

/** Parts glacier-local accepted so far (into `vault`). */
async function landedParts(local: Local, vault: string): Promise<number> {
  return (await local.admin<LogEntry[]>('GET', 'requests')).filter((e) => e.op === 'UploadMultipartPart' && e.status === 204 && e.path?.includes(`/vaults/${vault}/`)).length;
}

/** Waits until `n` more parts than `since` landed in `vault`, while glacier-put `s` still runs. */
async function waitForParts(local: Local, vault: string, since: number, n: number, s: { proc: { exitCode: number | null; signalCode: string | null }; stderr(): string }): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if ((await landedParts(local, vault)) - since >= n) return;
    assert.ok(s.proc.exitCode === null && s.proc.signalCode === null, `glacier-put ended before ${n} parts landed: ${s.stderr()}`);
    assert.ok(Date.now() - t0 < within(30_000), `fewer than ${n} parts landed in ${within(30_000)} ms`);
    await sleep(30);
  }
}

/** Waits until glacier-local logged a request that `match` accepts (the process under test has got going). */
async function firstRequest(local: Local, match: (e: LogEntry) => boolean, s: { proc: { exitCode: number | null; signalCode: string | null }; stderr(): string }): Promise<void> {
  const t0 = Date.now();
  while (!(await local.admin<LogEntry[]>('GET', 'requests')).some(match)) {
    assert.ok(s.proc.exitCode === null && s.proc.signalCode === null, `ended before its first request: ${s.stderr()}`);
    assert.ok(Date.now() - t0 < within(30_000), `no request in ${within(30_000)} ms`);
    await sleep(20);
  }
}

/** Runs the thunks at most `n` at a time (this machine may have 2 cores); the results in the thunks' order. */
async function inBatches<T>(n: number, thunks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(thunks.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < thunks.length; i = next++) out[i] = await thunks[i]();
  };
  await Promise.all(Array.from({ length: Math.min(n, thunks.length) }, worker));
  return out;
}

const EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

/** A run ended by `sig`: exit 130/143 (or killed by it before the handlers were installed, which a shell also reports as 130/143). */
function interrupted(r: Ran, sig: 'SIGINT' | 'SIGTERM'): boolean {
  return r.code === EXIT[sig] || (r.code === null && r.signal === sig);
}

describe('hardening', { concurrency: 4 }, () => {
  // ---- 1. bad input ----------------------------------------------------------------------------------------------
  describe('bad input: one line, the exit code, and nothing new in glacier-local', { concurrency: 4 }, () => {
    let local: Local;
    let g: GlacierClient;
    let dir: string;
    let state: string;
    let baseline: { holdings: string; mutations: number; outside: string[] };
    const fx: Record<string, string> = {};

    interface Row {
      bin: string;
      args: string[];
      code: number;
      msg?: RegExp;
      input?: string;
      env?: Record<string, string>;
      /** stdout read by `head ARGS`, which closes it early: the binary must stop quietly (exit `code`, no stderr). */
      head?: string[];
      /** failures that also print per-item JSON results on stdout (abort, rm) or a stream header (chunk) */
      stdout?: boolean;
    }
    const WRONG = { AWS_SECRET_ACCESS_KEY: 'not/the/right/secret/key/for/glacier-local/0' };
    const REFUSED = 'http://127.0.0.1:1';
    // A refused connection is retried under the policy (10 attempts by default, up to about 70 s of backoff):
    // two attempts keep these rows well inside their timeout.
    const TWO_ATTEMPTS = { AWS_MAX_ATTEMPTS: '2' };
    const rows: Row[] = [
      // glacier-put
      { bin: 'glacier-put', args: ['-v', 'hv', '-p', 'abc', '{SMALL}'], code: 2, msg: /invalid --part-size "abc"/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '--expected-size', '-5'], input: 'x', code: 2, msg: /invalid --expected-size "-5"/ },
      { bin: 'glacier-put', args: ['-v', 'hv'], code: 2, msg: /empty input/ }, // stdin is /dev/null
      { bin: 'glacier-put', args: ['-v', 'nosuch', '{SMALL}'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-put', args: ['-v', 'nosuch', '-p', '1M', '{BIG}'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '{SMALL}'], env: WRONG, code: 1, msg: /refused the credentials/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '-p', '1M', '{BIG}'], env: WRONG, code: 1, msg: /refused the credentials/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '-d', 'café', '{SMALL}'], code: 2, msg: /printable ASCII/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '--frobnicate', '{SMALL}'], code: 2, msg: /unknown option --frobnicate/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '-5', '{SMALL}'], code: 2, msg: /unknown option -5/ },
      { bin: 'glacier-put', args: ['-v', '..', '{SMALL}'], code: 2, msg: /invalid vault name ".."/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '{NOPE}'], code: 2, msg: /cannot read .*no such file/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '--account-id', '12', '{SMALL}'], code: 2, msg: /invalid --account-id "12"/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '--resume', '{SMALL}'], code: 2, msg: /no journal of an interrupted upload/ },
      { bin: 'glacier-put', args: ['-v', 'hv', '-c', '0', '{SMALL}'], code: 2, msg: /invalid --concurrency "0"/ },
      // glacier-job
      { bin: 'glacier-job', args: [], code: 2, msg: /no subcommand/ },
      { bin: 'glacier-job', args: ['frobnicate', '-v', 'hv'], code: 2, msg: /unknown subcommand "frobnicate"/ },
      { bin: 'glacier-job', args: ['wait', '-v', 'hv', '--interval', 'x', '--', '{JOB}'], code: 2, msg: /invalid --interval "x"/ },
      { bin: 'glacier-job', args: ['describe', '-v', 'hv', '--', '../../etc'], code: 2, msg: /invalid job id/ },
      { bin: 'glacier-job', args: ['describe', '-v', 'hv', '--', 'NoSuchJob0123456789'], code: 1, msg: /job ID was not found/ },
      { bin: 'glacier-job', args: ['get', '-v', 'hv', '--piece-size', '3M', '--', '{ARCHIVE}'], code: 2, msg: /piece-size/ },
      { bin: 'glacier-job', args: ['get', '-v', 'hv', '--timeout', 'soon', '--', '{ARCHIVE}'], code: 2, msg: /invalid --timeout "soon"/ },
      { bin: 'glacier-job', args: ['retrieve', '-v', 'hv', '--tier', 'Fast', '--', '{ARCHIVE}'], code: 2, msg: /tier "Fast"/ },
      { bin: 'glacier-job', args: ['list', '-v', 'nosuch'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-job', args: ['list', '-v', 'hv', '--endpoint', REFUSED], env: TWO_ATTEMPTS, code: 1, msg: /cannot connect to http:\/\/127\.0\.0\.1:1/ },
      { bin: 'glacier-job', args: ['list', '-v', 'hv'], env: WRONG, code: 1, msg: /refused the credentials/ },
      { bin: 'glacier-job', args: ['output', '-v', 'hv', '--', '{JOB}'], head: ['-c', '10'], code: 0 },
      // glacier-ls
      { bin: 'glacier-ls', args: ['--frobnicate'], code: 2, msg: /unknown option --frobnicate/ },
      { bin: 'glacier-ls', args: ['-v', 'nosuch'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-ls', args: ['-v', 'hv', '--', '../x'], code: 2, msg: /malformed upload id/ },
      { bin: 'glacier-ls', args: ['-v', 'hv', '--', 'NoSuchUpload0123456789'], code: 1, msg: /upload ID was not found/ },
      { bin: 'glacier-ls', args: [], env: WRONG, code: 1, msg: /refused the credentials/ },
      { bin: 'glacier-ls', args: [], head: ['-n', '0'], code: 0 },
      { bin: 'glacier-ls', args: ['--profile', 'nosuchprofile'], env: { AWS_CONFIG_FILE: '{NOPE}', AWS_SHARED_CREDENTIALS_FILE: '{NOPE}' }, code: 2, msg: /no AWS credentials found/ },
      // glacier-abort
      { bin: 'glacier-abort', args: ['-v', 'hv'], code: 2, msg: /no upload to abort/ },
      { bin: 'glacier-abort', args: ['-v', 'hv', '--all', '--older-than', 'soon'], code: 2, msg: /invalid --older-than "soon"/ },
      { bin: 'glacier-abort', args: ['-v', 'hv', '--all', '--older-than', '-1h'], code: 2, msg: /invalid --older-than "-1h"/ },
      { bin: 'glacier-abort', args: ['-v', 'hv', '--', 'x/../y'], code: 2, msg: /malformed upload id/ },
      { bin: 'glacier-abort', args: ['-v', 'hv', '--', 'NoSuchUpload0123456789'], code: 1, msg: /upload ID was not found/, stdout: true },
      { bin: 'glacier-abort', args: ['-v', 'nosuch', '--all'], code: 1, msg: /vault "nosuch" not found/ },
      // glacier-rm
      { bin: 'glacier-rm', args: ['{ARCHIVE}'], code: 2, msg: /no vault/ },
      { bin: 'glacier-rm', args: ['-v', 'hv', '--', '../../victim'], code: 2, msg: /malformed archive id/, stdout: true },
      { bin: 'glacier-rm', args: ['-v', 'nosuch', '--', '{ARCHIVE}'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-rm', args: ['-v', 'hv2', '--', '{ARCHIVE}'], code: 1, msg: /not an archive of vault "hv2"/, stdout: true },
      { bin: 'glacier-rm', args: ['-v', 'hv', '--', '{ARCHIVE}'], env: WRONG, code: 1, msg: /refused the credentials/, stdout: true },
      // glacier-vault
      { bin: 'glacier-vault', args: [], code: 2, msg: /give an action/ },
      { bin: 'glacier-vault', args: ['explode', 'hv'], code: 2, msg: /unknown action "explode"/ },
      { bin: 'glacier-vault', args: ['create', '..'], code: 2, msg: /invalid vault name "\.\."/ },
      { bin: 'glacier-vault', args: ['create', 'a%2Fb'], code: 2, msg: /invalid vault name/ },
      { bin: 'glacier-vault', args: ['describe', 'nosuch'], code: 1, msg: /vault "nosuch" not found/ },
      { bin: 'glacier-vault', args: ['create', 'newvault'], env: WRONG, code: 1, msg: /refused the credentials/ },
      { bin: 'glacier-vault', args: ['describe', 'hv', '--endpoint', REFUSED], env: TWO_ATTEMPTS, code: 1, msg: /cannot connect to http:\/\/127\.0\.0\.1:1/ },
      { bin: 'glacier-vault', args: ['delete', 'hv'], code: 1, msg: /cannot delete vault "hv": it is not empty/ },
      { bin: 'glacier-vault', args: ['describe', 'hv', '--region', 'bad region!'], code: 2, msg: /invalid region/ },
      // glacier-chunk
      { bin: 'glacier-chunk', args: ['-p', 'abc'], input: 'x', code: 2, msg: /invalid --part-size "abc"/ },
      { bin: 'glacier-chunk', args: ['-p', '8G', '{SMALL}'], code: 2, msg: /invalid --part-size "8G"/ },
      { bin: 'glacier-chunk', args: ['{NOPE}'], code: 2, msg: /cannot read .*no such file/ },
      { bin: 'glacier-chunk', args: [], code: 2, msg: /empty input/, stdout: true },
      { bin: 'glacier-chunk', args: ['-v', 'hv'], code: 2, msg: /unknown option -v/ },
      { bin: 'glacier-chunk', args: ['-p', '1M', '{BIG}'], head: ['-c', '10'], code: 0 },
      // glacier-treehash
      { bin: 'glacier-treehash', args: ['{NOPE}'], code: 2, msg: /no such file/ },
      { bin: 'glacier-treehash', args: ['--frobnicate'], code: 2, msg: /unknown option --frobnicate/ },
      { bin: 'glacier-treehash', args: ['-c', '{SUMS}'], code: 2, msg: /not a "<tree hash>  <name>" line/ },
      { bin: 'glacier-treehash', args: ['-c', '{NOPE}'], code: 2, msg: /no such file/ },
      { bin: 'glacier-treehash', args: ['{BIG}', '{BIG}'], head: ['-c', '10'], code: 0 },
      // glacier-pack
      { bin: 'glacier-pack', args: ['{NOPE}'], code: 2, msg: /no such file/ },
      { bin: 'glacier-pack', args: [], code: 2, msg: /no PATH/ },
      { bin: 'glacier-pack', args: ['-T', 'abc', '-C', '{WORK}', 'packme'], code: 2, msg: /invalid --threads "abc"/ },
      { bin: 'glacier-pack', args: ['--frobnicate', '-C', '{WORK}', 'packme'], code: 2, msg: /unknown option --frobnicate/ },
      { bin: 'glacier-pack', args: ['-12', '-C', '{WORK}', 'packme'], code: 2, msg: /invalid level -12/ },
      { bin: 'glacier-pack', args: ['-C', '{WORK}', 'packme'], head: ['-c', '10'], code: 0 },
      // glacier-local
      { bin: 'glacier-local', args: ['--port', 'abc'], code: 2, msg: /invalid --port "abc"/ },
      { bin: 'glacier-local', args: ['--faults', 'X:boom'], code: 2, msg: /invalid fault rule/ },
      { bin: 'glacier-local', args: ['--memory', '--data', '{NOPE}'], code: 2, msg: /exclusive/ },
      { bin: 'glacier-local', args: ['extra'], code: 2, msg: /unexpected argument "extra"/ },
    ];

    before(async () => {
      dir = join(work, 'table');
      state = join(dir, 'state');
      mkdirSync(join(dir, 'packme', 'sub'), { recursive: true });
      // The state folder exists, as it does for a user who uploaded before: a multipart row probes it before its
      // Initiate (and removes what it made), which rows running alongside would otherwise see come and go.
      mkdirSync(join(state, 'glacier-pipes'), { recursive: true });
      local = await startLocal(['--data', join(dir, 'data'), '--job-delay', '0']);
      g = local.client();
      for (const vaultName of ['hv', 'hv2']) await g.send(new CreateVaultCommand({ ...A, vaultName }));
      const archive = randomBytes(5 * MiB + 7);
      const up = await g.send(new UploadArchiveCommand({ ...A, vaultName: 'hv', body: archive, checksum: treeHash(archive) }));
      fx.ARCHIVE = up.archiveId!;
      fx.JOB = await startJob(g, 'hv', { Type: 'archive-retrieval', ArchiveId: fx.ARCHIVE });
      fx.SMALL = join(dir, 'small.bin');
      fx.BIG = join(dir, 'big.bin');
      fx.SUMS = join(dir, 'sums.txt');
      fx.NOPE = join(dir, 'does-not-exist');
      fx.WORK = dir;
      writeFileSync(fx.SMALL, randomBytes(100_000));
      writeFileSync(fx.BIG, randomBytes(3 * MiB + 5));
      writeFileSync(fx.SUMS, 'this is not a sums file\n');
      writeFileSync(join(dir, 'packme', 'sub', 'f.txt'), randomBytes(300_000).toString('base64'));
      baseline = {
        holdings: JSON.stringify(await holdings(g)),
        mutations: (await mutations(local)).length,
        outside: readdirSync(dir).sort(),
      };
    });
    after(() => local.stop());

    it('has at least 30 rows, at least 2 for every binary', () => {
      assert.ok(rows.length >= 30, `${rows.length} rows`);
      for (const b of ['glacier-pack', 'glacier-put', 'glacier-chunk', 'glacier-treehash', 'glacier-job', 'glacier-ls', 'glacier-abort', 'glacier-rm', 'glacier-vault', 'glacier-local']) {
        assert.ok(rows.filter((r) => r.bin === b).length >= 2, `${b} has fewer than 2 rows`);
      }
    });

    for (const [i, row] of rows.entries()) {
      const title = `${row.bin} ${row.args.join(' ')}${row.input === undefined && !row.head ? ' </dev/null' : ''}${row.head ? ` | head ${row.head.join(' ')}` : ''}${row.env === WRONG ? ' (wrong secret)' : ''} -> ${row.code}`;
      it(title, { timeout: within(60_000) }, async () => {
        const subst = (a: string) => a.replace(/\{(\w+)\}/g, (_, k: string) => fx[k] ?? `{${k}}`);
        const args = row.args.map(subst);
        const env = envOf(local, state, Object.fromEntries(Object.entries(row.env ?? {}).map(([k, v]) => [k, subst(v)])));
        let r: Ran;
        if (row.head) {
          // The binary's own exit code, through a real pipe whose reader goes away early.
          const rc = join(dir, `rc-${i}`);
          r = await sh('b=$1; rc=$2; h=$3; shift 3; { "$NODE" "$BIN/$b" "$@"; echo $? >"$rc"; } | head $h >/dev/null; exit "$(cat "$rc")"', [row.bin, rc, row.head.join(' '), ...args], { env }).done;
          assert.equal(r.code, row.code, show(r));
          assert.equal(r.stderr, '', `quiet when stdout closes early\n${show(r)}`);
        } else {
          r = await run(row.bin, args, { env, input: row.input });
          oneLine(r, row.bin, row.code, row.msg);
          if (!row.stdout) assert.equal(r.stdout.length, 0, `nothing on stdout\n${show(r)}`);
        }
        // glacier-local holds nothing new: same vaults, archives and uploads, no mutating request carried out.
        assert.equal(JSON.stringify(await holdings(g)), baseline.holdings, 'vaults, archives and multipart uploads unchanged');
        const done = await mutations(local);
        assert.equal(done.length, baseline.mutations, `no mutating request succeeded: ${JSON.stringify(done.slice(baseline.mutations))}`);
        assert.deepEqual(journals(state), [], 'no journal left');
        for (const name of readdirSync(dir)) assert.ok(baseline.outside.includes(name) || /^rc-\d+$/.test(name), `nothing new beside the fixtures: ${name}`);
      });
    }

    // Rows run side by side, so a row may see another's journal of an upload being initiated (removed when the
    // Initiate fails); once all have ended, none may be left.
    it('no journal, not even one of an upload being initiated, is left after the whole table', () => {
      assert.deepEqual(journals(state, true), []);
    });
  });

  // ---- 2. secrets ------------------------------------------------------------------------------------------------
  describe('secrets: never printed, never journaled, --debug included', { concurrency: 1 }, () => {
    const KEY_ID = 'AKIAHARDENINGTEST001';
    const SECRET = `hArDeN+${randomBytes(12).toString('hex')}/SeCrEt/Key`;
    const TOKEN = `IQoJb3JpZ2luX2VjEHardeningToken/${randomBytes(24).toString('base64')}+SeSsIoN==`;
    const WRONG_SECRET = `wRoNg+${randomBytes(12).toString('hex')}/SeCrEt`;
    let local: Local;
    let g: GlacierClient;
    let dir: string;
    let state: string;
    let env: NodeJS.ProcessEnv;
    const outputs: { what: string; text: string }[] = [];

    function leaks(text: string): string[] {
      const found: string[] = [];
      for (const [what, s] of [['secret key', SECRET], ['session token', TOKEN], ['wrong secret key', WRONG_SECRET]] as const) {
        for (const form of new Set([s, encodeURIComponent(s), Buffer.from(s).toString('base64')])) if (text.includes(form)) found.push(what);
      }
      if (/Signature=\s*[0-9a-f]{64}/i.test(text)) found.push('a Signature= value');
      if (/AWS4-HMAC-SHA256\s+Credential=/i.test(text)) found.push('an Authorization header');
      if (/x-amz-security-token/i.test(text)) found.push('the security token header');
      return found;
    }
    const record = (what: string, r: Ran) => {
      outputs.push({ what: `${what} (stdout)`, text: r.stdout.toString('latin1') }, { what: `${what} (stderr)`, text: r.stderr });
      return r;
    };
    const bin = async (name: string, args: string[], code: number, o: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Ran> => {
      const r = record(`${name} ${args.join(' ').split(SECRET).join('<secret>')}`, await run(name, ['--debug', ...args], { env: o.env ?? env, input: o.input }));
      assert.equal(r.code, code, show(r));
      return r;
    };
    const jsonOf = (r: Ran) => JSON.parse(r.stdout.toString('utf8').split('\n')[0]) as Record<string, string>;

    before(async () => {
      dir = join(work, 'secrets');
      state = join(dir, 'state');
      mkdirSync(join(dir, 'tree'), { recursive: true });
      // glacier-local accepts only this key pair; the binaries also carry a session token (glacier-local signs it in
      // like any header and does not check it, as sigv4.ts shows).
      local = await startLocal(['--memory', '--job-delay', '0', '--debug'], { keys: { accessKeyId: KEY_ID, secretAccessKey: SECRET } });
      g = local.client({ accessKeyId: KEY_ID, secret: SECRET });
      env = envOf(local, state, { AWS_ACCESS_KEY_ID: KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET, AWS_SESSION_TOKEN: TOKEN });
      writeFileSync(join(dir, 'small.bin'), randomBytes(200_000));
      writeFileSync(join(dir, 'three.bin'), randomBytes(3 * MiB + 11));
      writeFileSync(join(dir, 'tree', 'a.txt'), 'hello\n');
    });
    after(() => local.stop());

    it('every binary with --debug, succeeding and failing, prints no secret, token or signature', { timeout: within(180_000) }, async () => {
      const small = join(dir, 'small.bin');
      const three = join(dir, 'three.bin');
      const nope = join(dir, 'nope');
      const wrong = { env: { ...env, AWS_SECRET_ACCESS_KEY: WRONG_SECRET } };
      await bin('glacier-vault', ['create', 'sv'], 0);
      // Independent of each other: run side by side.
      const [p1, p2] = await inBatches(4, [
        () => bin('glacier-put', ['-v', 'sv', small], 0),
        () => bin('glacier-put', ['-v', 'sv', '-p', '1M', three], 0),
        () => bin('glacier-vault', ['describe', 'nosuch'], 1),
        () => bin('glacier-put', ['-v', 'nosuch', small], 1),
        () => bin('glacier-put', ['-v', 'sv', '-p', '1M', three], 1, wrong),
        () => bin('glacier-ls', [], 1, wrong),
        () => bin('glacier-ls', ['-v', 'sv', '--', 'NoSuchUpload0123'], 1),
        () => bin('glacier-job', ['describe', '-v', 'sv', '--', 'NoSuchJob0123'], 1),
        // A refused connection is retried (README: Retries); two attempts keep this test short.
        () => bin('glacier-job', ['list', '-v', 'sv', '--endpoint', 'http://127.0.0.1:1'], 1, { env: { ...env, AWS_MAX_ATTEMPTS: '2' } }), // --debug: a stack trace
        () => bin('glacier-vault', ['describe', 'sv', '--endpoint', 'http://127.0.0.1:1'], 1, { env: { ...env, AWS_MAX_ATTEMPTS: '2' } }),
        () => bin('glacier-abort', ['-v', 'sv', '--', 'NoSuchUpload0123'], 1),
        () => bin('glacier-chunk', ['-p', '1M', three], 0),
        () => bin('glacier-chunk', ['-p', '8G', three], 2),
        () => bin('glacier-treehash', [three], 0),
        () => bin('glacier-treehash', [nope], 2),
        () => bin('glacier-pack', ['-C', dir, 'tree'], 0),
        () => bin('glacier-pack', [nope], 2),
        () => bin('glacier-local', ['--port', 'abc'], 2),
        () => bin('glacier-local', ['--secret-access-key', SECRET, '--port', 'x'], 2),
      ]);
      const [a1, a2] = [jsonOf(p1).archiveId, jsonOf(p2).archiveId];
      const job = jsonOf(await bin('glacier-job', ['retrieve', '-v', 'sv', '--', a1], 0)).JobId;
      await waitJob(g, 'sv', job);
      const [out] = await inBatches(4, [
        () => bin('glacier-job', ['output', '-v', 'sv', '--', job], 0),
        () => bin('glacier-job', ['list', '-v', 'sv'], 0),
        () => bin('glacier-job', ['inventory', '-v', 'sv'], 0),
        () => bin('glacier-ls', [], 0),
        () => bin('glacier-ls', ['-v', 'sv'], 0),
        () => bin('glacier-abort', ['-v', 'sv', '--all'], 0),
        () => bin('glacier-rm', ['-v', 'nosuch', '--', a2], 1),
      ]);
      assert.equal(out.stdout.length, 200_000);
      await bin('glacier-rm', ['-v', 'sv', '--', a2], 0);
      outputs.push({ what: 'glacier-local --debug (running) stderr', text: local.stderr() });
      outputs.push({ what: "glacier-local's request log", text: JSON.stringify(await local.admin('GET', 'requests')) });
      for (const o of outputs) assert.deepEqual(leaks(o.text), [], `${o.what} leaks:\n${o.text.slice(0, 3000)}`);
      // the wrong secret was refused as such, in one line
      const refused = outputs.find((o) => o.what.startsWith('glacier-ls ') && o.what.endsWith('(stderr)') && /refused the credentials/.test(o.text));
      assert.ok(refused, 'glacier-ls said the credentials were refused');
    });

    it('an interrupted multipart upload leaves a 0600 journal with no secret in it; the resume prints none either', { timeout: within(60_000) }, async () => {
      const file = join(dir, 'twenty.bin');
      const data = randomBytes(20 * MiB + 3);
      writeFileSync(file, data);
      await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=300' });
      try {
        const since = await landedParts(local, 'sv');
        const s = start('glacier-put', ['--debug', '-v', 'sv', '-p', '1M', file], { env });
        await waitForParts(local, 'sv', since, 2, s);
        s.proc.kill('SIGINT');
        const r = record('glacier-put (SIGINT)', await s.done);
        assert.equal(r.code, 130, show(r));
        assert.match(r.stderr, /^glacier-put: (Error: )?interrupted; the parts sent so far are kept\. Resume with: glacier-put -v sv --resume[= ]\S+ .*twenty\.bin$/m);
        const js = journals(state);
        assert.equal(js.length, 1, 'one journal');
        assert.equal(statSync(js[0]).mode & 0o777, 0o600, 'the journal is mode 0600');
        assert.equal(statSync(join(state, 'glacier-pipes')).mode & 0o077, 0, 'its folder is private too');
        const text = readFileSync(js[0], 'utf8');
        assert.deepEqual(leaks(text), [], `journal leaks:\n${text}`);
        assert.ok(!text.includes(KEY_ID), 'not even the access key id is journaled');
      } finally {
        await local.admin('DELETE', 'faults');
      }
      const res = jsonOf(await bin('glacier-put', ['-v', 'sv', '--resume', file], 0));
      assert.ok((await readArchive(g, 'sv', res.archiveId)).equals(data), 'the resumed archive is exact');
      assert.deepEqual(journals(state), [], 'a finished upload removes its journal');
      // every file the binaries left under XDG_STATE_HOME, and everything they printed
      for (const f of filesUnder(state)) {
        const path = join(state, f);
        if (f.endsWith('.journal')) assert.equal(statSync(path).mode & 0o777, 0o600, `${f} is mode 0600`);
        assert.deepEqual(leaks(readFileSync(path, 'latin1')), [], `${f} leaks`);
      }
      for (const o of outputs) assert.deepEqual(leaks(o.text), [], `${o.what} leaks:\n${o.text.slice(0, 3000)}`);
    });
  });

  // ---- 3. signals at random moments -------------------------------------------------------------------------------
  describe('SIGINT/SIGTERM at random moments of a multipart glacier-put', { concurrency: 2 }, () => {
    let local: Local;
    let g: GlacierClient;
    let dir: string;
    let file: string;
    let data: Buffer;
    before(async () => {
      dir = join(work, 'sig-put');
      mkdirSync(dir, { recursive: true });
      local = await startLocal(['--memory', '--job-delay', '0']);
      g = local.client();
      data = randomBytes(24 * MiB + 12_345);
      file = join(dir, 'data.bin');
      writeFileSync(file, data);
      for (let i = 0; i < 4; i++) await g.send(new CreateVaultCommand({ ...A, vaultName: `sig-${i}` }));
      await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=300' });
    });
    after(() => local.stop());

    // The first moment is counted from the start of the process (it may land before its signal handlers are set);
    // the others from its first request, since starting node takes a varying while on a loaded machine. A whole
    // run takes about 2 s (24 parts of 300 ms, 5 at a time).
    for (let i = 0; i < 4; i++) {
      const sig = i % 2 ? 'SIGTERM' : 'SIGINT';
      const delay = i === 0 ? 50 + Math.floor(Math.random() * 600) : Math.floor(Math.random() * 2200);
      const from = i === 0 ? 'its start' : 'its first request';
      it(`${sig} ${delay} ms after ${from}: a right archive, a resumable upload, or nothing`, { timeout: within(60_000) }, async (t) => {
        const vault = `sig-${i}`;
        const state = join(dir, `state-${i}`);
        const env = envOf(local, state);
        const s = start('glacier-put', ['-v', vault, '-p', '1M', file], { env });
        if (i > 0) await firstRequest(local, (e) => e.op === 'InitiateMultipartUpload' && !!e.path?.includes(`/vaults/${vault}/`), s);
        await sleep(delay);
        s.proc.kill(sig);
        const r = await s.done;
        const ok = r.code === 0;
        assert.ok(ok || interrupted(r, sig), `exit 0 or ${EXIT[sig]}\n${show(r)}`);
        if (ok) {
          const res = JSON.parse(r.stdout.toString('utf8')) as { archiveId: string };
          assert.ok((await readArchive(g, vault, res.archiveId)).equals(data), 'the archive is exact');
        } else if (r.code !== null) {
          const line = oneLine(r, 'glacier-put', EXIT[sig]);
          assert.match(line, /interrupted/);
        }
        let h = (await holdings(g))[vault];
        const js = journals(state);
        // An interrupted run made no archive: none whose id was never printed.
        if (!ok) assert.equal(h.archives, 0, `interrupted, yet an archive was made: ${JSON.stringify(h)}`);
        t.diagnostic(ok ? 'finished before the signal' : h.uploads.length ? 'interrupted, resumable' : r.code === null ? 'killed before its handlers were set' : 'interrupted, nothing left');
        if (!ok && h.uploads.length > 0) {
          // Resumable: exactly one open upload, its journal, and the command to resume printed.
          assert.equal(h.uploads.length, 1, JSON.stringify(h));
          assert.equal(js.length, 1, 'the open upload has its journal');
          assert.ok(js[0].endsWith(`${h.uploads[0]}.journal`), 'the journal is the open upload\'s');
          assert.equal(statSync(js[0]).mode & 0o777, 0o600);
          assert.match(r.stderr, new RegExp(`Resume with: glacier-put -v ${vault} --resume[= ]${h.uploads[0].replace(/[-]/g, '\\-')} `));
          const again = await run('glacier-put', ['-v', vault, '--resume', file], { env });
          assert.equal(again.code, 0, show(again));
          const res = JSON.parse(again.stdout.toString('utf8')) as { archiveId: string; uploadId: string };
          assert.equal(res.uploadId, h.uploads[0], 'the same upload was completed');
          assert.ok((await readArchive(g, vault, res.archiveId)).equals(data), 'the resumed archive is exact');
          h = (await holdings(g))[vault];
        } else {
          assert.deepEqual(h.uploads, [], 'no dangling upload');
          assert.deepEqual(js, [], 'no journal without an upload');
        }
        // Never a corrupt archive: whatever archives exist hold exactly the input.
        assert.ok(h.archives <= 1, `at most one archive: ${JSON.stringify(h)}`);
        assert.deepEqual(journals(state), [], 'no journal left once the archive is complete');
        for (const id of await archiveIds(g, vault)) assert.ok((await readArchive(g, vault, id)).equals(data), `archive ${id} is exact`);
      });
    }
  });

  describe('SIGINT/SIGTERM at random moments of glacier-job output -o FILE', { concurrency: 2 }, () => {
    let local: Local;
    let g: GlacierClient;
    let dir: string;
    let data: Buffer;
    const jobIds: string[] = []; // one retrieval job per run, so that the request log tells the runs apart
    const V = 'sig-out';
    before(async () => {
      dir = join(work, 'sig-out');
      mkdirSync(dir, { recursive: true });
      local = await startLocal(['--memory', '--job-delay', '0']);
      g = local.client();
      await g.send(new CreateVaultCommand({ ...A, vaultName: V }));
      data = randomBytes(24 * MiB + 12_345);
      const up = await g.send(new UploadArchiveCommand({ ...A, vaultName: V, body: data, checksum: treeHash(data) }));
      for (let i = 0; i < 4; i++) jobIds.push(await startJob(g, V, { Type: 'archive-retrieval', ArchiveId: up.archiveId! }));
      // Each ranged GET waits 200 ms, then trickles its body: the whole output takes a few seconds.
      await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=200' });
    });
    after(() => local.stop());

    // As above: the first moment counted from the start, the others from the first GET of the job's output
    // (12 pieces of 2 MiB, 2 at a time, each answered after 200 ms and trickled: about 2-3 s in all).
    for (let i = 0; i < 4; i++) {
      const sig = i % 2 ? 'SIGINT' : 'SIGTERM';
      const delay = i === 0 ? 50 + Math.floor(Math.random() * 600) : Math.floor(Math.random() * 2800);
      const from = i === 0 ? 'its start' : 'its first GET';
      it(`${sig} ${delay} ms after ${from}: FILE absent or exact, and a rerun completes it`, { timeout: within(60_000) }, async (t) => {
        const file = join(dir, `out-${i}.bin`);
        const env = envOf(local, join(dir, 'state'));
        const args = ['output', '-v', V, '-o', file, '--piece-size', '2M', '-c', '2', '--', jobIds[i]];
        const s = start('glacier-job', args, { env });
        if (i > 0) await firstRequest(local, (e) => e.op === 'GetJobOutput' && e.jobId === jobIds[i], s);
        await sleep(delay);
        s.proc.kill(sig);
        const r = await s.done;
        assert.ok(r.code === 0 || interrupted(r, sig), `exit 0 or ${EXIT[sig]}\n${show(r)}`);
        assert.equal(r.stdout.length, 0, 'with -o nothing goes to stdout');
        if (r.code !== null && r.code !== 0) assert.match(oneLine(r, 'glacier-job', EXIT[sig]), /interrupted by SIG(INT|TERM)/);
        if (r.code === 0) assert.ok(existsSync(file), 'exit 0: FILE is there');
        const partial = existsSync(`${file}.partial`) ? statSync(`${file}.partial`).size : -1;
        t.diagnostic(r.code === 0 ? 'finished before the signal' : existsSync(file) ? 'interrupted after FILE was complete' : `interrupted, FILE.partial ${partial < 0 ? 'absent' : `of ${partial} bytes`}`);
        // Never a half-written FILE presented as complete: FILE exists only complete and exact. (Interrupted right
        // after its rename, a FILE.partial.json may stay beside it.)
        if (existsSync(file)) {
          assert.ok(readFileSync(file).equals(data), 'FILE is complete and exact');
          assert.ok(!existsSync(`${file}.partial`), 'no FILE.partial beside a complete FILE');
          if (r.code === 0) assert.ok(!existsSync(`${file}.partial.json`), 'a finished download leaves no FILE.partial.json');
        } else {
          const again = await run('glacier-job', args, { env });
          assert.equal(again.code, 0, show(again));
          assert.deepEqual(errorLines(again.stderr, 'glacier-job').filter((l) => !/^glacier-job: resuming /.test(l)), [], show(again));
          assert.ok(readFileSync(file).equals(data), 'the rerun completes FILE exactly');
          assert.ok(!existsSync(`${file}.partial`) && !existsSync(`${file}.partial.json`), 'the rerun cleans up FILE.partial and its record');
        }
      });
    }
  });

  // ---- 4. glacier-local: path traversal and bad signatures --------------------------------------------------------
  describe('glacier-local refuses path traversal and bad signatures', { concurrency: 1 }, () => {
    let local: Local;
    let g: GlacierClient;
    let root: string; // holds data/ and, beside it, a victim file that must survive
    let data: string;
    let uploadId: string;
    const TV = 'tv';
    const TV2 = 'tv2'; // empty, so that a request that reached it could delete it
    const victim = 'victim.txt';
    const esc = `escape-${randomBytes(4).toString('hex')}`;

    before(async () => {
      root = join(work, 'trav');
      data = join(root, 'data');
      mkdirSync(root, { recursive: true });
      writeFileSync(join(root, victim), 'must survive\n');
      local = await startLocal(['--data', data, '--job-delay', '0']);
      g = local.client();
      for (const vaultName of [TV, TV2]) await g.send(new CreateVaultCommand({ ...A, vaultName }));
      const r = await rawRequest(local.endpoint, { method: 'POST', path: `/-/vaults/${TV}/multipart-uploads`, headers: { 'x-amz-part-size': String(MiB) } });
      assert.equal(r.status, 201, r.body.toString());
      uploadId = String(r.headers['x-amz-multipart-upload-id']);
    });
    after(() => local.stop());

    /** What must not change: the files beside and inside the data dir, and what the store holds. */
    async function snapshot() {
      return {
        beside: readdirSync(root).sort(),
        inside: filesUnder(data).filter((f) => !/\.tmp-/.test(f)),
        victim: readFileSync(join(root, victim), 'utf8'),
        holdings: await holdings(g),
      };
    }
    function nowhere() {
      for (const d of [root, data, join(data, '..'), tmpdir(), work]) assert.ok(!existsSync(join(d, esc)), `nothing named ${esc} in ${d}`);
      assert.ok(!filesUnder(root).some((f) => f.includes(esc)), `nothing named ${esc} anywhere under ${root}`);
    }

    it('vault names and ids with .., %2e%2e, %2F: refused with a JSON error, nothing written anywhere', { timeout: within(60_000) }, async () => {
      const before = await snapshot();
      const vaultNames = ['..', '.', '%2e%2e', '%2E%2E', '.%2e', 'a%2Fb', `..%2F..%2F${esc}`, `%2e%2e%2f%2e%2e%2f${esc}`, `..%5C..%5C${esc}`, `${TV}%2F..%2F..%2F${esc}`];
      const ids = ['..', '%2e%2e', `..%2F..%2F..%2F${victim}`, `%2e%2e%2f%2e%2e%2f${esc}`, 'a%2Fb', `u%2F..%2F..%2F..%2F..%2F${esc}`, `${uploadId}%2F..%2F..`];
      const body = randomBytes(1000);
      const th = treeHash(body);
      const requests: { method: string; path: string; body?: Buffer; headers?: Record<string, string> }[] = [];
      for (const v of vaultNames) {
        requests.push(
          { method: 'PUT', path: `/-/vaults/${v}` },
          { method: 'GET', path: `/-/vaults/${v}` },
          { method: 'DELETE', path: `/-/vaults/${v}` },
          { method: 'POST', path: `/-/vaults/${v}/archives`, body, headers: { 'x-amz-sha256-tree-hash': th } },
          { method: 'POST', path: `/-/vaults/${v}/multipart-uploads`, headers: { 'x-amz-part-size': String(MiB) } },
          { method: 'POST', path: `/-/vaults/${v}/jobs`, body: Buffer.from(JSON.stringify({ Type: 'inventory-retrieval' })) },
        );
      }
      for (const id of ids) {
        requests.push(
          { method: 'DELETE', path: `/-/vaults/${TV}/archives/${id}` },
          { method: 'GET', path: `/-/vaults/${TV}/jobs/${id}` },
          { method: 'GET', path: `/-/vaults/${TV}/jobs/${id}/output` },
          { method: 'GET', path: `/-/vaults/${TV}/multipart-uploads/${id}` },
          { method: 'PUT', path: `/-/vaults/${TV}/multipart-uploads/${id}`, body, headers: { 'x-amz-sha256-tree-hash': th, 'content-range': `bytes 0-${body.length - 1}/*` } },
          { method: 'POST', path: `/-/vaults/${TV}/multipart-uploads/${id}`, headers: { 'x-amz-sha256-tree-hash': th, 'x-amz-archive-size': String(body.length) } },
          { method: 'DELETE', path: `/-/vaults/${TV}/multipart-uploads/${id}` },
        );
      }
      // ids whose dot segments would lead to another resource than the one the request names (and was signed for)
      for (const dots of ['%2e%2e', '%2E%2E', '..']) {
        requests.push(
          { method: 'DELETE', path: `/-/vaults/${TV}/archives/${dots}/${dots}/${TV2}` },
          { method: 'DELETE', path: `/-/vaults/${TV}/multipart-uploads/${uploadId}/${dots}/${dots}/${dots}/${TV2}` },
          { method: 'PUT', path: `/-/vaults/${TV}/jobs/${dots}/${dots}/${esc}` },
          { method: 'POST', path: `/-/vaults/${TV}/jobs/${dots}/${dots}/${TV2}/multipart-uploads`, headers: { 'x-amz-part-size': String(MiB) } },
          { method: 'DELETE', path: `/-/vaults/${TV}/multipart-uploads/${uploadId}/${dots}` },
        );
      }
      for (const q of requests) {
        const r = await rawRequest(local.endpoint, q);
        const what = `${q.method} ${q.path}: ${r.status} ${r.body.toString().slice(0, 300)}`;
        assert.ok(r.status === 400 || r.status === 404 || r.status === 416, `refused (400/404), signature accepted: ${what}`);
        assert.match(String(r.json?.code), /Exception$/, `a JSON error body: ${what}`);
      }
      // the admin API takes ids too
      for (const id of [`..%2F..%2F${esc}`, '%2e%2e', `..%2F..%2F..%2F${victim}`]) {
        for (const path of [`uploads/${id}/age`, `jobs/${id}/complete`, `jobs/${id}/fail`]) {
          const res = await local.adminResponse('POST', path, { seconds: 1 });
          assert.ok(res.status === 404 || res.status === 400, `admin POST ${path}: ${res.status}`);
        }
      }
      assert.deepEqual(await snapshot(), before, 'nothing changed beside or inside the data dir, nor in the store');
      nowhere();
      // and the open upload was not touched by any of it
      assert.deepEqual((await holdings(g))[TV].uploads, [uploadId]);
    });

    it('bad signatures are refused, and the request does nothing', { timeout: within(60_000) }, async () => {
      const before = await snapshot();
      const body = randomBytes(2000);
      const upload = { method: 'POST', path: `/-/vaults/${TV}/archives`, body, headers: { 'x-amz-sha256-tree-hash': treeHash(body) } };
      const create = { method: 'PUT', path: `/-/vaults/${esc}` };
      const cases: [string, Parameters<typeof rawRequest>[1], number, RegExp][] = [
        ['a wrong secret key', { ...upload, secret: 'the/wrong/secret' }, 403, /^InvalidSignatureException$/],
        ['a wrong secret key (create vault)', { ...create, secret: 'the/wrong/secret' }, 403, /^InvalidSignatureException$/],
        ['a forged signature', { ...create, mutate: (h) => (h.authorization = h.authorization.replace(/Signature=[0-9a-f]{64}/, `Signature=${'0'.repeat(64)}`)) }, 403, /^InvalidSignatureException$/],
        ['a truncated signature', { ...create, mutate: (h) => (h.authorization = h.authorization.replace(/(Signature=[0-9a-f]{63})[0-9a-f]/, '$1')) }, 403, /^InvalidSignatureException$/],
        ['a signed header changed after signing', { ...create, mutate: (h) => (h['x-amz-date'] = h['x-amz-date'].replace(/\d(Z)$/, (m) => `${(Number(m[0]) + 1) % 10}Z`)) }, 403, /^InvalidSignatureException$/],
        ['a body other than the one signed', { ...upload, mutate: (h) => (h['x-amz-content-sha256'] = 'a'.repeat(64)) }, 403, /Exception$/],
        ['no Authorization header', { ...create, mutate: (h) => delete h.authorization }, 400, /^MissingAuthenticationTokenException$/],
        ['a malformed Authorization header', { ...create, mutate: (h) => (h.authorization = 'AWS4-HMAC-SHA256 Credential=x') }, 400, /^IncompleteSignatureException$/],
        ['another algorithm', { ...create, mutate: (h) => (h.authorization = h.authorization.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')) }, 400, /^IncompleteSignatureException$/],
      ];
      for (const [what, opts, status, code] of cases) {
        const r = await rawRequest(local.endpoint, opts);
        assert.equal(r.status, status, `${what}: ${r.body.toString()}`);
        assert.match(String(r.json?.code), code, `${what}: ${r.body.toString()}`);
      }
      // through the SDK: an unknown access key, and a signature 20 minutes old
      const unknown = new GlacierClient({ endpoint: local.endpoint, region: REGION, maxAttempts: 1, credentials: { accessKeyId: 'AKIANOTKNOWNTOLOCAL1', secretAccessKey: 'x' } });
      await assert.rejects(unknown.send(new CreateVaultCommand({ ...A, vaultName: esc })), (e: Error) => e.name === 'UnrecognizedClientException');
      const stale = new GlacierClient({
        endpoint: local.endpoint, region: REGION, maxAttempts: 1, systemClockOffset: -20 * 60_000,
        credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: (local.env.AWS_SECRET_ACCESS_KEY as string) },
      });
      await assert.rejects(stale.send(new CreateVaultCommand({ ...A, vaultName: esc })), (e: Error) => e.name === 'InvalidSignatureException' && /Signature expired/.test(e.message));
      assert.deepEqual(await snapshot(), before, 'nothing stored, nothing created');
      nowhere();
    });
  });
});
