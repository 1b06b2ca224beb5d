// The `npm test` reporter: a dot per test while it runs (s: skipped, X: failed), every failure in full as it
// happens, then one line per test file (its counts and time) and, last, the same closing summary lines as node's
// TAP reporter (`# tests N`, `# pass N`, `# fail N`, ...), which CI reads.
// node --test-reporter=./dist/test/helpers/reporter.js
import type { TestEvent } from 'node:test/reporters';
import { relative } from 'node:path';

interface FileCount {
  pass: number;
  fail: number;
  skip: number;
  stderr: string[];
  /** The top-level tests' and suites' durations added up: the file's time, less its loading. */
  ms: number;
}

type Leaf = Extract<TestEvent, { type: 'test:pass' | 'test:fail' }>['data'];

function where(file: string | undefined): string {
  return file ? relative(process.cwd(), file) : '(no file)';
}

function failure(d: Leaf): string {
  const err = (d.details as { error?: Error & { cause?: unknown } }).error;
  const cause = err?.cause instanceof Error ? err.cause : err;
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause ?? err);
  return `\n✖ ${where(d.file)}: ${d.name}\n${text.replace(/^/gm, '    ')}\n`;
}

export default async function* compact(source: AsyncIterable<TestEvent>): AsyncGenerator<string, void> {
  const files = new Map<string, FileCount>();
  const count = (file: string | undefined) => {
    const key = file ?? '';
    let c = files.get(key);
    if (!c) files.set(key, (c = { pass: 0, fail: 0, skip: 0, stderr: [], ms: 0 }));
    return c;
  };
  const summary: string[] = [];
  let dots = 0;
  for await (const ev of source) {
    switch (ev.type) {
      case 'test:stderr':
        count(ev.data.file).stderr.push(ev.data.message);
        break;
      case 'test:pass':
      case 'test:fail': {
        const d = ev.data;
        const c = count(d.file);
        if (d.nesting === 0) c.ms += d.details.duration_ms;
        // A file that failed outside any test (it did not load, or exited) comes as one event named by its path.
        if (d.nesting === 0 && d.file && d.name === d.file) {
          if (ev.type === 'test:fail' && c.fail === 0) {
            c.fail++;
            yield failure(d);
            if (c.stderr.length) yield `${c.stderr.join('').replace(/^/gm, '    ')}\n`;
          }
          break;
        }
        if (d.details.type === 'suite') {
          // A suite fails when a test in it failed (already shown), or when a hook failed (shown here).
          const err = (d.details as { error?: { failureType?: string } }).error;
          if (ev.type === 'test:fail' && err?.failureType !== 'subtestsFailed') {
            c.fail++;
            yield failure(d);
          }
          break;
        }
        if (++dots % 80 === 0) yield '\n';
        if (d.skip || d.todo) {
          c.skip++;
          yield 's';
        } else if (ev.type === 'test:pass') {
          c.pass++;
          yield '.';
        } else {
          c.fail++;
          yield 'X';
          yield failure(d);
        }
        break;
      }
      case 'test:diagnostic':
        // The run's closing counts come as top-level diagnostics; keep them for the end, TAP-style.
        if (ev.data.nesting === 0 && /^(tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) /.test(ev.data.message)) summary.push(`# ${ev.data.message}\n`);
        break;
    }
  }
  yield '\n\n';
  for (const [file, c] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!c.pass && !c.fail && !c.skip) continue;
    const counts = `${c.pass} passed${c.fail ? `, ${c.fail} failed` : ''}${c.skip ? `, ${c.skip} skipped` : ''}`;
    yield `${c.fail ? '✖' : '✔'} ${where(file || undefined)}  ${counts}  (${(c.ms / 1000).toFixed(1)} s)\n`;
  }
  yield summary.join('');
}
