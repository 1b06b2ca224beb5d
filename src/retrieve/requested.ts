// What the user asked `retrieve --range` for, when Glacier was asked for more (the smallest tree-hash-aligned
// range covering it): kept in ${XDG_STATE_HOME:-~/.local/state}/glacier-pipes/jobs/JOB_ID.json (0600), next to
// glacier-put's journals, so that `output` of the job gives exactly the bytes asked for. The job's description
// stays the user's own.
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { journalDir } from '../upload/journal.js';
import { replacePrivate } from './private-file.js';

export interface RequestedRange {
  jobId: string;
  vault: string;
  archiveId: string;
  /** archive offsets, inclusive: what the user asked for */
  first: number;
  last: number;
  /** archive offsets, inclusive: what the job retrieves */
  retrievedFirst: number;
  retrievedLast: number;
}

const file = (jobId: string, env = process.env) => join(journalDir(env), 'jobs', `${jobId}.json`);

/** Records the range asked for; throws the file system's error when the state folder is unusable. */
export async function saveRequestedRange(r: RequestedRange, env = process.env): Promise<string> {
  const path = file(r.jobId, env);
  await fsp.mkdir(join(journalDir(env), 'jobs'), { recursive: true, mode: 0o700 });
  await replacePrivate(path, `${JSON.stringify(r)}\n`);
  return path;
}

/** The range recorded for this job of this vault, or null when there is none (another machine, another user). */
export async function loadRequestedRange(vault: string, jobId: string, env = process.env): Promise<RequestedRange | null> {
  try {
    const r = JSON.parse(await fsp.readFile(file(jobId, env), 'utf8')) as RequestedRange;
    return r.jobId === jobId && r.vault === vault && Number.isSafeInteger(r.first) && Number.isSafeInteger(r.last) ? r : null;
  } catch {
    return null;
  }
}
