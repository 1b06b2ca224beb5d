// The AWS CLI installs on this machine (v1 from pip/pyenv, v2 from Debian's `awscli`), found by version, and an
// environment that shields them from the machine's ~/.aws and profile variables.
import { accessSync, constants, realpathSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { delimiter, join } from 'node:path';
import { within } from './time.js';

/** `base` with AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE as empty files in `home`, profiles and CA unset. */
export function isolatedEnv(base: NodeJS.ProcessEnv, home: string): NodeJS.ProcessEnv {
  const env = { ...base };
  for (const k of ['AWS_PROFILE', 'AWS_DEFAULT_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN', 'AWS_CA_BUNDLE', 'AWS_ENDPOINT_URL']) delete env[k];
  writeFileSync(join(home, 'config'), '');
  writeFileSync(join(home, 'credentials'), '');
  return { ...env, AWS_CONFIG_FILE: join(home, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'), AWS_PAGER: '', AWS_CLI_AUTO_PROMPT: 'off' };
}

/** Each `aws` on PATH (and Debian's /usr/bin/aws), by major version: v1 is the first 1.x found, v2 prefers /usr/bin/aws. */
export function findClis(env: NodeJS.ProcessEnv): Partial<Record<1 | 2, { bin: string; version: string }>> {
  const candidates = [...(env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, 'aws')), '/usr/bin/aws'];
  const found: Partial<Record<1 | 2, { bin: string; version: string }>> = {};
  const seen = new Set<string>();
  for (const path of candidates) {
    let bin: string;
    try {
      accessSync(path, constants.X_OK);
      bin = realpathSync(path); // /bin/aws is /usr/bin/aws on a merged-/usr system
    } catch {
      continue;
    }
    if (seen.has(bin)) continue;
    seen.add(bin);
    const r = spawnSync(bin, ['--version'], { env, encoding: 'utf8', timeout: within(60_000) });
    const version = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    const major = /^aws-cli\/1\./.test(version) ? 1 : /^aws-cli\/2\./.test(version) ? 2 : null;
    if (major && (!found[major] || (major === 2 && bin === '/usr/bin/aws'))) found[major] = { bin, version };
  }
  return found;
}

/** Whether `python3 -c 'import boto3'` works (the version when it does). */
export function boto3Version(env: NodeJS.ProcessEnv): string | undefined {
  const r = spawnSync('python3', ['-c', 'import boto3; print(boto3.__version__)'], { env, encoding: 'utf8', timeout: within(60_000) });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
