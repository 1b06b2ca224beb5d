// glacier-local as strict as Glacier on the wire: a SigV4 canonical request hashed over the bytes the client sent
// (a UTF-8 description from the AWS CLI or boto3 reaches the description check, 400, not a signature mismatch,
// 403), the description column of a CSV inventory always quoted, and job delays in the admin API taken as
// durations, as --job-delay takes them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateVaultCommand, DescribeJobCommand, GetJobOutputCommand, InitiateJobCommand, UploadArchiveCommand, type GlacierClient } from '@aws-sdk/client-glacier';
import { boto3Version, findClis, isolatedEnv } from './helpers/aws-cli.js';
import { startLocal, type Local } from './helpers/local.js';
import { until, within } from './helpers/time.js';

let local: Local;
let g: GlacierClient;
let dir: string;
let env: NodeJS.ProcessEnv;

before(async () => {
  local = await startLocal(['--memory', '--job-delay', '0']);
  g = local.client();
  dir = mkdtempSync(join(tmpdir(), 'gl-wire-'));
  env = isolatedEnv(local.env, dir);
  writeFileSync(join(dir, 'body.bin'), 'an archive of a few bytes\n');
});

after(async () => {
  await local?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs a command to its end: exit code, stdout and stderr. */
function exec(cmd: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.once('error', reject);
    p.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const BOTO3 = `
import sys, json, boto3, botocore
c = boto3.client('glacier', endpoint_url=sys.argv[1], region_name='us-east-1')
try:
    r = c.upload_archive(vaultName=sys.argv[2], archiveDescription=sys.argv[3], body=b'an archive of a few bytes\\n')
    print(json.dumps({'archiveId': r['archiveId']}))
except botocore.exceptions.ClientError as e:
    print(json.dumps({'status': e.response['ResponseMetadata']['HTTPStatusCode'], 'code': e.response['Error']['Code']}))
`;

describe('a UTF-8 description signed by clients nobody here wrote', { concurrency: 3 }, () => {
  before(async () => {
    for (const v of ['wire-cli1', 'wire-cli2', 'wire-boto3']) await g.send(new CreateVaultCommand({ accountId: '-', vaultName: v }));
  });

  for (const major of [1, 2] as const) {
    it(`AWS CLI v${major}: "café" gets the description error (400 InvalidParameterValueException), "plain" is stored`, { timeout: within(120_000) }, async (t) => {
      const cli = findClis(env)[major];
      if (!cli) {
        t.skip(`AWS CLI v${major} is not installed (v2: apt-get install -y awscli; v1: pip install awscli)`);
        return;
      }
      t.diagnostic(`${cli.bin}: ${cli.version}`);
      const upload = (description: string) => exec(cli.bin, [
        'glacier', 'upload-archive', '--account-id', '-', '--vault-name', `wire-cli${major}`, `--archive-description=${description}`,
        '--body', join(dir, 'body.bin'), '--endpoint-url', local.endpoint, '--output', 'json',
      ]);
      const [cafe, plain] = await Promise.all([upload('café'), upload('plain')]);
      assert.notEqual(cafe.code, 0, cafe.stdout);
      assert.match(cafe.stderr, /\(InvalidParameterValueException\).*Invalid archive description/, cafe.stderr);
      assert.doesNotMatch(cafe.stderr, /Signature/);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(JSON.parse(plain.stdout).archiveId, /^[A-Za-z0-9_-]{138}$/);
    });
  }

  it('boto3: "café" gets 400 InvalidParameterValueException, "plain" is stored', { timeout: within(120_000) }, async (t) => {
    const version = boto3Version(env);
    if (!version) {
      t.skip('boto3 is not installed (pip install boto3)');
      return;
    }
    t.diagnostic(`boto3 ${version}`);
    const upload = async (description: string) => {
      const r = await exec('python3', ['-c', BOTO3, local.endpoint, 'wire-boto3', description]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as { archiveId?: string; status?: number; code?: string };
    };
    const [cafe, plain] = await Promise.all([upload('café'), upload('plain')]);
    assert.deepEqual(cafe, { status: 400, code: 'InvalidParameterValueException' });
    assert.match(plain.archiveId ?? '', /^[A-Za-z0-9_-]{138}$/);
  });
});

describe('CSV inventory', () => {
  it('quotes the description column on every row, a plain word and an empty description too', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'wire-csv' }));
    const body = Buffer.from('x');
    const ids: Record<string, string> = {};
    for (const d of ['plain', '', 'a,b', 'say "hi"', 'back\\slash']) {
      ids[d] = (await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: 'wire-csv', archiveDescription: d || undefined, body }))).archiveId!;
    }
    const { jobId } = await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'wire-csv', jobParameters: { Type: 'inventory-retrieval', Format: 'CSV' } }));
    await until(async () => (await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'wire-csv', jobId }))).Completed, 'the inventory job to complete');
    const out = await g.send(new GetJobOutputCommand({ accountId: '-', vaultName: 'wire-csv', jobId }));
    const rows = (await out.body!.transformToString()).split('\n').filter((l) => l !== '');
    assert.equal(rows[0], 'ArchiveId,ArchiveDescription,CreationDate,Size,SHA256TreeHash');
    const expected: Record<string, string> = { plain: '"plain"', '': '""', 'a,b': '"a,b"', 'say "hi"': '"say \\"hi\\""', 'back\\slash': '"back\\slash"' };
    for (const [d, id] of Object.entries(ids)) {
      const row = rows.find((r) => r.startsWith(`${id},`));
      assert.ok(row, `a row for ${JSON.stringify(d)}`);
      assert.match(row, new RegExp(`^${id},${expected[d].replace(/[\\"]/g, '\\$&')},\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z,1,[0-9a-f]{64}$`), row);
    }
    assert.equal(rows.length, 6);
  });
});

describe('admin API job delays', () => {
  type Config = { jobDelays: Record<string, number> };

  it('takes durations as --job-delay does ("2s", TIER=DURATION), and milliseconds as before', async () => {
    let c = await local.admin<Config>('PUT', 'config', { jobDelay: '2s' });
    assert.deepEqual(c.jobDelays, { Expedited: 2000, Standard: 2000, Bulk: 2000 });
    c = await local.admin<Config>('PUT', 'config', { jobDelay: 'Standard=250ms,Bulk=1h' });
    assert.deepEqual(c.jobDelays, { Expedited: 2000, Standard: 250, Bulk: 3_600_000 }, 'tiers not named keep their delay');
    c = await local.admin<Config>('PUT', 'config', { jobDelays: { Expedited: '1m30s', Standard: 1500 } });
    assert.deepEqual(c.jobDelays, { Expedited: 90_000, Standard: 1500, Bulk: 3_600_000 });
    c = await local.admin<Config>('PUT', 'config', { jobDelay: '0' });
    assert.deepEqual(c.jobDelays, { Expedited: 0, Standard: 0, Bulk: 0 });
  });

  it('a delay set as a duration is the one jobs take', async () => {
    await g.send(new CreateVaultCommand({ accountId: '-', vaultName: 'wire-delay' }));
    const start = async () => (await g.send(new InitiateJobCommand({ accountId: '-', vaultName: 'wire-delay', jobParameters: { Type: 'inventory-retrieval' } }))).jobId!;
    const completed = async (jobId: string) => (await g.send(new DescribeJobCommand({ accountId: '-', vaultName: 'wire-delay', jobId }))).Completed;
    try {
      await local.admin('PUT', 'config', { jobDelay: '1h' });
      const slow = await start();
      await local.admin('PUT', 'config', { jobDelays: { Standard: '0' } });
      const fast = await start();
      await until(() => completed(fast), 'the job started with a delay of "0" to complete');
      assert.equal(await completed(slow), false, 'the job started with a delay of "1h" is still in progress');
    } finally {
      await local.admin('PUT', 'config', { jobDelay: '0' });
    }
  });

  it('refuses what is not a duration (a bare number in a string has no unit), naming the forms', async () => {
    for (const bad of [{ jobDelay: '2' }, { jobDelay: 'soon' }, { jobDelay: 'Fast=2s' }, { jobDelays: { Bulk: 'soon' } }, { jobDelays: { Bulk: -1 } }, { jobDelay: true }]) {
      const r = await local.adminResponse('PUT', 'config', bad);
      assert.equal(r.status, 400, JSON.stringify(bad));
      assert.match((r.json as { message: string }).message, /with a unit|--job-delay|tier|Expedited/, JSON.stringify(r.json));
    }
    const c = await local.admin<Config>('PUT', 'config', {});
    assert.deepEqual(c.jobDelays, { Expedited: 0, Standard: 0, Bulk: 0 }, 'a refused body changed nothing');
  });
});
