// Where a restore stands, read from its state file alone (no request to the vault, no lock taken): what the
// journal knows for certain (archives done and their bytes, jobs outstanding) and what the run last recorded of itself (the
// input's size, failures, jobs ready, its rate), for `glacier-restore --status` from another shell.
import { promises as fsp } from 'node:fs';
import { Journal, type RunSnapshot } from './journal.js';

export interface RestoreStatus {
  state: string;
  vault: string;
  target: string;
  /** The pid of the run holding the state, or null when none runs (finished, interrupted or killed). */
  running: number | null;
  /** ISO time of the run's last record of itself (else of the state file's last write). */
  lastUpdate: string | null;
  /** Archives seen in the input; `inputComplete` when it was read to its end (then it is the total). */
  archives: number;
  inputComplete: boolean;
  /** Archives done, as the journal records them. */
  done: number;
  failed: number;
  integrity: number;
  missing: number;
  /**
   * Jobs outstanding (the journal's), split as the run last recorded them: waiting for Glacier, ready to download,
   * downloading (a killed run's are ready again). The three always sum to `jobsOutstanding`.
   */
  waiting: number;
  ready: number;
  downloading: number;
  jobsOutstanding: number;
  /** Bytes of the input seen so far, and never less than `bytesDone` plus the bytes jobs are outstanding for. */
  bytes: number;
  /** Bytes of the archives done, as the journal records them (every run's, this one's up to its last record written). */
  bytesDone: number;
  /** Bytes a second moved by the last run (archives done before it not counted). */
  rateBytesPerSecond: number;
  /**
   * ISO time the rest would be done at that rate, when the run moves bytes; else null. Before the input was read
   * to its end only the bytes seen so far are counted: then `etaLowerBound` is true (the end is that time or later).
   */
  eta: string | null;
  etaLowerBound: boolean;
  /** What held the next job at the last record: "--max-jobs N" or "budget until TIME". */
  heldBy: string | null;
}

/**
 * The status of the restore whose state is at `path`. Throws UsageError when the file is missing or not a
 * glacier-restore state. Reads only; a run may be appending at the same time (a line cut mid-write is skipped).
 */
export async function readStatus(path: string): Promise<RestoreStatus> {
  const head = await Journal.headOf(path);
  const j = await Journal.open(path, head, { windowMs: 86_400_000, readOnly: true });
  const s: RunSnapshot | undefined = j.lastStats();
  const pid = (await j.holder()) ?? null;
  const mtime = (await fsp.stat(path).catch(() => null))?.mtimeMs;
  // The journal is the authority on what it records: archives done and their bytes, jobs outstanding and their
  // archives' bytes. The run's last record of itself (written every few seconds, so up to that much older than
  // the journal's lines after it) only splits the jobs outstanding into waiting, ready and downloading, and gives
  // the input's size so far, its failures and its rate; each figure is bounded by what the journal says.
  const outstanding = j.outstanding();
  const jobs = outstanding.length;
  let ready = s?.ready ?? 0;
  let downloading = s?.downloading ?? 0;
  if (!pid) {
    ready += downloading; // no one downloads them now: the next run takes them first
    downloading = 0;
  }
  // Jobs done or dropped since the record leave the counts it gave; jobs started since it are waiting.
  downloading = Math.min(downloading, jobs);
  ready = Math.min(ready, jobs - downloading);
  const waiting = jobs - ready - downloading;
  const done = j.doneCount();
  const bytesDone = j.bytesDone();
  const secs = s ? (s.at - s.startedAt) / 1000 : 0;
  const rate = s && secs > 0 ? s.bytesThisRun / secs : 0;
  // The total is at least what is done and what jobs are out for (the input read so far may be less: a record
  // taken before the run read that far, or archives of an earlier run's input).
  const bytes = Math.max(s?.bytes ?? 0, bytesDone + outstanding.reduce((n, r) => n + r.archive.size, 0));
  // What is left to move: the record's bytes moved count the archives still downloading (the rate counts them too).
  const left = bytes - Math.max(bytesDone, s?.bytesDone ?? 0);
  const eta = s && rate > 0 && left > 0 && !s.ended ? new Date(s.at + (left / rate) * 1000).toISOString() : null;
  return {
    state: path,
    vault: head.vault,
    target: head.target,
    running: pid,
    lastUpdate: s ? new Date(s.at).toISOString() : mtime ? new Date(mtime).toISOString() : null,
    archives: Math.max(s?.archives ?? 0, done + jobs),
    inputComplete: Boolean(s?.inputDone),
    done,
    failed: s?.failed ?? 0,
    integrity: s?.integrity ?? 0,
    missing: s?.missing ?? 0,
    waiting,
    ready,
    downloading,
    jobsOutstanding: jobs,
    bytes,
    bytesDone,
    rateBytesPerSecond: Math.round(rate),
    eta,
    etaLowerBound: eta !== null && !s?.inputDone,
    heldBy: (pid && s?.held) || null,
  };
}
