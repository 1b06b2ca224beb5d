// npm run demo: the whole round trip on a glacier-local started for the occasion. Packs a folder, uploads it
// through a pipe, retrieves it, unpacks it and compares it with the original, byte for byte. Cleans up after.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, lstatSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin');
const KEY = 'AKIAGLACIERLOCAL0001';
const SECRET = 'glacierLocal/test/secret/not+secret/0001';

const say = (s: string) => process.stdout.write(`${s}\n`);
const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

function makeTree(dir: string): void {
  mkdirSync(join(dir, 'docs/notes'), { recursive: true });
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'photos'));
  const lines: string[] = [];
  for (let i = 0; i < 40_000; i++) lines.push(`${i}\tentry number ${i} of the demo ledger, balance ${(i * 7919) % 100_003}`);
  writeFileSync(join(dir, 'docs/ledger.tsv'), lines.join('\n'));
  writeFileSync(join(dir, 'docs/notes/readme.txt'), 'glacier-pipes demo\n');
  writeFileSync(join(dir, 'docs/notes/naïve café.txt'), 'non-ASCII names survive\n');
  // Incompressible, like photos: SHA-256 in counter mode.
  const noise = Buffer.alloc(4 * 2 ** 20);
  for (let i = 0; i < noise.length; i += 32) createHash('sha256').update(String(i)).digest().copy(noise, i);
  writeFileSync(join(dir, 'photos/holiday.raw'), noise);
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  symlinkSync('docs/notes/readme.txt', join(dir, 'README-link'));
}

/** Every entry under dir: type, mode, size, content hash or link target. */
function fingerprint(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) out.set(rel, `link ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.set(rel, `dir ${(st.mode & 0o7777).toString(8)}`);
        walk(p);
      } else out.set(rel, `file ${(st.mode & 0o7777).toString(8)} ${st.size} ${Math.floor(st.mtimeMs / 1000)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

function sh(script: string, env: NodeJS.ProcessEnv): { stdout: string; ms: number } {
  const t0 = Date.now();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`step failed (exit ${r.status}): ${script}`);
  return { stdout: r.stdout, ms: Date.now() - t0 };
}

async function main(): Promise<number> {
  const work = mkdtempSync(join(tmpdir(), 'glacier-pipes-demo-'));
  const local = spawn(process.execPath, [join(BIN, 'glacier-local'), '--data', join(work, 'vaults'), '--job-delay', 'Expedited=1s'], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET },
  });
  try {
    const endpoint = await new Promise<string>((resolve, reject) => {
      createInterface({ input: local.stdout! }).once('line', resolve);
      local.once('exit', (c) => reject(new Error(`glacier-local exited ${c}`)));
    });
    const env = {
      ...process.env, PATH: `${BIN}:${process.env.PATH}`, AWS_ACCESS_KEY_ID: KEY, AWS_SECRET_ACCESS_KEY: SECRET, AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_GLACIER: endpoint, XDG_STATE_HOME: join(work, 'state'), AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    delete (env as NodeJS.ProcessEnv).AWS_PROFILE;
    say(`1. glacier-local is serving ${endpoint} (vaults in ${join(work, 'vaults')})`);
    const src = join(work, 'folder');
    makeTree(src);
    const before = fingerprint(src);
    const srcBytes = [...before.values()].filter((v) => v.startsWith('file')).reduce((n, v) => n + Number(v.split(' ')[2]), 0);
    say(`2. made a folder to back up: ${before.size} entries, ${mib(srcBytes)} (text, noise, an empty folder, a symlink, an executable, a non-ASCII name)`);
    sh('glacier-vault create demo > /dev/null', env);
    say('3. glacier-vault create demo');
    const put = sh(`cd ${work} && glacier-pack folder | glacier-put -v demo -d "demo folder $(date +%F)"`, env);
    const result = JSON.parse(put.stdout) as { archiveId: string; size: number; checksum: string; parts: number };
    say(`4. glacier-pack folder | glacier-put -v demo: ${mib(result.size)} of tar.xz in ${result.parts} part(s), ${put.ms} ms`);
    say(`   archive id ${result.archiveId.slice(0, 32)}...  tree hash ${result.checksum.slice(0, 16)}...`);
    const out = join(work, 'restored');
    mkdirSync(out);
    const get = sh(`glacier-job get -v demo --tier Expedited --interval 250ms -q -- ${result.archiveId} | tar -xJf - -C ${out}`, env);
    say(`5. glacier-job get -v demo ARCHIVE | tar -xJf -: retrieved, verified against Glacier's tree hashes and unpacked in ${get.ms} ms`);
    const after = fingerprint(join(out, 'folder'));
    const diffs = [...new Set([...before.keys(), ...after.keys()])].filter((k) => before.get(k) !== after.get(k));
    if (diffs.length) {
      say(`6. MISMATCH in ${diffs.length} entries: ${diffs.slice(0, 5).join(', ')}`);
      return 1;
    }
    say(`6. compared ${before.size} entries (contents, modes, mtimes, link): identical`);
    say('round trip verified');
    return 0;
  } finally {
    local.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`demo: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
