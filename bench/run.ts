// npm run bench [-- SECTION...]: prints each figure next to a baseline measured in the same run. BENCH_SHORT=1 leaves
// out the slower extras (upload RSS for 1 and 4 GiB pipes, glacier-treehash); BENCH_DIR holds the inputs.
import { benchDownload } from './download.js';
import { benchPack } from './pack.js';
import { benchPlacement } from './placement.js';
import { benchRestore } from './restore.js';
import { benchRestoreJournal } from './restore-journal.js';
import { benchUpload } from './upload.js';

const sections: Record<string, () => Promise<void>> = { upload: benchUpload, download: benchDownload, placement: benchPlacement, pack: benchPack, 'restore-journal': () => benchRestoreJournal(20_000), restore: () => benchRestore() };
const wanted = process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(sections);
for (const name of wanted) {
  const fn = sections[name];
  if (!fn) {
    console.error(`bench: unknown section ${name}; sections: ${Object.keys(sections).join(', ')}`);
    process.exit(2);
  }
  await fn();
}
