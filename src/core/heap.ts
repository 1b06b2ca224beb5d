// The main thread's young generation, kept small on the byte path. Node lets V8 double each semi-space as a
// process allocates (16 MiB each by default on 64-bit); loading the SDK alone grows it, and the grown space stays
// resident for the whole run. On the byte path the main thread allocates next to nothing (bodies go straight
// into part and piece buffers), so that memory only counts against the RSS bounds: measured with
// `npm run bench -- download`, glacier-job output -c 4 peaked at 168–171 MiB as grown and 158–161 MiB kept small
// (bound 4 × 16 + 100 = 164), -c 2 at 135–138 and 127–130 MiB (bound 132), CPU unchanged within the noise.
// Parsing a JSON inventory allocates a great deal, and with a small young generation it ran 1.2–1.5× slower
// (400,000 archives: 8.5 s as grown, 10.5 s at 2 MiB, 15 s at 1 MiB), so the parser lets it grow again.
//
// `--max-semi-space-size` is read only when V8 starts, which a portable `#!/usr/bin/env node` binary cannot
// pass; the growth factor is read each time the young generation grows, so setting it at run time takes effect.
import { setFlagsFromString } from 'node:v8';

/** V8's own default for --semi-space-growth-factor. */
const V8_DEFAULT_GROWTH = 2;

let small = false;

/**
 * Stops the young generation from doubling as the process allocates (called before the binary loads its modules,
 * as bin/glacier-put, bin/glacier-job and bin/glacier-restore do, it starts at 1 MiB semi-spaces; V8 may still
 * size it up a little on its own: a 40 MB glacier-put ended at 4 MiB of young generation, 8 MiB without this).
 * Idempotent.
 */
export function keepYoungGenerationSmall(): void {
  if (small) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  small = true;
}

/** Lets the young generation grow again as V8 would by default (for allocation-heavy work such as parsing). */
export function letYoungGenerationGrow(): void {
  if (!small) return;
  setFlagsFromString(`--semi-space-growth-factor=${V8_DEFAULT_GROWTH}`);
  small = false;
}

/**
 * Lets V8's old generation grow by half its live size between full collections instead of V8's adaptive factor
 * (up to 4x when a process allocates fast). glacier-restore holds a record for each job outstanding (20,000 at
 * `--max-jobs 20000`, about 40 MB live) while it allocates quickly per archive: with V8's factor its peak RSS
 * went to 180-210 MiB at 20,000 archives of 1 KiB, at 1.5 it stayed at 129 MiB for about 8% more user CPU
 * (measured with the restore bench's command alone, one run each). Read at each full collection, so setting it
 * at run time takes effect.
 */
export function growOldGenerationSlowly(): void {
  setFlagsFromString('--heap-growing-percent=50');
}
