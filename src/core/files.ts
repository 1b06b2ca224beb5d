// Small file-system facts shared by the lock and state files of downloads and restores.
import { promises as fsp } from 'node:fs';

/** Whether process `pid` exists on this machine (EPERM: it exists but belongs to another user). A lock whose
 * holder is gone is stale and may be taken over. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** fsyncs a folder, so that a rename or a new file in it survives a power cut (POSIX leaves that to the folder). */
export async function syncDir(dir: string): Promise<void> {
  const d = await fsp.open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
