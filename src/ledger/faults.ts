// SQLite's error codes as the ledger's faults, and the words an operator reads for each.
import type { LedgerFault } from '../errors.js';

export function faultOf(err: unknown): LedgerFault {
  const code = (err as { code?: string })?.code ?? '';
  if (code === 'SQLITE_FULL') return 'disk_full';
  if (code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM') return 'readonly';
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return 'busy';
  if (code.startsWith('SQLITE_IOERR') || code.startsWith('SQLITE_CANTOPEN')) return 'io';
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB') return 'corrupt';
  if (err instanceof TypeError && /not open/.test(String(err.message))) return 'closed';
  return 'other';
}

export const FAULT_TEXT: Record<LedgerFault, string> = {
  disk_full: 'the disk is full',
  readonly: 'the ledger file is read-only',
  busy: 'the ledger is locked by another writer (busy timeout exceeded)',
  io: 'an I/O error occurred',
  corrupt: 'the ledger file is corrupt',
  closed: 'the ledger is closed',
  other: 'an unexpected SQLite error occurred',
};
