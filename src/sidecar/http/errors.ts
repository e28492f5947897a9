// How an error becomes an HTTP answer: status, `{error, details}` body, and the result label
// of edgewatch_ingest_events_total. Every route throws typed errors (src/errors.ts); this is the
// one place that maps them.
import {
  ConflictError,
  EdgewatchError,
  LedgerError,
  LimitError,
  NotFoundError,
  ValidationError,
  type ErrorDetail,
  type LedgerFault,
} from '../../errors.js';

/** Largest request body. */
export const MAX_BODY = '1mb';

export interface ErrorAnswer {
  status: number;
  body: { error: string; details: ErrorDetail[]; fault?: string };
  /** the edgewatch_ingest_events_total result label */
  result: string;
}

export function errorResponse(err: unknown): ErrorAnswer {
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.too.large')
    return { status: 413, body: { error: `body larger than ${MAX_BODY}`, details: [] }, result: 'rejected' };
  if (e?.type === 'entity.parse.failed')
    return {
      status: 400,
      body: { error: 'malformed JSON', details: [{ path: '', message: String(e.message).slice(0, 200) }] },
      result: 'rejected',
    };
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return { status: 415, body: { error: 'unsupported body encoding', details: [] }, result: 'rejected' };
  if (e?.status === 400 || e?.type === 'request.aborted')
    return { status: 400, body: { error: 'bad request body', details: [] }, result: 'rejected' };
  if (err instanceof ValidationError)
    return { status: 400, body: { error: err.summary, details: err.details }, result: 'rejected' };
  if (err instanceof ConflictError)
    return { status: 409, body: { error: err.message, details: err.details }, result: 'conflict' };
  if (err instanceof NotFoundError)
    return { status: 404, body: { error: err.message, details: [] }, result: 'rejected' };
  if (err instanceof LimitError)
    return {
      status: 422,
      body: { error: err.message, details: [{ path: err.limit, message: 'limit reached' }] },
      result: 'refused',
    };
  if (err instanceof LedgerError)
    return {
      status: 503,
      body: { error: withHint(err.message, err.fault), details: [], fault: err.fault },
      result: 'error',
    };
  if (err instanceof EdgewatchError)
    return { status: 400, body: { error: err.message, details: [] }, result: 'rejected' };
  return { status: 500, body: { error: 'internal error', details: [] }, result: 'error' };
}

/** What an operator does about a storage fault; SQLite's own words ("disk I/O error") do not say. */
const FAULT_HINT: Partial<Record<LedgerFault, string>> = {
  disk_full: 'free space on the ledger volume; writes resume by themselves',
  readonly: 'make the ledger file and its folder writable for the sidecar; writes resume by themselves',
  io: 'the ledger volume refused the write (a read-only remount, an immutable file or a failing disk: check the mount and the kernel log); writes resume once it takes writes again',
  busy: 'another process held the ledger write lock too long; retry',
  corrupt: 'stop writing and restore the ledger from a backup',
};

export function withHint(message: string, fault: LedgerFault | undefined): string {
  const hint = fault && FAULT_HINT[fault];
  return hint ? `${message} — ${hint}` : message;
}
