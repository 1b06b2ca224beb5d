// What the catalogue tests (catalogue.test.ts, catalogue-review.test.ts) share: a glacier-local and a work folder
// for the file, the binaries' environment with the catalogue where a test puts it, and inventory jobs run through
// glacier-job.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, sh, show, type Ran } from './bins.js';
import { BIN, ROOT, startLocal, type Local } from './local.js';

/** `r`, after asserting that it exited 0. */
export function ok(r: Ran): Ran {
  assert.equal(r.code, 0, show(r));
  return r;
}

/** The JSON lines `r` printed on stdout. */
export function lines<T = Record<string, unknown>>(r: Ran): T[] {
  return r.stdout.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);
}

/**
 * Rewrites the catalogue FILE's archive lines for the archive ids `which`: CreationDate `days` ago (as the file
 * would read that much later) and Host, each when given.
 */
export function rewrite(file: string, which: string[], o: { days?: number; host?: string }): void {
  const text = readFileSync(file, 'utf8').split('\n').map((l) => {
    if (!l) return l;
    const x = JSON.parse(l) as Record<string, unknown>;
    if (x.Event === 'archive' && which.includes(String(x.ArchiveId))) {
      if (o.days !== undefined) x.CreationDate = new Date(Date.now() - o.days * 86_400_000).toISOString();
      if (o.host !== undefined) x.Host = o.host;
    }
    return JSON.stringify(x);
  });
  writeFileSync(file, text.join('\n'));
}

export interface CatalogueBench {
  /** The file's glacier-local (--memory, --job-delay 0) and work folder: set once start() has resolved. */
  local: Local;
  work: string;
  /** The binaries' environment: a private state folder (WORK/state unless given), and the catalogue FILE given (else the default place). */
  envOf(o?: { state?: string; catalogue?: string }): NodeJS.ProcessEnv;
  /** Creates the vault with glacier-vault. */
  vault(name: string): Promise<void>;
  /** Starts an inventory job of the vault with glacier-job; returns its id. */
  inventoryJob(vault: string): Promise<string>;
  /** The vault's archive ids, sorted, by a fresh inventory job (glacier-local answers at once). */
  inventoryIds(vault: string): Promise<string[]>;
  /**
   * For examples/pg-dump-to-glacier.sh: creates the vault; `cat` is its catalogue WORK/VAULT.jsonl, `env` the
   * binaries' environment with that catalogue and a PATH whose pg_dump is a fake printing `-- dump of DB`;
   * `script(keepDays)` runs the example for DB mydb into the vault with KEEP_DAYS (not asserting its exit).
   */
  pgDump(vault: string): Promise<{ cat: string; env: NodeJS.ProcessEnv; script(keepDays: string): Promise<Ran> }>;
}

/**
 * The bench for a test file: its before() hook awaits start() (a glacier-local, a work folder named PREFIX...),
 * its after() hook stop(). (Root-level before() hooks of node:test run side by side, not one after another: so
 * the file registers one hook that awaits start, rather than this helper registering its own.)
 */
export function catalogueBench(prefix: string): CatalogueBench & { start(): Promise<CatalogueBench>; stop(): Promise<void> } {
  const b = {} as CatalogueBench & { start(): Promise<CatalogueBench>; stop(): Promise<void> };
  b.start = async () => {
    b.local = await startLocal(['--memory', '--job-delay', '0']);
    b.work = mkdtempSync(join(tmpdir(), prefix));
    return b;
  };
  b.stop = async () => {
    await b.local?.stop();
    if (b.work) rmSync(b.work, { recursive: true, force: true });
  };
  b.envOf = (o = {}) => {
    const env: NodeJS.ProcessEnv = { ...b.local.env, XDG_STATE_HOME: o.state ?? join(b.work, 'state') };
    delete env.GLACIER_VAULT;
    if (o.catalogue) env.GLACIER_CATALOGUE = o.catalogue;
    else delete env.GLACIER_CATALOGUE;
    return env;
  };
  b.vault = async (name) => {
    ok(await run('glacier-vault', ['create', name], { env: b.envOf() }));
  };
  b.inventoryJob = async (vault) => (JSON.parse(ok(await run('glacier-job', ['inventory', '-v', vault], { env: b.envOf() })).stdout.toString()) as { JobId: string }).JobId;
  b.inventoryIds = async (vault) => {
    const r = ok(await run('glacier-job', ['output', '-v', vault, '--wait', '--interval', '100ms', '--archives', '--', await b.inventoryJob(vault)], { env: b.envOf() }));
    return lines<{ ArchiveId: string }>(r).map((a) => a.ArchiveId).sort();
  };
  b.pgDump = async (vault) => {
    await b.vault(vault);
    const cat = join(b.work, `${vault}.jsonl`);
    const fakes = join(b.work, `${vault}-fakes`);
    mkdirSync(fakes, { recursive: true });
    writeFileSync(join(fakes, 'pg_dump'), '#!/bin/sh\nprintf -- "-- dump of %s\\n" "$1"\n', { mode: 0o755 });
    const env = { ...b.envOf({ catalogue: cat }), PATH: `${fakes}:${BIN('').replace(/\/$/, '')}:${process.env.PATH}` };
    const script = (keepDays: string) => sh('"$1"', [join(ROOT, 'examples', 'pg-dump-to-glacier.sh')], { env: { ...env, DB: 'mydb', VAULT: vault, KEEP_DAYS: keepDays } }).done;
    return { cat, env, script };
  };
  return b;
}
