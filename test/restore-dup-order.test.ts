// Which of two archives sharing a name keeps it, as the README says: with an inventory the oldest, whatever the
// file's order; from stdin the first line seen; then the state keeps each name run after run, whatever the order
// of later inputs. The other gets ~HASH of its own archive id.
import { CreateVaultCommand, UploadArchiveCommand } from '@aws-sdk/client-glacier';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { run, show } from './helpers/bins.js';
import { startLocal, type Local } from './helpers/local.js';
import { inventoryOutput } from './helpers/restore-fixture.js';
import { within } from './helpers/time.js';

const VAULT = 'dup-order';
let local: Local;
let work: string;
let env: NodeJS.ProcessEnv;
const data = new Map<string, Buffer>();
let lines: string[] = []; // glacier-job output --archives lines, as the inventory lists them
let oldest: string; // the archive an inventory names first (CreationDate, then archive id)

type Rec = { archiveId?: string; name?: string; status?: string; to?: string };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'restore-dup-order-'));
  local = await startLocal(['--memory', '--job-delay', '0']);
  env = { ...local.env, XDG_STATE_HOME: join(work, 'xdg') };
  const g = local.client();
  await g.send(new CreateVaultCommand({ accountId: '-', vaultName: VAULT }));
  for (let i = 0; i < 2; i++) {
    const body = randomBytes(500 + i);
    const r = await g.send(new UploadArchiveCommand({ accountId: '-', vaultName: VAULT, body, archiveDescription: 'dup.txt' }));
    data.set(r.archiveId!, body);
  }
  lines = (await inventoryOutput(VAULT, env)).toString('utf8').trim().split('\n');
  const recs = lines.map((l) => JSON.parse(l) as { ArchiveId: string; CreationDate: string });
  recs.sort((a, b) => (a.CreationDate < b.CreationDate ? -1 : a.CreationDate > b.CreationDate ? 1 : a.ArchiveId < b.ArchiveId ? -1 : 1));
  oldest = recs[0].ArchiveId;
});
after(async () => {
  await local?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Restores into WORK/label (state WORK/label.state unless `state`); returns the name each archive got. */
async function restore(label: string, o: { input?: string; inventory?: string; state?: string; dir?: string }): Promise<Map<string, string>> {
  const dir = join(work, o.dir ?? label);
  const args = ['-v', VAULT, '--to', dir, '--state', join(work, `${o.state ?? label}.state`), '--interval', '200ms', ...(o.inventory ? ['--inventory', o.inventory] : [])];
  const r = await run('glacier-restore', args, o.input === undefined ? { env } : { env, input: o.input });
  assert.equal(r.code, 0, show(r));
  const recs = r.stdout.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Rec).filter((x) => x.archiveId && x.status === 'done');
  assert.equal(recs.length, 2, show(r));
  for (const x of recs) assert.ok(readFileSync(x.to!).equals(data.get(x.archiveId!)!), `${label}: ${x.to} holds its archive`);
  return new Map(recs.map((x) => [x.archiveId!, x.name!]));
}

/** Asserts that `first` got dup.txt and the other dup~HASH.txt. */
function plainTo(names: Map<string, string>, first: string, what: string): void {
  for (const [id, name] of names) {
    if (id === first) assert.equal(name, 'dup.txt', `${what}: ${id} keeps the name`);
    else assert.match(name, /^dup~[A-Za-z0-9_-]{8}\.txt$/, `${what}: ${id} gets ~HASH`);
  }
}

describe('glacier-restore: which duplicate keeps the plain name', () => {
  it('stdin: the first line seen, then kept by the state whatever the order; an inventory: the oldest, whatever its order', { timeout: within(120_000) }, async () => {
    const idOf = (l: string) => (JSON.parse(l) as { ArchiveId: string }).ArchiveId;
    const forward = `${lines.join('\n')}\n`;
    const backward = `${[...lines].reverse().join('\n')}\n`;
    const a = await restore('stdin-a', { input: forward });
    plainTo(a, idOf(lines[0]), 'stdin in order');
    const b = await restore('stdin-b', { input: backward });
    plainTo(b, idOf(lines[1]), 'stdin reversed');
    // The same state and folder, the lines reversed: the names recorded stay.
    const again = await restore('stdin-a-again', { input: backward, state: 'stdin-a', dir: 'stdin-a' });
    assert.deepEqual(again, a, 'names kept by the state run after run');

    // An inventory file, as glacier-job output -o saves it, and the same with its ArchiveList reversed.
    const inv = join(work, 'inv.json');
    await inventoryOutput(VAULT, env, ['-o', inv]);
    const doc = JSON.parse(readFileSync(inv, 'utf8')) as { ArchiveList: unknown[] };
    const rev = join(work, 'inv-reversed.json');
    writeFileSync(rev, JSON.stringify({ ...doc, ArchiveList: [...doc.ArchiveList].reverse() }));
    plainTo(await restore('inv', { inventory: inv }), oldest, 'inventory');
    plainTo(await restore('inv-rev', { inventory: rev }), oldest, 'inventory reversed');
  });
});
