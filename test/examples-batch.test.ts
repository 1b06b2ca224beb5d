// examples/kubernetes and examples/aws-batch: their one script (examples/restore-shard.sh) run for every index of each batch engine, with the
// environment that engine gives (JOB_COMPLETION_INDEX, AWS_BATCH_JOB_ARRAY_INDEX), against glacier-local, the
// inventory a file on the volume the tasks share (saved there once from the inventory job): every archive restored
// once (one retrieval job each, bytes exact); then one index run again with an empty state, as a task rescheduled
// on another node: it starts no job, fetches nothing (no archive, no inventory) and writes nothing.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run, sh, show, type Ran } from './helpers/bins.js';
import { ROOT, useLocal, type Local } from './helpers/local.js';
import { within } from './helpers/time.js';

const SHARDS = 3;
const ENGINES = [
  { dir: 'kubernetes', index: 'JOB_COMPLETION_INDEX' },
  { dir: 'aws-batch', index: 'AWS_BATCH_JOB_ARRAY_INDEX' },
];

let local: Local;
let work: string;
type Entry = { op: string; path?: string; status?: number };

describe('batch engine examples', () => {
  useLocal('examples-batch-', (l, w) => ([local, work] = [l, w]));

  for (const engine of ENGINES) {
    it(`examples/restore-shard.sh as examples/${engine.dir} runs it, for each ${engine.index} of ${SHARDS}: every archive once; an index rerun with an empty state repeats nothing`, { timeout: within(240_000) }, async () => {
      const vault = `batch-${engine.dir}`;
      const g = local.client();
      await g.send(new CreateVaultCommand({ accountId: '-', vaultName: vault }));
      const bytes = new Map<string, Buffer>();
      for (let i = 0; i < 24; i++) {
        const data = randomBytes(500 + i * 97);
        // Two archives share a description: their names must not depend on which shard restores them.
        const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: vault, body: data, archiveDescription: i < 2 ? 'same.txt' : `dir/f${i}.bin` }));
        bytes.set(r.archiveId!, data);
      }
      const env = { ...local.env, PATH: `${join(ROOT, 'bin')}:${dirname(process.execPath)}:${process.env.PATH}`, XDG_STATE_HOME: join(work, 'xdg') };
      const inv = await run('glacier-job', ['inventory', '-v', vault], { env });
      assert.equal(inv.code, 0, show(inv));
      const jobId = JSON.parse(inv.stdout.toString('utf8')).JobId as string;
      assert.equal((await run('glacier-job', ['wait', '-v', vault, '--interval', '200ms', '--', jobId], { env })).code, 0);
      await local.admin('DELETE', 'counters');

      const dest = join(work, engine.dir, 'dest');
      // The one script both engines run (examples/restore-shard.sh), with this engine's index variable.
      const script = join(ROOT, 'examples', 'restore-shard.sh');
      // The volume every task mounts: the inventory file on it, saved from INVENTORY_JOB by a task that finds none.
      const shared = join(work, engine.dir, 'volume');
      const inventory = join(shared, 'inventory.json');
      mkdirSync(shared, { recursive: true });
      const task = (k: number, stateDir: string, more: Record<string, string> = {}): Promise<Ran> =>
        sh('exec "$1" --interval 200ms', [script], { env: { ...env, VAULT: vault, DEST: dest, SHARDS: String(SHARDS), INVENTORY: inventory, INVENTORY_JOB: jobId, STATE_DIR: stateDir, [engine.index]: String(k), ...more } }).done;
      // Without an inventory file or a job to save one from: exit 2, saying what to do.
      const none = await task(0, join(work, engine.dir, 'state-none'), { INVENTORY_JOB: '' });
      assert.equal(none.code, 2, show(none));
      assert.match(none.stderr.toString(), /no inventory file .*inventory\.json: save one there \(glacier-job output/);
      // Every index at once, as the engine runs them.
      const runs = await Promise.all(Array.from({ length: SHARDS }, (_, k) => task(k, join(work, engine.dir, `state-${k}`))));
      const where = new Map<string, string>();
      runs.forEach((r, k) => {
        assert.equal(r.code, 0, `index ${k}: ${show(r)}`);
        for (const l of r.stdout.toString('utf8').trim().split('\n').map((x) => JSON.parse(x))) {
          if (l.summary) continue;
          assert.equal(l.status, 'done', JSON.stringify(l));
          assert.ok(!where.has(l.archiveId), `${l.archiveId} restored by two indexes`);
          where.set(l.archiveId, l.to);
        }
      });
      assert.equal(where.size, bytes.size, 'every archive restored by exactly one index');
      for (const [id, data] of bytes) assert.ok(readFileSync(where.get(id)!).equals(data), `${id} at ${where.get(id)}`);
      assert.equal(new Set(where.values()).size, bytes.size, 'each archive at its own path');
      const log = () => local.admin<Entry[]>('GET', 'requests').then((l) => l.filter((e) => e.path?.includes(`/vaults/${vault}/`)));
      const initiated = (await log()).filter((e) => e.op === 'InitiateJob' && (e.status ?? 0) < 300);
      assert.equal(initiated.length, bytes.size, 'one retrieval job per archive');
      assert.ok(statSync(inventory).isFile(), 'the inventory saved on the shared volume');

      // Index 1 again on "another node": its state is gone (a new, empty STATE_DIR).
      const stamp = new Map([...where.values()].map((p) => [p, `${statSync(p).ino}:${statSync(p).mtimeMs}`]));
      await local.admin('DELETE', 'counters');
      const again = await task(1, join(work, engine.dir, 'state-1-elsewhere'));
      assert.equal(again.code, 0, show(again));
      const lines = again.stdout.toString('utf8').trim().split('\n').map((x) => JSON.parse(x)).filter((l) => !l.summary);
      const mine = runs[1].stdout.toString('utf8').trim().split('\n').map((x) => JSON.parse(x)).filter((l) => !l.summary);
      assert.deepEqual(lines.map((l) => l.archiveId).sort(), mine.map((l) => l.archiveId).sort(), 'the same shard');
      for (const l of lines) assert.equal(l.status, 'done');
      const reqs = await log();
      assert.equal(reqs.filter((e) => e.op === 'InitiateJob').length, 0, 'no job started');
      // Nothing fetched: no archive's output, and not the inventory's either (the file on the volume is read).
      assert.deepEqual(reqs.filter((e) => e.op === 'GetJobOutput').map((e) => e.path), []);
      for (const [p, s] of stamp) assert.equal(`${statSync(p).ino}:${statSync(p).mtimeMs}`, s, `${p} rewritten`);
    });
  }
});
