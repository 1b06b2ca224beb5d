// A server whose certificate chains to no trusted CA (glacier-local --tls) is named with the way to trust it, and
// a --ca-bundle that holds no PEM certificate is refused up front (exit 2), naming the file.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';

let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  local = await startLocal(['--memory'], { tls: true });
  work = mkdtempSync(join(tmpdir(), 'gp-tls-trust-'));
  // The certificate is not trusted: no AWS_CA_BUNDLE.
  env = { ...local.env, AWS_CA_BUNDLE: undefined, XDG_STATE_HOME: join(work, 'state') };
  delete env.AWS_CA_BUNDLE;
});
after(async () => {
  await local?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

it('glacier-ls against an untrusted certificate: exit 1, says to give its CA with --ca-bundle or AWS_CA_BUNDLE', async () => {
  const r = await run('glacier-ls', ['--endpoint-url', local.endpoint], { env });
  assert.equal(r.code, 1, show(r));
  assert.match(r.stderr, /^glacier-ls: .*self[- ]signed certificate.*: the TLS certificate of .* is not trusted; give its CA with --ca-bundle FILE or AWS_CA_BUNDLE\n$/);
});

for (const [what, content] of [['an empty', ''], ['a non-PEM', 'not a certificate\n']] as const) {
  it(`${what} --ca-bundle file: exit 2, naming the file`, async () => {
    const file = join(work, `bundle-${what.replace(/\W/g, '')}.pem`);
    writeFileSync(file, content);
    const r = await run('glacier-ls', ['--endpoint-url', local.endpoint, '--ca-bundle', file], { env });
    assert.equal(r.code, 2, show(r));
    assert.equal(r.stderr, `glacier-ls: --ca-bundle ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----): give a PEM file of CA certificates\n`);
  });
}
