/** Pid lock files: one writer per dataset, run folder or render folder. */
import { unlinkSync, writeFileSync } from 'node:fs';
import { readRegularText } from './files.js';
import { UserError } from './errors.js';

/** A lock file's text (a pid); a FIFO or device put in its place is refused, never read. */
function readLock(path: string): string {
  return readRegularText(path, { what: 'lock file', maxBytes: 64 });
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the lock file `path` (created exclusively, holding our pid). A lock left by a process that
 * no longer exists (a kill -9) is taken over; one held by a live process throws the UserError whose
 * message `busy(pid)` gives. Errors other than "exists" (a folder that cannot be written) are thrown
 * as they are. Returns the release function: idempotent, and it removes the file only while the file
 * still holds our pid.
 */
export function takePidLock(path: string, busy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          if (readLock(path) === String(process.pid)) unlinkSync(path);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let pid = NaN;
      try {
        pid = Number(readLock(path).trim());
      } catch {
        /* removed meanwhile: try again */
      }
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidAlive(pid)) throw new UserError(busy(pid));
      try {
        unlinkSync(path); // stale: its process is gone
      } catch {
        /* raced with another taker */
      }
    }
  }
  throw new UserError(`${path}: could not take this lock (another process keeps taking it)`);
}
