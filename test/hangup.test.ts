// SIGHUP (a closed terminal, a dropped ssh session) stops every binary as Ctrl-C does: exit 129 with one line,
// journals and state kept, temp files and locks removed, and the same command continues. Unhandled, node's default
// for SIGHUP killed a binary on the spot: glacier-restore left its folder lock and temp files behind, glacier-put
// said nothing of the upload left open, glacier-local left its data folder locked.
import { CreateVaultCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MiB, treeHash } from '../src/core/tree-hash.js';
import { run, show, start } from './helpers/bins.js';
import { BIN, openUploads, startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const A = { accountId: '-' };

/** Whether process `pid` has a SIGHUP pending, not yet delivered (/proc/PID/status; false once it is gone). */
function hupPending(pid: number): boolean {
  try {
    return /^(SigPnd|ShdPnd):\s*[0-9a-f]*[13579bdf]$/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

describe('SIGHUP: exit 129, what a rerun needs kept, nothing else left', { timeout: within(180_000) }, () => {
  let local: Local;
  let g: GlacierClient;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gp-hangup-'));
    local = await startLocal(['--memory', '--job-delay', '0']);
    g = local.client();
    env = { ...local.env, XDG_STATE_HOME: join(dir, 'state'), GLACIER_CATALOGUE: join(dir, 'catalogue.jsonl') };
  });
  after(async () => {
    await local?.kill9();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('glacier-put: the upload kept open with its journal, and --resume completes it exactly', async () => {
    await g.send(new CreateVaultCommand({ ...A, vaultName: 'hup-put' }));
    const data = randomBytes(12 * MiB + 777);
    const file = join(dir, 'big.bin');
    writeFileSync(file, data);
    await local.admin('DELETE', 'counters');
    await local.admin('PUT', 'faults', { spec: 'UploadMultipartPart:slow:ms=300' });
    try {
      const s = start('glacier-put', ['-v', 'hup-put', '-p', '1M', '-c', '2', file], { env });
      // Hung up once parts have landed (glacier-local counts a part as it arrives), however long node takes to start here.
      await until(async () => ((await local.counters()).UploadMultipartPart ?? 0) >= 4 || s.proc.exitCode !== null, 'two parts to land (-c 2: a third asked for once one landed)', 60_000);
      s.proc.kill('SIGHUP');
      const r = await s.done;
      assert.equal(r.code, 129, show(r));
      assert.match(r.stderr, /^glacier-put: interrupted; the parts sent so far are kept\. Resume with: glacier-put -v hup-put --resume/m, show(r));
      const open = await openUploads(g, 'hup-put');
      assert.equal(open.length, 1, 'one upload left open, to resume');
      await local.admin('PUT', 'faults', { spec: '' });
      const again = await run('glacier-put', ['-v', 'hup-put', '--resume', file], { env });
      assert.equal(again.code, 0, show(again));
      const res = JSON.parse(again.stdout.toString('utf8')) as { uploadId: string; checksum: string };
      assert.equal(res.uploadId, open[0], 'the upload left open was completed');
      assert.equal(res.checksum, treeHash(data));
      assert.deepEqual(await openUploads(g, 'hup-put'), []);
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('glacier-job output -o FILE: FILE.partial kept, no FILE, and the rerun completes it', async () => {
    await g.send(new CreateVaultCommand({ ...A, vaultName: 'hup-job' }));
    const data = randomBytes(8 * MiB + 5);
    const { archiveId } = await g.send(new UploadArchiveCommand({ ...A, vaultName: 'hup-job', body: data, checksum: treeHash(data) }));
    const job = await run('glacier-job', ['retrieve', '-v', 'hup-job', '--', archiveId!], { env });
    assert.equal(job.code, 0, show(job));
    const jobId = JSON.parse(job.stdout.toString('utf8')).JobId as string;
    const file = join(dir, 'out.bin');
    const args = ['output', '-v', 'hup-job', '-o', file, '--piece-size', '1M', '-c', '1', '--', jobId];
    await local.admin('DELETE', 'counters');
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=300' });
    try {
      const s = start('glacier-job', args, { env });
      await until(async () => ((await local.counters()).GetJobOutput ?? 0) >= 3 || s.proc.exitCode !== null, 'three pieces asked for', 60_000);
      s.proc.kill('SIGHUP');
      const r = await s.done;
      assert.equal(r.code, 129, show(r));
      assert.match(r.stderr, /^glacier-job: interrupted by SIGHUP[^\n]*\n$/, show(r));
      assert.ok(!existsSync(file), 'no FILE before it is whole and verified');
      assert.ok(existsSync(`${file}.partial`), 'the verified prefix is kept for the rerun');
      await local.admin('PUT', 'faults', { spec: '' });
      const again = await run('glacier-job', args, { env });
      assert.equal(again.code, 0, show(again));
      assert.match(again.stderr, /resuming/, 'the rerun continued from FILE.partial');
      assert.ok(readFileSync(file).equals(data), 'FILE is exact');
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('glacier-restore --to DIR: the folder lock and temp files removed, and the same command finishes the rest', async () => {
    await g.send(new CreateVaultCommand({ ...A, vaultName: 'hup-restore' }));
    const bytes = new Map<string, Buffer>();
    const lines: string[] = [];
    for (let i = 0; i < 6; i++) {
      const body = randomBytes(200_000 + i);
      const { archiveId } = await g.send(new UploadArchiveCommand({ ...A, vaultName: 'hup-restore', body, checksum: treeHash(body), archiveDescription: `f${i}.bin` }));
      bytes.set(`f${i}.bin`, body);
      lines.push(JSON.stringify({ ArchiveId: archiveId, ArchiveDescription: `f${i}.bin`, CreationDate: `2026-01-0${i + 1}T00:00:00Z`, Size: body.length, SHA256TreeHash: treeHash(body) }));
    }
    const to = join(dir, 'restored');
    const args = ['-v', 'hup-restore', '--to', to, '--interval', '200ms', '-c', '1'];
    const input = `${lines.join('\n')}\n`;
    await local.admin('PUT', 'faults', { spec: 'GetJobOutput:slow:ms=400' });
    try {
      const s = start('glacier-restore', args, { env, input });
      let out = '';
      s.proc.stdout!.on('data', (d: Buffer) => (out += d));
      await until(() => out.includes('"status":"done"') || s.proc.exitCode !== null, 'a first archive restored', 60_000);
      s.proc.kill('SIGHUP');
      const r = await s.done;
      assert.equal(r.code, 129, show(r));
      assert.match(r.stderr, /interrupted by SIGHUP/, show(r));
      const left = readdirSync(to);
      assert.deepEqual(left.filter((n) => n.startsWith('.glacier-restore')), [], `no lock or temp file left: ${left.join(' ')}`);
      const first = out.split('\n').filter((l) => l.includes('"status":"done"')).length;
      assert.ok(first >= 1 && first < 6, `stopped mid-run (${first} done)`);
      await local.admin('PUT', 'faults', { spec: '' });
      const again = await run('glacier-restore', args, { env, input });
      assert.equal(again.code, 0, show(again));
      const summary = JSON.parse(again.stdout.toString('utf8').trim().split('\n').pop()!) as { done: number; doneBefore: number };
      assert.equal(summary.done, 6);
      assert.equal(summary.doneBefore, first, 'what the first run did is not done again');
      for (const [name, body] of bytes) assert.ok(readFileSync(join(to, name)).equals(body), name);
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  /**
   * Runs the binary `name` with `args` on a terminal of its own (a pty) and closes the terminal mid-run: the kernel
   * hangs it up, and every later write to it fails (EIO). stdin is the file `o.input` (else the terminal); stdout
   * and stderr go to the file `o.output` (else the terminal). The terminal is closed once a line on it says bytes
   * have come, or, with `o.waitFor`, once that file exists. `o.detached`: the run is in a session of its own (as
   * under setsid), so no SIGHUP reaches it; else the terminal is its controlling one and it gets SIGHUP.
   * Resolves with its exit status (negative: killed by that signal) and what the terminal showed.
   */
  async function closedTerminal(name: string, args: string[], o: { input?: string; output?: string; waitFor?: string; detached: boolean }): Promise<{ exit: number; seen: string }> {
    const script = join(dir, 'on-terminal.py');
    writeFileSync(
      script,
      [
        'import json, os, pty, select, signal, sys',
        'env = os.environ',
        'status = env["STATUS"]',
        'pid, fd = pty.fork()',
        'if pid == 0:',
        '    if env.get("INPUT"):',
        '        os.dup2(os.open(env["INPUT"], os.O_RDONLY), 0)',
        '    if env.get("OUTPUT"):',
        '        out = os.open(env["OUTPUT"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)',
        '        os.dup2(out, 1)',
        '        os.dup2(out, 2)',
        '    if env["DETACHED"] == "1":',
        '        signal.signal(signal.SIGHUP, signal.SIG_IGN)',
        '        g = os.fork()',
        '        if g == 0:',
        '            os.setsid()',
        '            signal.signal(signal.SIGHUP, signal.SIG_DFL)',
        '            os.execv(sys.argv[1], sys.argv[1:])',
        '        _, st = os.waitpid(g, 0)',
        '        open(status, "w").write(str(os.waitstatus_to_exitcode(st)))',
        '        os._exit(0)',
        '    os.execv(sys.argv[1], sys.argv[1:])',
        'seen = b""',
        'def ready():',
        '    return os.path.exists(env["WAIT_FOR"]) if env.get("WAIT_FOR") else b"iB of" in seen',
        'while not ready():',
        '    if select.select([fd], [], [], 0.02)[0]:',
        '        try:',
        '            d = os.read(fd, 65536)',
        '        except OSError:',
        '            break',
        '        if not d:',
        '            break',
        '        seen += d',
        'os.close(fd)',
        '_, st = os.waitpid(pid, 0)',
        'code = int(open(status).read()) if env["DETACHED"] == "1" else os.waitstatus_to_exitcode(st)',
        'print(json.dumps({"exit": code, "seen": seen.decode(errors="replace")[-2000:]}))',
      ].join('\n'),
    );
    const status = join(dir, `status-${Date.now()}`);
    const extra = { INPUT: o.input ?? '', OUTPUT: o.output ?? '', WAIT_FOR: o.waitFor ?? '', STATUS: status, DETACHED: o.detached ? '1' : '0' };
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn('python3', [script, process.execPath, BIN(name), ...args], { env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(r.code, 0, r.stderr);
    const res = JSON.parse(r.stdout) as { exit: number; seen: string };
    if (!o.waitFor) assert.match(res.seen, /iB of/, 'the terminal closed mid-download');
    return res;
  }

  /** A 6 MiB archive in vault `vault` and the archives' line of it in a file: [file, bytes]. */
  async function oneArchive(vault: string): Promise<[string, Buffer]> {
    await g.send(new CreateVaultCommand({ ...A, vaultName: vault }));
    const body = randomBytes(6 * MiB + 3);
    const { archiveId } = await g.send(new UploadArchiveCommand({ ...A, vaultName: vault, body, checksum: treeHash(body), archiveDescription: 'tty.bin' }));
    const input = join(dir, `${vault}.jsonl`);
    writeFileSync(input, `${JSON.stringify({ ArchiveId: archiveId, ArchiveDescription: 'tty.bin', CreationDate: '2026-01-01T00:00:00Z', Size: body.length, SHA256TreeHash: treeHash(body) })}\n`);
    return [input, body];
  }

  it('a terminal that hangs up: glacier-restore on it ends 129 (not an abort of node), and the same command finishes', async () => {
    const [input, body] = await oneArchive('hup-tty');
    const to = join(dir, 'tty-restored');
    const args = ['-v', 'hup-tty', '--to', to, '--interval', '200ms', '--limit-rate', '1M'];
    const res = await closedTerminal('glacier-restore', args, { input, detached: false });
    // Before, this was -1 (killed by SIGHUP); handled but with the terminal left open, -6 or -11 (node aborted).
    assert.equal(res.exit, 129, res.seen);
    assert.deepEqual(readdirSync(to).filter((n) => n.startsWith('.glacier-restore')), [], 'no lock or temp file left');
    assert.ok(!existsSync(join(to, 'tty.bin')), 'stopped before the archive was whole');
    const again = await run('glacier-restore', args.filter((x) => x !== '--limit-rate' && x !== '1M'), { env, input: readFileSync(input) });
    assert.equal(again.code, 0, show(again));
    assert.ok(readFileSync(join(to, 'tty.bin')).equals(body), 'restored exactly');
  });

  it('a run in a session of its own (setsid) whose output is on a terminal that closes: goes on to the end, exit 0', async () => {
    const [input, body] = await oneArchive('hup-detached');
    const to = join(dir, 'detached-restored');
    const res = await closedTerminal('glacier-restore', ['-v', 'hup-detached', '--to', to, '--interval', '200ms', '--limit-rate', '1M'], { input, detached: true });
    // Before, the first progress line written after the close (EIO) ended it: -11, its locks left behind.
    assert.equal(res.exit, 0, res.seen);
    assert.ok(readFileSync(join(to, 'tty.bin')).equals(body), 'restored exactly');
    assert.deepEqual(readdirSync(to), ['tty.bin'], 'nothing else left');
  });

  it('a detached run whose stdin is a terminal that closes, its output in a file: finishes with exit 0, not an abort', async () => {
    const [input, body] = await oneArchive('hup-stdin');
    const archiveId = JSON.parse(readFileSync(input, 'utf8')).ArchiveId as string;
    const job = await run('glacier-job', ['retrieve', '-v', 'hup-stdin', '--', archiveId], { env });
    assert.equal(job.code, 0, show(job));
    const file = join(dir, 'stdin-tty.bin');
    const log = join(dir, 'stdin-tty.log');
    const args = ['output', '-v', 'hup-stdin', '-o', file, '--limit-rate', '1M', '--', JSON.parse(job.stdout.toString('utf8')).JobId as string];
    // Closed once the download has begun (FILE.partial made); nothing is written to the terminal after.
    const res = await closedTerminal('glacier-job', args, { output: log, waitFor: `${file}.partial`, detached: true });
    // Before, -6: node's assertion on the dead terminal at exit, after the work was done.
    assert.equal(res.exit, 0, readFileSync(log, 'utf8'));
    assert.ok(readFileSync(file).equals(body), 'FILE is exact');
    assert.equal(readFileSync(log, 'utf8'), '', 'nothing on stderr');
  });

  it('two SIGHUPs (a closed terminal sends two) during Initiate: the upload still aborted, nothing left in the vault', async () => {
    await g.send(new CreateVaultCommand({ ...A, vaultName: 'hup-twice' }));
    const file = join(dir, 'twice.bin');
    writeFileSync(file, randomBytes(3 * MiB));
    await local.admin('DELETE', 'counters');
    await local.admin('PUT', 'faults', { spec: 'InitiateMultipartUpload:slow:ms=1500' });
    try {
      const s = start('glacier-put', ['-v', 'hup-twice', '-p', '1M', file], { env });
      await until(async () => ((await local.admin<{ faults: Record<string, Record<string, number>> }>('GET', 'counters')).faults.InitiateMultipartUpload?.slow ?? 0) > 0 || s.proc.exitCode !== null, 'Initiate to reach glacier-local', 60_000);
      s.proc.kill('SIGHUP');
      // The second is sent once the first was delivered (not pending in /proc/PID/status), so the two never merge.
      await until(() => !hupPending(s.proc.pid!), 'the first SIGHUP delivered', 30_000);
      s.proc.kill('SIGHUP');
      const r = await s.done;
      // Before, the second SIGHUP exited at once: the upload Glacier opened was left, with no journal and no line.
      assert.equal(r.code, 129, show(r));
      assert.match(r.stderr, /^glacier-put: interrupted by SIGHUP/m, show(r));
      await local.admin('PUT', 'faults', { spec: '' });
      assert.deepEqual(await openUploads(g, 'hup-twice'), [], 'nothing left open in the vault');
    } finally {
      await local.admin('PUT', 'faults', { spec: '' });
    }
  });

  it('glacier-local --tls: exit 129 after two SIGHUPs, its data folder free at once and its certificate removed', async () => {
    const data = join(dir, 'local-data');
    const first = await startLocal(['--data', data, '--job-delay', '0'], { tls: true });
    let second: Local | undefined;
    try {
      first.proc.kill('SIGHUP');
      await until(() => first.proc.exitCode !== null || !hupPending(first.proc.pid!), 'the first SIGHUP delivered', 30_000);
      if (first.proc.exitCode === null) first.proc.kill('SIGHUP');
      const code = await new Promise<number | null>((r) => (first.proc.exitCode !== null || first.proc.signalCode !== null ? r(first.proc.exitCode) : first.proc.once('exit', (c) => r(c))));
      assert.equal(code, 129, first.stderr());
      // A lock left by a killed server would be taken over only after its owner is found dead; this one is gone.
      assert.deepEqual(readdirSync(data).filter((n) => /lock/i.test(n)), [], readdirSync(data).join(' '));
      assert.ok(!existsSync(dirname(first.ca!)), `the certificate's folder ${dirname(first.ca!)} is removed`);
      second = await startLocal(['--data', data, '--job-delay', '0']);
      await second.client().send(new CreateVaultCommand({ ...A, vaultName: 'after-hup' }));
    } finally {
      await first.kill9().catch(() => {});
      await second?.stop();
    }
  });
});
