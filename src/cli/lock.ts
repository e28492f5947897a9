// One sidecar per ledger. Two sidecars on one ledger both fold its trades and both save the
// window state next to it, so each overwrites the other's and Prometheus, scraping one of
// them, sees windows the other one also claims: the second refuses to start instead.
//
// The lock is a small JSON file next to the ledger (<ledger>.sidecar) created with O_EXCL,
// holding pid, host and URL. A lock whose process is gone (a crash, kill -9) is taken over;
// one written on another host (a shared volume) cannot be checked and is refused with the
// file to delete.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { StartupError } from './failure.js';

interface Holder {
  pid: number;
  host: string;
  url?: string;
  startedAt: string;
}

export interface SidecarLock {
  path: string;
  /** Records where this sidecar listens, for the message another one prints. */
  update(url: string): void;
  release(): void;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, belongs to someone else
  }
}

function write(path: string, holder: Holder, flags: string): void {
  const fd = openSync(path, flags, 0o644);
  try {
    writeSync(fd, `${JSON.stringify(holder)}\n`);
  } finally {
    closeSync(fd);
  }
}

/**
 * Takes the lock of `ledger` or throws a StartupError naming the sidecar that holds it. A
 * folder where the lock cannot be written (read-only) gets no lock: opening the ledger
 * there fails next with its own message.
 */
export function lockLedger(ledger: string): SidecarLock | undefined {
  const path = `${ledger}.sidecar`;
  const me: Holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      write(path, me, 'wx');
      return {
        path,
        update: (url) => {
          try {
            write(path, { ...me, url }, 'w');
          } catch {
            // the lock still holds; only the URL in the message is missing
          }
        },
        release: () => {
          try {
            const holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
            if (holder.pid === me.pid && holder.host === me.host) unlinkSync(path);
          } catch {
            // gone already
          }
        },
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // EROFS, EACCES (see above), or ENOSPC after the file was made: leave no empty lock.
        try {
          unlinkSync(path);
        } catch {
          // never made
        }
        return undefined;
      }
    }
    let holder: Holder | undefined;
    try {
      holder = JSON.parse(readFileSync(path, 'utf8')) as Holder;
    } catch {
      holder = undefined; // half-written or unreadable: treat as stale
    }
    if (holder && holder.host !== me.host)
      throw new StartupError(
        `the sidecar on host ${holder.host} (pid ${holder.pid}) holds ${ledger}: stop it, or if it is gone delete ${path}`,
      );
    if (holder && holder.pid !== me.pid && alive(holder.pid))
      throw new StartupError(
        `another sidecar (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''}) already serves ${ledger}: stop it, or give this one another --db / EDGEWATCH_DB`,
      );
    try {
      unlinkSync(path); // its process is gone
    } catch {
      // someone else removed it first; try again
    }
  }
  throw new StartupError(`cannot take the sidecar lock ${path}: another sidecar is starting on the same ledger`);
}
