// glacier-chunk: cuts stdin (or FILE) into hashed parts, as a frame stream on stdout or a spool folder.
import { UsageError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { parseSize } from '../core/units.js';
import { prepareSpool, writeChunks } from '../upload/chunks.js';
import { openInput } from '../upload/input.js';
import { choosePartSize } from '../upload/part-size.js';
import { checkSettings, LOCAL_HELP, progressWanted, withLocalCommon } from './common.js';
import { Progress } from './progress.js';
import { interruption, run } from './runtime.js';

const usage = `Usage: glacier-chunk [-p SIZE] [-o DIR] [FILE|-]

Cuts stdin (or FILE) into parts of SIZE and hashes each (tree hash and SHA-256) on every core. Writes the
chunk stream that glacier-put reads, so hashing and uploading can run as separate processes or machines:
  {"format":"glacier-chunks","version":1,"partSize":N}
  {"part":0,"offset":0,"size":N,"treeHash":"...","sha256":"..."} + N raw bytes   (one per part)
  {"end":true,"parts":P,"size":S,"treeHash":"<tree hash of the whole archive>"}
With -o DIR it writes the parts as files plus manifest.json instead: a spool that glacier-put can upload,
or resume, when the producer (pg_dump) cannot be replayed.

Options:
  -p, --part-size SIZE   1 MiB x 2^n up to 4 GiB, other sizes rounded up as glacier-put does (default:
                         8M for a FILE, grown to fit 10,000 parts; 64M for stdin); a bare number is MiB
  -o, --out-dir DIR      write part files and manifest.json into DIR (created 0700; must be empty; files 0600)
${LOCAL_HELP}

Examples:
  pg_dump mydb | glacier-chunk | ssh backup-host 'glacier-put -v backups -d "mydb nightly"'
  pg_dump mydb | glacier-chunk -o /var/spool/mydb && glacier-put -v backups /var/spool/mydb
`;

const spec = withLocalCommon({ name: 'glacier-chunk', usage, string: ['part-size', 'out-dir'], alias: { p: 'part-size', o: 'out-dir' } });

run(spec, async (argv) => {
  checkSettings(argv);
  if (argv._.length > 1) throw new UsageError('one input at most');
  const outDir = argv['out-dir'] === undefined ? undefined : String(argv['out-dir']);
  if (!outDir && process.stdout.isTTY) throw new UsageError('refusing to write binary frames to a terminal: pipe into glacier-put, or use -o DIR');
  const requested = argv['part-size'] === undefined ? undefined : parseSize(String(argv['part-size']));
  // As glacier-put: a size between the allowed ones is rounded up (with a warning); beyond 4 GiB or zero is refused.
  if (requested !== undefined && !(requested > 0 && requested <= 4 * 1024 ** 3)) throw new UsageError(`invalid --part-size "${argv['part-size']}": 1 MiB x 2^n (1M, 2M, 4M ... 4G)`);
  const input = await openInput(argv._.length ? String(argv._[0]) : '-', { stdin: process.stdin, signal: interruption.signal });
  if (input.kind === 'spool') throw new UsageError('a folder is not an input'); // (openInput refuses folders here)
  const { partSize, roundedFrom } = choosePartSize({ requested, size: input.kind === 'file' ? input.size : undefined });
  if (roundedFrom !== undefined && !argv.quiet) process.stderr.write(`glacier-chunk: part size ${argv['part-size']} rounded up to ${partSize / 2 ** 20} MiB (parts are 1 MiB x 2^n)\n`);
  if (outDir) await prepareSpool(outDir);
  const pool = new HashPool();
  // Bytes read of the input (of its size when it is a file), as they are cut into parts.
  const progress = new Progress('glacier-chunk', !argv.quiet && progressWanted(), input.kind === 'file' ? input.size : undefined, 'read');
  const inner = input.filler;
  const filler = { fill: async (dst: Buffer, n: number) => {
    const got = await inner.fill(dst, n);
    progress.add(got);
    return got;
  } };
  try {
    await writeChunks(filler, outDir ? { kind: 'spool', dir: outDir } : { kind: 'stream', out: process.stdout }, { partSize, pool, concurrency: pool.threads + 1, signal: interruption.signal });
    progress.finish();
  } finally {
    await pool.close();
    await input.close();
  }
});
