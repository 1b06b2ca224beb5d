// Where a restore stands, read from its state file alone (no request to the vault, no lock taken): what the
// journal knows for certain (archives done, jobs outstanding) and what the run last recorded of itself (the
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
  done: number;
  failed: number;
  integrity: number;
  missing: number;
  /** Jobs outstanding: waiting for Glacier, ready to download, downloading (a killed run's are ready again). */
  waiting: number;
  ready: number;
  downloading: number;
  jobsOutstanding: number;
  bytes: number;
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
  const jobs = j.outstanding().length;
  let waiting = s?.waiting ?? jobs;
  let ready = s?.ready ?? 0;
  let downloading = s?.downloading ?? 0;
  if (!pid) {
    ready += downloading; // no one downloads them now: the next run takes them first
    downloading = 0;
  }
  // The journal is the authority on jobs outstanding; the snapshot may be a few seconds older.
  if (waiting + ready + downloading !== jobs) waiting = Math.max(0, jobs - ready - downloading);
  const done = j.doneCount();
  const secs = s ? (s.at - s.startedAt) / 1000 : 0;
  const rate = s && secs > 0 ? s.bytesThisRun / secs : 0;
  const bytes = s?.bytes ?? 0;
  const bytesDone = Math.min(bytes, s?.bytesDone ?? 0);
  const left = bytes - bytesDone;
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
