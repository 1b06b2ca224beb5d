// A process that races for locks on request: reads lines `ROUND KIND PATH` on stdin, tries to take that lock once
// (KIND `partial`: a download's FILE.partial.lock through lockFile; `state`: glacier-restore's state through
// Journal.open) and answers `ROUND won` or `ROUND lost`. Locks won are kept until the process exits, so that two
// winners of one lock are seen as two winners.
import { createInterface } from 'node:readline';
import { lockFile } from '../../src/retrieve/private-file.js';
import { Journal } from '../../src/restore/journal.js';

const kept: unknown[] = [];
for await (const line of createInterface({ input: process.stdin })) {
  const [round, kind, path] = line.split(' ');
  try {
    if (kind === 'partial') kept.push(await lockFile(path));
    else kept.push(await Journal.open(path, { vault: 'v', target: 't' }, { windowMs: 86_400_000 }));
    process.stdout.write(`${round} won\n`);
  } catch (e) {
    process.stdout.write(`${round} lost ${(e as Error).message.replace(/\n/g, ' ')}\n`);
  }
}
