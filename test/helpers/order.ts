// Prints the suite's test files (dist/test/*.test.js), the longest first, for `npm test`:
//   node --test --test-concurrency=3 ... $(node dist/test/helpers/order.js)
// node --test starts files in the order given, so a long file started last would run on alone at the end; started
// first, the short ones fill the slots around it. A file not named below (a new one) comes after the named ones, in
// name order; nothing is left out. The order only changes when a file starts, never what runs.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The longest files, longest first: by the wall time each took in a whole `npm test` on an idle 2-core machine
 * (three files at a time: CPU seconds, waits and sharing the cores together), less the waits cut since (backoffs
 * slept through, servers held open by slowed requests, tests of their own servers run side by side); put-tls and
 * job-tls as their plain twins. `bash test/helpers/file-cost.sh` measures a file alone.
 */
export const LONGEST = [
  'put-tls', 'put', 'restore-crash', 'examples', 'request-layer', 'restore-s3-jobs', 'catalogue', 'surface',
  'help-examples', 'restore', 'restore-s3', 'local-faults', 'local-races-resume', 'catalogue-review', 'hardening',
  'readme', 'job-output', 'job-tls', 'local-security', 'package', 'examples-batch', 'local-races', 'restore-jobs',
  'chunk-treehash', 'job', 'cli-surface', 'pack', 'job-range', 'restore-poll-rounds', 'inventory-scale',
  'restore-inventory-check', 'restore-review-fixes', 'manage', 'inventory', 'restore-names', 'local-cli', 'proxy',
];

/** The test files in `dir` (names ending .test.js), the LONGEST ones first in that order, then the rest by name. */
export function ordered(dir: string): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort();
  const rank = (f: string) => {
    const i = LONGEST.indexOf(f.slice(0, -'.test.js'.length));
    return i < 0 ? LONGEST.length : i;
  };
  return files.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)).map((f) => join(dir, f));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = fileURLToPath(new URL('..', import.meta.url));
  process.stdout.write(`${ordered(dir).map((f) => relative(process.cwd(), f)).join('\n')}\n`);
}
