/**
 * One process per data directory: `DIR/LOCK` holds the owner's pid. A lock
 * left by a dead process (kill -9) is taken over; a live owner is an error
 * that names it.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JournalError } from './journal-errors.js';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `dir/LOCK` for this process; a lock left by a dead process is taken over. */
export function acquireLock(dir: string): string {
  const file = join(dir, 'LOCK');
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return file;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new JournalError('EXH_JOURNAL_SETUP', `cannot lock the data directory ${dir}: ${(err as Error).message}`, { cause: err });
    }
  }
  const pid = Number(readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
    throw new JournalError(
      'EXH_JOURNAL_SETUP',
      `the data directory ${dir} is in use by process ${pid}${pid === process.pid ? ' (this one: close the other journal first)' : ''}: ` +
        'stop it or use another --data-dir (if no hookwarden runs there, delete the LOCK file)',
    );
  }
  writeFileSync(file, String(process.pid));
  return file;
}

export function releaseLock(file: string | undefined): void {
  if (file) rmSync(file, { force: true });
}
