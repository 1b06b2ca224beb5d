// glacier-local: a Glacier-compatible server on this machine, for tests, demos and offline scripts.
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { STOP_SIGNALS, UsageError, type StopSignal } from '../core/errors.js';
import { durationArg, parseDuration } from '../core/units.js';
import { asList, run, type CliSpec } from '../cli/runtime.js';
import { parseFaultSpec, type FaultRule } from './faults.js';
import { DataDirBusyError } from './data-lock.js';
import { parseTierDelays } from './jobs.js';
import { GlacierLocal } from './server.js';
import { certificateFiles, selfSignedCertificate, type TlsMaterial } from './tls.js';
import { DiskVfs, MemoryVfs } from './vfs.js';

export const TEST_ACCESS_KEY_ID = 'AKIAGLACIERLOCAL0001';
/** 40 characters, as real secret access keys are (some clients check the length before sending anything). */
export const TEST_SECRET_ACCESS_KEY = 'glacierLocal/test/secret/not+secret/0001';

const usage = `Usage: glacier-local [--host 127.0.0.1] [--port 0] [--data DIR | --memory] [--job-delay DURATION]
                     [--faults SPEC]... [--page-size N] [--inventory live|snapshot] [--job-expiry DURATION]
                     [--tls | --tls-cert FILE --tls-key FILE] [--access-key-id ID --secret-access-key-file FILE]
                     [--admin] [--max-connections N]

A Glacier-compatible server (vault API 2012-06-01) on this machine. Prints its endpoint URL as the first line
of stdout, then serves until SIGHUP, SIGINT or SIGTERM; on stderr it says where it serves and the access key id it
accepts. Unmodified AWS SDKs and the AWS CLI talk to it.

Options:
  --host HOST              address to bind (default 127.0.0.1); any other than loopback prints a warning
                           naming what it exposes
  --port N                 port; 0 picks a free one (default 0)
  --data DIR               keep vaults in DIR; survives restarts, writes are crash-safe. One glacier-local at a
                           time: a second one on the same DIR exits 2 naming the holder's pid. Files are 0600
                           in 0700 folders
  --memory                 keep vaults in memory (the default when --data is not given); inventories too,
                           so use --data for vaults of millions of archives
  --job-delay SPEC         how long jobs take: one duration for every tier (0, 500ms, 30s) or per tier,
                           e.g. Expedited=1s,Standard=3s,Bulk=5s (the default)
  --job-expiry DURATION    how long a finished job stays; after it DescribeJob and GetJobOutput answer 404
                           (default 24h)
  --inventory MODE         live (default): inventories and vault counts are current; snapshot: they come from
                           the last snapshot (taken at start, by POST /_local/snapshot and every
                           --snapshot-interval), and DeleteVault waits for a snapshot without archives
  --snapshot-interval DURATION  with --inventory snapshot, take a snapshot this often (default: never)
  --faults SPEC            inject faults, repeatable: OP:KIND[:rate=R,count=N,skip=N,ms=N]; OP is an operation
                           name (UploadMultipartPart, GetJobOutput, ...) or *; KIND is 500, throttle, 408, drop,
                           slow (held ms=N; SIGTERM cuts it unrun), corrupt or repeat-marker (a listing
                           answers the same Marker on every page). Example: --faults UploadMultipartPart:500:rate=0.1
  --page-size N            default and largest page of every list operation (default: the service's)
  --checksum-rule RULE     when job output carries a tree hash: tree (developer guide, default) or megabyte
  --tls                    serve HTTPS with a self-signed certificate made at start (needs openssl); its path
                           is printed on stderr: give it to clients as AWS_CA_BUNDLE (the key stays in memory)
  --tls-cert FILE, --tls-key FILE   serve HTTPS with this PEM certificate and key
  --account-id ID          12-digit account id (default 123456789012)
  --access-key-id ID       the access key it accepts; else AWS_ACCESS_KEY_ID, else the test pair below
  --secret-access-key-file FILE
                           read its secret from FILE (first line); else AWS_SECRET_ACCESS_KEY, else the test
                           pair below. (--secret-access-key KEY is refused: every local user sees it in ps.)
  --body-timeout DURATION  answer 408 when an upload body stalls this long (default 60s)
  --max-connections N      connections served at once; more are closed at once (default 256). A request's
                           headers (and with --tls the handshake) must arrive within 10s
  --admin                  serve the admin API under /_local/ (off by default), signed like any request
  -h, --help / --version

Test key pair (used when neither options nor environment give one):
  AWS_ACCESS_KEY_ID=${TEST_ACCESS_KEY_ID}
  AWS_SECRET_ACCESS_KEY=${TEST_SECRET_ACCESS_KEY}

Admin API for tests (with --admin; under /_local/, SigV4-signed with the server's key pair, service glacier;
bodies are JSON with Content-Type: application/json): GET counters, DELETE counters, GET requests,
GET|PUT|POST|DELETE faults ({"spec":"..."}), PUT config ({"pageSize","jobDelay","jobDelays","checksumRule"}:
jobDelay a --job-delay SPEC such as "2s" or "Standard=2s"; jobDelays {"TIER": "2s" or milliseconds}),
POST jobs/ID/complete, POST jobs/ID/fail, POST uploads/ID/age ({"seconds":N}),
POST fill ({"vault","count","size","description"}: COUNT synthetic archives sharing one body; "{i}" in the
description is the archive's index), POST snapshot (with --inventory snapshot). With curl:
  curl --aws-sigv4 aws:amz:us-east-1:glacier --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
       -H 'Content-Type: application/json' -X PUT -d '{"spec":"UploadMultipartPart:500:count=1"}' URL/_local/faults

Example (the server runs in the background; its URL is the first line of the file):
  glacier-local --data /tmp/vaults --job-delay 0 > /tmp/glacier-local.url &
  until [ -s /tmp/glacier-local.url ]; do sleep 0.1; done; URL=$(head -1 /tmp/glacier-local.url)
  export AWS_ACCESS_KEY_ID=${TEST_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${TEST_SECRET_ACCESS_KEY}
  export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL_GLACIER="$URL"
  glacier-vault create demo                 # or: aws glacier create-vault --account-id - --vault-name demo
  kill %1
`;

const spec: CliSpec = {
  name: 'glacier-local',
  usage,
  string: [
    'host', 'port', 'data', 'job-delay', 'job-expiry', 'inventory', 'snapshot-interval', 'faults', 'page-size', 'checksum-rule', 'account-id',
    'access-key-id', 'secret-access-key', 'secret-access-key-file', 'body-timeout', 'tls-cert', 'tls-key', 'max-connections',
  ],
  boolean: ['memory', 'tls', 'admin'],
  repeatable: ['faults'],
  default: { host: '127.0.0.1', port: '0' },
};

function duration(argv: Record<string, unknown>, name: string, dflt: string, allowZero = false): number {
  return durationArg(`--${name}`, argv[name] ?? dflt, { positive: !allowZero });
}

run(spec, async (argv) => {
  if (argv._.length) throw new UsageError(`unexpected argument "${argv._[0]}" (see --help)`);
  if (argv.data && argv.memory) throw new UsageError('--data and --memory are exclusive');
  const port = Number(argv.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`invalid --port "${argv.port}"`);
  // A secret on the command line is readable by every local user (ps, /proc/PID/cmdline): refused.
  if (argv['secret-access-key'] !== undefined) {
    throw new UsageError('--secret-access-key would show the secret to every local user (ps): give it in AWS_SECRET_ACCESS_KEY or --secret-access-key-file FILE');
  }
  const accessKeyId = argv['access-key-id'] ?? process.env.AWS_ACCESS_KEY_ID ?? TEST_ACCESS_KEY_ID;
  let fromFile: string | undefined;
  if (argv['secret-access-key-file'] !== undefined) {
    try {
      fromFile = readFileSync(String(argv['secret-access-key-file']), 'utf8').split(/\r?\n/)[0];
    } catch (e) {
      throw new UsageError(`cannot read --secret-access-key-file ${argv['secret-access-key-file']}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!fromFile) throw new UsageError(`--secret-access-key-file ${argv['secret-access-key-file']} is empty: its first line is the secret`);
  }
  const secretAccessKey = fromFile ?? (argv['access-key-id'] ? undefined : process.env.AWS_SECRET_ACCESS_KEY) ?? (accessKeyId === TEST_ACCESS_KEY_ID ? TEST_SECRET_ACCESS_KEY : undefined);
  if (!secretAccessKey) throw new UsageError('an access key id was given without its secret: add --secret-access-key-file FILE');
  const maxConnections = Number(argv['max-connections'] ?? 256);
  if (!Number.isInteger(maxConnections) || maxConnections < 1) throw new UsageError(`invalid --max-connections "${argv['max-connections']}": a positive integer`);
  const accountId = argv['account-id'] ?? '123456789012';
  if (!/^\d{12}$/.test(accountId)) throw new UsageError(`invalid --account-id "${accountId}": 12 digits expected`);
  let pageSize: number | undefined;
  if (argv['page-size'] !== undefined) {
    pageSize = Number(argv['page-size']);
    if (!Number.isInteger(pageSize) || pageSize < 1) throw new UsageError(`invalid --page-size "${argv['page-size']}"`);
  }
  const rule = argv['checksum-rule'] ?? 'tree';
  if (rule !== 'tree' && rule !== 'megabyte') throw new UsageError(`invalid --checksum-rule "${rule}": tree or megabyte`);
  const inventory = argv.inventory ?? 'live';
  if (inventory !== 'live' && inventory !== 'snapshot') throw new UsageError(`invalid --inventory "${inventory}": live or snapshot`);
  if (argv['snapshot-interval'] !== undefined && inventory !== 'snapshot') throw new UsageError('--snapshot-interval needs --inventory snapshot');
  const snapshotIntervalMs = argv['snapshot-interval'] === undefined ? undefined : duration(argv, 'snapshot-interval', '');
  const bodyTimeoutMs = duration(argv, 'body-timeout', '60s');
  const jobExpiryMs = duration(argv, 'job-expiry', '24h');
  if ((argv['tls-cert'] === undefined) !== (argv['tls-key'] === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (argv.tls && argv['tls-cert'] !== undefined) throw new UsageError('--tls makes its own certificate: give it or --tls-cert/--tls-key, not both');
  let faults: FaultRule[] = [];
  let jobDelays;
  try {
    faults = asList(argv.faults).flatMap(parseFaultSpec);
    if (argv['job-delay'] !== undefined) jobDelays = parseTierDelays(String(argv['job-delay']), parseDuration);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let tls: TlsMaterial | undefined;
  try {
    if (argv.tls) tls = await selfSignedCertificate(String(argv.host));
    else if (argv['tls-cert'] !== undefined) tls = await certificateFiles(String(argv['tls-cert']), String(argv['tls-key']));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const vfs = argv.data ? new DiskVfs(String(argv.data)) : new MemoryVfs();
  const local = new GlacierLocal({
    vfs, accessKeyId, secretAccessKey, accountId, pageSize, jobDelays, checksumRule: rule, bodyTimeoutMs, faults, inventory, snapshotIntervalMs, jobExpiryMs, tls,
    admin: Boolean(argv.admin), maxConnections,
  });
  let endpoint: string;
  try {
    endpoint = await local.listen(port, String(argv.host));
  } catch (e) {
    if (e instanceof DataDirBusyError) throw new UsageError(e.message);
    throw e;
  }
  // The certificate's path goes out before the URL, so whoever waits for the URL finds it already written.
  if (argv.tls) process.stderr.write(`glacier-local: TLS certificate (self-signed, use as AWS_CA_BUNDLE): ${tls!.certPath}\n`);
  if (!isLoopback(String(argv.host))) {
    process.stderr.write(
      `glacier-local: warning: --host ${argv.host} is not loopback: other machines can reach the vault API${argv.admin ? ' and the admin API (/_local/)' : ''} over ${tls ? 'HTTPS' : 'plain HTTP'}, ${argv.data ? `with the data in ${argv.data}` : 'in memory'}, guarded only by the key pair${accessKeyId === TEST_ACCESS_KEY_ID ? ' (here the published test pair: anyone can sign)' : ''}\n`,
    );
  }
  process.stdout.write(`${endpoint}\n`);
  if (process.env.GLACIER_LOCAL_QUIET !== '1') {
    process.stderr.write(`glacier-local: serving on ${endpoint} (${argv.data ? `data in ${argv.data}` : 'in memory'}); accepts access key id ${accessKeyId}\n`);
  }
  await new Promise<void>((resolve) => {
    const stop = (sig: StopSignal) => {
      void local.close().finally(async () => {
        if (argv.tls) await rm(dirname(tls!.certPath), { recursive: true, force: true }).catch(() => {});
        process.exitCode = STOP_SIGNALS[sig];
        resolve();
      });
    };
    for (const sig of Object.keys(STOP_SIGNALS) as StopSignal[]) process.once(sig, stop);
  });
});

/** 127.0.0.0/8, ::1 and localhost (also in their IPv4-mapped IPv6 forms). */
function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^(::ffff:)?127\.\d+\.\d+\.\d+$/.test(h);
}
