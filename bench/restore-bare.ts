// The bare loop for `npm run bench -- restore`: the requests glacier-restore makes for each archive (InitiateJob,
// DescribeJob, GetJobOutput) and the file it writes, `-c` archives at a time through one SDK client, with none of
// the restore's logic (no journal, no verification, no names). Reads archive lines on stdin.
// Run: node dist/bench/restore-bare.js VAULT DIR CONCURRENCY [durable|plain] < lines
// - durable (the default): each file as glacier-restore writes it for it to survive a crash: written to NAME.partial
//   (O_EXCL, 0600), fdatasync'd, renamed to NAME, and the folder fsync'd.
// - plain: written to NAME.partial and renamed to NAME, nothing fsync'd (what a loop that does not care writes).
import { DescribeJobCommand, GetJobOutputCommand, GlacierClient, InitiateJobCommand } from '@aws-sdk/client-glacier';
import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const [vault, dir, c, how = 'durable'] = process.argv.slice(2);
const durable = how === 'durable';
const client = new GlacierClient({});
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
await fsp.mkdir(dir, { recursive: true });
const folder = await fsp.open(dir, 'r');

async function worker(): Promise<void> {
  for (;;) {
    const n = await lines.next();
    if (n.done) return;
    if (!n.value.trim()) continue;
    const a = JSON.parse(n.value) as { ArchiveId: string; Size: number };
    const { jobId } = await client.send(new InitiateJobCommand({ accountId: '-', vaultName: vault, jobParameters: { Type: 'archive-retrieval', ArchiveId: a.ArchiveId, Tier: 'Bulk' } }));
    for (;;) {
      const d = await client.send(new DescribeJobCommand({ accountId: '-', vaultName: vault, jobId }));
      if (d.StatusCode === 'Succeeded') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const out = await client.send(new GetJobOutputCommand({ accountId: '-', vaultName: vault, jobId, range: `bytes=0-${a.Size - 1}` }));
    const body = await out.body!.transformToByteArray();
    const name = join(dir, createHash('sha256').update(a.ArchiveId).digest('hex').slice(0, 32));
    if (durable) {
      const fh = await fsp.open(`${name}.partial`, 'wx', 0o600);
      await fh.write(body);
      await fh.datasync();
      await fh.close();
      await fsp.rename(`${name}.partial`, name);
      await folder.sync();
    } else {
      await fsp.writeFile(`${name}.partial`, body, { mode: 0o600 });
      await fsp.rename(`${name}.partial`, name);
    }
  }
}
await Promise.all(Array.from({ length: Number(c) }, worker));
await folder.close();
