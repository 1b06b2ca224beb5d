// glacier-chunk: cuts stdin (or FILE) into hashed parts, as a frame stream on stdout or a spool folder.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { BufferPool } from '../core/buffer-pool.js';
import { ByteReader } from '../core/byte-reader.js';
import { ServiceError, UsageError } from '../core/errors.js';
import { HashPool } from '../core/hash-pool.js';
import { mapOrdered } from '../core/ordered.js';
import { combineTreeHashesHex, isValidPartSize, MiB } from '../core/tree-hash.js';
import { parseSize } from '../core/units.js';
import { fileFiller, rawParts, streamFiller, type Manifest } from '../upload/sources.js';
import { fitPartSize } from '../upload/upload.js';
import { interruption, run, type CliSpec } from './runtime.js';

const usage = `Usage: glacier-chunk [-p SIZE] [-o DIR] [FILE|-]

Cuts stdin (or FILE) into parts of SIZE and hashes each (tree hash and SHA-256) on every core. Writes the
chunk stream that glacier-put reads, so hashing and uploading can run as separate processes or machines:
  {"format":"glacier-chunks","version":1,"partSize":N}
  {"part":0,"offset":0,"size":N,"treeHash":"...","sha256":"..."} + N raw bytes   (one per part)
  {"end":true,"parts":P,"size":S,"treeHash":"<tree hash of the whole archive>"}
With -o DIR it writes the parts as files plus manifest.json instead: a spool that glacier-put can upload,
or resume, when the producer (pg_dump) cannot be replayed.

Options:
  -p, --part-size SIZE   1 MiB x 2^n up to 4 GiB (default: 8M for a FILE, grown to fit 10,000 parts;
                         64M for stdin); a bare number is MiB (-p 64)
  -o, --out-dir DIR      write part files and manifest.json into DIR (created; must be empty)
  -h, --help, --version

Examples:
  pg_dump mydb | glacier-chunk | ssh backup-host glacier-put -v backups -d "mydb nightly"
  pg_dump mydb | glacier-chunk -o /var/spool/mydb && glacier-put -v backups /var/spool/mydb
`;

const spec: CliSpec = { name: 'glacier-chunk', usage, string: ['part-size', 'out-dir'], alias: { p: 'part-size', o: 'out-dir' } };

async function write(chunk: Uint8Array): Promise<void> {
  if (!process.stdout.write(chunk)) {
    await new Promise<void>((resolve, reject) => {
      const done = () => (process.stdout.off('error', fail), resolve());
      const fail = (e: Error) => (process.stdout.off('drain', done), reject(e));
      process.stdout.once('drain', done);
      process.stdout.once('error', fail);
    });
  }
}

run(spec, async (argv) => {
  if (argv._.length > 1) throw new UsageError('one input at most');
  const input = argv._.length ? String(argv._[0]) : '-';
  const outDir = argv['out-dir'] === undefined ? undefined : String(argv['out-dir']);
  if (!outDir && process.stdout.isTTY) throw new UsageError('refusing to write binary frames to a terminal: pipe into glacier-put, or use -o DIR');
  let requested: number | undefined;
  if (argv['part-size'] !== undefined) {
    requested = parseSize(String(argv['part-size']));
    if (!isValidPartSize(requested)) throw new UsageError(`invalid --part-size "${argv['part-size']}": 1 MiB x 2^n (1M, 2M, 4M ... 4G)`);
  }
  let fh: fsp.FileHandle | undefined;
  let size: number | undefined;
  if (input !== '-') {
    fh = await fsp.open(input, 'r').catch((e: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${input}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.message}`);
    });
    const st = await fh.stat();
    if (st.isDirectory()) throw new UsageError(`cannot read ${input}: is a directory`);
    if (st.isFile()) size = st.size;
  } else if (process.stdin.isTTY) throw new UsageError('stdin is a terminal: pipe data in, or give a FILE');
  const partSize = requested ?? (size !== undefined ? fitPartSize(size) : 64 * MiB);
  if (outDir) {
    await fsp.mkdir(outDir, { recursive: true });
    if ((await fsp.readdir(outDir)).length) throw new UsageError(`${outDir} is not empty`);
  }
  const pool = new HashPool();
  const concurrency = pool.threads + 1;
  const buffers = new BufferPool(partSize, concurrency + 2);
  const filler = fh && size !== undefined ? fileFiller(fh) : streamFiller(new ByteReader(fh ? fh.createReadStream() : process.stdin));
  const manifest: Manifest = { format: 'glacier-chunks', version: 1, partSize, parts: [], size: 0, treeHash: '' };
  try {
    // The header goes out with the first part, so that empty input leaves stdout empty.
    let header = outDir ? null : Buffer.from(`${JSON.stringify({ format: 'glacier-chunks', version: 1, partSize })}\n`);
    const hashed = mapOrdered(rawParts(filler, partSize, buffers), concurrency, async (p) => ({ p, h: await pool.hash(p.data) }));
    for await (const { p, h } of hashed) {
      if (interruption.signal.aborted) throw interruption.signal.reason;
      try {
        const frame = { part: p.index, offset: p.offset, size: p.data.length, treeHash: h.treeHash, sha256: h.sha256 };
        if (outDir) {
          const file = `part-${String(p.index).padStart(6, '0')}`;
          await fsp.writeFile(join(outDir, file), p.data).catch((e) => {
            throw new ServiceError(`cannot write ${join(outDir, file)}: ${(e as Error).message}`);
          });
          manifest.parts.push({ ...frame, file });
        } else {
          if (header) await write(header);
          header = null;
          await write(Buffer.from(`${JSON.stringify(frame)}\n`));
          await write(p.data);
          manifest.parts.push({ ...frame, file: '' });
        }
        manifest.size += p.data.length;
      } finally {
        p.release();
      }
    }
    if (manifest.parts.length === 0) throw new UsageError('empty input: an archive must be at least 1 byte');
    manifest.treeHash = combineTreeHashesHex(manifest.parts.map((p) => p.treeHash));
    if (outDir) {
      // The manifest is written last and renamed into place: a folder without one is an interrupted spool.
      const tmp = join(outDir, '.manifest.json.tmp');
      await fsp.writeFile(tmp, JSON.stringify(manifest, null, 1));
      await fsp.rename(tmp, join(outDir, 'manifest.json'));
    } else {
      await write(Buffer.from(`${JSON.stringify({ end: true, parts: manifest.parts.length, size: manifest.size, treeHash: manifest.treeHash })}\n`));
    }
  } finally {
    await pool.close();
    await fh?.close().catch(() => {});
  }
});
