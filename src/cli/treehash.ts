// glacier-treehash: Glacier tree hashes of files, like sha256sum, to check downloads against an inventory.
import { promises as fsp, readFileSync } from 'node:fs';
import { ByteReader } from '../core/byte-reader.js';
import { fifoFiller } from '../core/fd-reader.js';
import { IntegrityError, InterruptedError, ServiceError, UsageError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { parallelTreeHash } from '../core/parallel-hash.js';
import { abortable, fileFiller, streamFiller, type Filler } from '../upload/sources.js';
import { checkSettings, LOCAL_HELP, withLocalCommon } from './common.js';
import { interruption, run } from './runtime.js';

const usage = `Usage: glacier-treehash [FILE|-]...
       glacier-treehash -c LIST

Prints the SHA-256 tree hash Glacier gives an archive, one "<tree hash>  <name>" line per FILE (stdin when
no FILE or -), using every core. With -c, reads such lines from LIST (- for stdin) and checks each file.

Options:
  -c, --check LIST   verify the hashes listed in LIST; prints "NAME: OK" or "NAME: FAILED"
  -q, --quiet        with -c, print only failures
${LOCAL_HELP}

Exit: 0 all good, 1 a file could not be read, 2 bad usage or a FILE or LIST that does not exist, 3 a hash
did not match.

Examples:
  glacier-treehash backup.tar.xz
  glacier-job output -v backups JOB | tee restore.tar.xz | glacier-treehash
  glacier-treehash *.tar.xz > SUMS && glacier-treehash -c SUMS
`;

const spec = withLocalCommon({ name: 'glacier-treehash', usage, string: ['check'], alias: { c: 'check' } });

/** A FILE that does not exist: exit 2, as in every binary (a usage fault), where other read failures are 1. */
class MissingFileError extends ServiceError {}

/** Why FILE could not be opened, as this binary says it: exit 2 when it does not exist (MissingFileError), else 1. */
function cannotOpen(name: string, e: NodeJS.ErrnoException): ServiceError {
  if (e.code === 'ENOENT') return new MissingFileError(`${name}: no such file`);
  return new ServiceError(`${name}: ${e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message}`);
}

/** FILE ('-' for stdin) opened to be hashed: what reads it, and what closes it. */
async function openToHash(name: string): Promise<{ filler: Filler; close(): Promise<void> }> {
  if (name === '-') {
    if (process.stdin.isTTY) throw new UsageError('stdin is a terminal: pipe data in or name a FILE');
    return { filler: streamFiller(new ByteReader(process.stdin)), close: async () => {} };
  }
  if ((await fsp.stat(name).catch(() => null))?.isFIFO()) {
    // Opened without waiting for a writer and read on the event loop, so a signal ends the run at once.
    try {
      const fifo = fifoFiller(name);
      return { filler: fifo, close: async () => fifo.close() };
    } catch (e) {
      throw cannotOpen(name, e as NodeJS.ErrnoException);
    }
  }
  const fh = await fsp.open(name, 'r').catch((e: NodeJS.ErrnoException) => {
    throw cannotOpen(name, e);
  });
  const close = () => fh.close().catch(() => {});
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new ServiceError(`${name}: is a directory`);
    return { filler: st.isFile() ? fileFiller(fh) : streamFiller(new ByteReader(fh.createReadStream())), close };
  } catch (e) {
    await close();
    throw e;
  }
}

async function hashOne(name: string, pool: HashPool): Promise<string> {
  const { filler, close } = await openToHash(name);
  try {
    // A signal ends a read that waits for input (a silent pipe, a FIFO with no writer) at once.
    return (await parallelTreeHash(abortable(filler, interruption.signal), pool)).treeHash;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EISDIR') throw new ServiceError(`${name}: is a directory`);
    throw e;
  } finally {
    await close();
  }
}

run(spec, async (argv) => {
  checkSettings(argv);
  const pool = new HashPool();
  let failedRead = 0;
  let missing = 0;
  let mismatched = 0;
  const report = (e: unknown) => {
    failedRead++;
    if (e instanceof MissingFileError) missing++;
    process.stderr.write(`glacier-treehash: ${(e as Error).message}\n`);
  };
  try {
    if (argv.check !== undefined) {
      if (argv._.length) throw new UsageError('-c takes one LIST; no other FILE arguments');
      const list = String(argv.check);
      let text: string;
      try {
        text = list === '-' ? readFileSync(0, 'utf8') : readFileSync(list, 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`${list}: no such file`);
        throw new ServiceError(`${list}: ${(e as Error).message}`);
      }
      const lines = text.split('\n').filter((l) => l.trim());
      if (lines.length === 0) throw new UsageError(`${list}: no "<tree hash>  <name>" lines`);
      for (const [i, line] of lines.entries()) {
        const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
        if (!m) throw new UsageError(`${list}:${i + 1}: not a "<tree hash>  <name>" line`);
        try {
          const got = await hashOne(m[2], pool);
          if (got === m[1].toLowerCase()) {
            if (!argv.quiet) process.stdout.write(`${m[2]}: OK\n`);
          } else {
            mismatched++;
            process.stdout.write(`${m[2]}: FAILED\n`);
          }
        } catch (e) {
          if (e instanceof UsageError || e instanceof InterruptedError) throw e;
          process.stdout.write(`${m[2]}: FAILED open or read\n`);
          report(e);
        }
      }
      if (mismatched) throw new IntegrityError(`${mismatched} of ${lines.length} computed tree hashes did not match`);
    } else {
      const names = argv._.length ? argv._.map(String) : ['-'];
      for (const name of names) {
        try {
          process.stdout.write(`${await hashOne(name, pool)}  ${name}\n`);
        } catch (e) {
          if (e instanceof UsageError || e instanceof InterruptedError) throw e; // a signal ends the run, not one FILE
          report(e);
        }
      }
    }
    // One file that could not be read was already told in its own line (as sha256sum does): no summary line.
    const onlyMissing = failedRead > 0 && missing === failedRead;
    if (failedRead === 1 && argv.check === undefined && Math.max(argv._.length, 1) === 1) return onlyMissing ? 2 : 1;
    if (onlyMissing) throw new UsageError(`${failedRead} file(s) do not exist`);
    if (failedRead) throw new ServiceError(`${failedRead} file(s) could not be read`);
  } finally {
    await pool.close();
  }
});
