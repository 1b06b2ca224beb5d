// Where restored archives go: a folder, or a command run per archive. (S3 is in s3-sink.ts.) A sink is handed
// only bytes whose piece matched Glacier's tree hash, in order; `finish` is called once the whole archive
// matched too, and `abort` when it did not or the run stops.
import { spawn } from 'node:child_process';
import { createReadStream, promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { ServiceError } from '../core/errors.js';
import type { HashPool } from '../core/hash-pool.js';
import { TreeCombiner, TreeHasher } from '../core/tree-hash.js';
import { FileSink } from './seam.js';
import { syncDir } from '../core/files.js';
import type { PositionalSink } from '../retrieve/download.js';

/** One archive on its way out. */
export interface Item {
  archiveId: string;
  name: string;
  size: number;
  treeHash: string;
  description: string;
  creationDate: string;
  /** Last modification time the description carries, ms since the epoch. */
  mtime?: number;
}

export interface ArchiveWriter {
  /** Bytes already held from an earlier run of the same job (a multiple of 1 MiB); the download starts there. */
  resumed: number;
  /** Tree hash state of those bytes. */
  combiner?: TreeCombiner;
  write(data: Buffer, start: number): Promise<void>;
  /** A destination written in place, pieces verified as they land (see download.ts PositionalSink). */
  positional?: PositionalSink;
  finish(): Promise<void>;
  abort(): Promise<void>;
  /** The run was interrupted: keep what is verified for the next run to resume (absent: `abort` is called). */
  suspend?(): Promise<void>;
}

export interface ArchiveSink {
  /** What the records and --dry-run show as the destination of an archive. */
  where(item: Item): string;
  open(item: Item, jobId: string, pool: HashPool): Promise<ArchiveWriter>;
  /** Whether the destination already holds this archive, whole and verified (a run killed after it finished it). */
  holds(item: Item): Promise<boolean>;
  /** Cleans what a killed run left half done. */
  recover?(): Promise<void>;
}

/** `--to DIR`: DIR/NAME.partial (with NAME.partial.json recording the verified prefix), renamed NAME when whole. */
export class DirSink implements ArchiveSink {
  constructor(readonly dir: string) {}

  where(item: Item): string {
    return join(this.dir, item.name);
  }

  async open(item: Item, jobId: string, pool: HashPool): Promise<ArchiveWriter> {
    const path = this.where(item);
    await fsp.mkdir(dirname(path), { recursive: true });
    // Any job for this archive continues its verified prefix (checked again against its recorded tree hashes).
    const { sink, resumed, combiner } = await FileSink.open(path, { jobId, vault: '', from: 0, to: item.size - 1, archiveId: item.archiveId, archiveTreeHash: item.treeHash, first: 0 }, { pool });
    return {
      resumed,
      combiner: resumed ? combiner : undefined,
      write: (data, start) => sink.write(data, start),
      positional: sink.positional,
      finish: async () => {
        await sink.finish();
        await sink.close(); // releases NAME.partial.lock
        if (item.mtime !== undefined) await fsp.utimes(path, item.mtime / 1000, item.mtime / 1000).catch(() => {});
        await syncDir(dirname(path));
      },
      suspend: () => sink.close(), // NAME.partial and its record stay: the same command resumes after them
      abort: async () => {
        await sink.close();
        await fsp.rm(FileSink.partialPath(path), { force: true });
        await fsp.rm(`${FileSink.partialPath(path)}.json`, { force: true });
      },
    };
  }

  async holds(item: Item): Promise<boolean> {
    const path = this.where(item);
    const st = await fsp.stat(path).catch(() => null);
    if (!st?.isFile() || st.size !== item.size) return false;
    if ((await treeHashOfFile(path)) !== item.treeHash) return false;
    // A run killed between the rename and its cleanup leaves the record and the lock of the finished download.
    for (const f of [`${FileSink.partialPath(path)}.json`, `${FileSink.partialPath(path)}.lock`]) await fsp.rm(f, { force: true });
    return true;
  }
}

async function treeHashOfFile(path: string): Promise<string> {
  const h = new TreeHasher();
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest().treeHash;
}


/**
 * `--exec CMD`: CMD run by /bin/sh per archive, its bytes on stdin, GLACIER_* in its environment, its stdout
 * sent to our stderr (our stdout carries the records). Done when CMD exits 0 after reading to the end.
 */
export class ExecSink implements ArchiveSink {
  constructor(
    readonly command: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  where(item: Item): string {
    return `| ${this.command} (GLACIER_NAME=${item.name})`;
  }

  async holds(): Promise<boolean> {
    return false; // only CMD knows; a run killed between CMD's exit and the record hands the archive over again
  }

  async open(item: Item): Promise<ArchiveWriter> {
    const child = spawn('/bin/sh', ['-c', this.command], {
      stdio: ['pipe', 2, 2],
      env: {
        ...this.env,
        GLACIER_ARCHIVE_ID: item.archiveId,
        GLACIER_NAME: item.name,
        GLACIER_SIZE: String(item.size),
        GLACIER_TREE_HASH: item.treeHash,
        GLACIER_DESCRIPTION: item.description,
        GLACIER_CREATION_DATE: item.creationDate,
      },
    });
    let exitError: Error | null = null;
    const exited = new Promise<number | null>((resolve) => {
      child.once('error', (e) => {
        exitError = e;
        resolve(null);
      });
      child.once('close', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    });
    let stdinError: Error | null = null;
    child.stdin!.on('error', (e) => (stdinError = e));
    const failed = async (what: string) => {
      const code = await exited;
      return new ServiceError(`${what}: the command exited ${code ?? (exitError as Error | null)?.message ?? 'abnormally'} for ${item.archiveId}`);
    };
    return {
      resumed: 0,
      write: async (data) => {
        if (stdinError || child.stdin!.destroyed) throw await failed('the command stopped reading');
        const ok = child.stdin!.write(Buffer.from(data)); // the download reuses its buffer once write returns
        if (!ok) {
          await new Promise<void>((resolve) => {
            const done = () => {
              child.stdin!.off('drain', done);
              child.stdin!.off('close', done);
              resolve();
            };
            child.stdin!.once('drain', done);
            child.stdin!.once('close', done);
          });
        }
        if (stdinError) throw await failed('the command stopped reading');
      },
      finish: async () => {
        child.stdin!.end();
        const code = await exited;
        if (code !== 0) throw await failed('not restored');
      },
      abort: async () => {
        // Killed before its stdin ends, so the command never sees a clean end of partial data.
        child.kill('SIGTERM');
        child.stdin!.destroy();
        await exited;
      },
    };
  }
}
