// Where the binaries take the CA they trust from, as the AWS CLI does: AWS_CA_BUNDLE, else `ca_bundle` in the
// profile. Without it a self-signed glacier-local is refused with one line; a bundle that cannot be read is a
// usage error. (The put suite runs whole over TLS in put-tls.test.ts, and job output in job-tls.test.ts.)
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateVaultCommand } from '@aws-sdk/client-glacier';
import { MiB } from '../src/core/tree-hash.js';
import { errorLines, run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('TLS trust', () => {
  let local: Local;
  let dir: string;
  let envNoCa: NodeJS.ProcessEnv;
  before(async () => {
    local = await startLocal(['--memory', '--job-delay', '0'], { tls: true });
    await local.client().send(new CreateVaultCommand({ accountId: '-', vaultName: 'tls' }));
    dir = mkdtempSync(join(tmpdir(), 'gp-tls-'));
    envNoCa = { ...local.env, AWS_CA_BUNDLE: undefined, AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') };
  });
  after(async () => {
    await local.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('ca_bundle in the profile: a multipart upload and its download over TLS', { timeout: within(60_000) }, async () => {
    const config = join(dir, 'config');
    writeFileSync(config, `[default]\nca_bundle = ${local.env.AWS_CA_BUNDLE}\n`);
    const env = { ...envNoCa, AWS_CONFIG_FILE: config };
    const data = randomBytes(2 * MiB + 7);
    const put = await run('glacier-put', ['-v', 'tls', '-q', '-p', '1M'], { env, input: data });
    assert.equal(put.code, 0, show(put));
    const { archiveId } = JSON.parse(put.stdout.toString());
    const job = await run('glacier-job', ['retrieve', '-v', 'tls', '-q', '--', archiveId], { env });
    assert.equal(job.code, 0, show(job));
    const out = await run('glacier-job', ['output', '-v', 'tls', '-q', '--piece-size', '1M', '--', JSON.parse(job.stdout.toString()).JobId], { env });
    assert.equal(out.code, 0, show(out));
    assert.ok(out.stdout.equals(data));
  });

  it("glacier-local --tls keeps its private key in memory only: its folder holds the certificate, no key file", () => {
    const certDir = dirname(local.env.AWS_CA_BUNDLE!);
    assert.deepEqual(readdirSync(certDir), ['cert.pem']);
    assert.equal(statSync(certDir).mode & 0o777, 0o700);
  });

  it('no CA for a self-signed server: exit 1, one line naming the certificate problem', { timeout: within(60_000) }, async () => {
    const r = await run('glacier-put', ['-v', 'tls', '-q'], { env: { ...envNoCa, AWS_MAX_ATTEMPTS: '1' }, input: randomBytes(1000) });
    assert.equal(r.code, 1, show(r));
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^glacier-put: .*certificate/i);
  });

  it('an AWS_CA_BUNDLE that cannot be read: exit 2, one line naming it', { timeout: within(60_000) }, async () => {
    const missing = join(dir, 'no-such-ca.pem');
    const r = await run('glacier-put', ['-v', 'tls', '-q'], { env: { ...envNoCa, AWS_CA_BUNDLE: missing }, input: randomBytes(1000) });
    assert.equal(r.code, 2, show(r));
    const lines = errorLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].startsWith('glacier-put: ') && lines[0].includes(missing), lines[0]);
  });
});
