// Typed errors. The SDK reports them in call results (or throws them in strict mode);
// the sidecar maps them to HTTP statuses. `kind` is also the `trading_errors_total` label.

export interface ErrorDetail {
  index?: number;
  path: string;
  message: string;
}

export abstract class EdgewatchError extends Error {
  abstract readonly kind: string;
}

/** Bad input: nothing was written. */
export class ValidationError extends EdgewatchError {
  readonly kind = 'validation';
  /** What was invalid ("invalid trade"), without the details the message lists after it. */
  readonly summary: string;
  constructor(
    message: string,
    readonly details: ErrorDetail[],
  ) {
    super(details.length ? `${message}: ${details.map(formatDetail).join('; ')}` : message);
    this.name = 'ValidationError';
    this.summary = message;
  }
}

/** The same id was recorded before with other content: nothing was written. */
export class ConflictError extends EdgewatchError {
  readonly kind = 'conflict';
  constructor(
    message: string,
    readonly details: ErrorDetail[],
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** A cardinality limit (strategies, versions, symbols) refused a new name: nothing was written. */
export class LimitError extends EdgewatchError {
  readonly kind = 'limit';
  constructor(
    message: string,
    readonly limit: string,
  ) {
    super(message);
    this.name = 'LimitError';
  }
}

/** A referenced thing does not exist (unknown version, experiment). */
export class NotFoundError extends EdgewatchError {
  readonly kind = 'not_found';
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export type LedgerFault = 'disk_full' | 'readonly' | 'busy' | 'io' | 'corrupt' | 'closed' | 'other';

/** The ledger could not write (disk full, read-only file, ...): nothing was written. */
export class LedgerError extends EdgewatchError {
  readonly kind = 'ledger';
  constructor(
    message: string,
    readonly fault: LedgerFault,
    cause?: unknown,
  ) {
    super(message, { cause });
    this.name = 'LedgerError';
  }
}

/** A configuration mistake, thrown at start-up / open with what to write instead. */
export class ConfigError extends EdgewatchError {
  readonly kind = 'config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function formatDetail(d: ErrorDetail): string {
  return `${d.index !== undefined ? `[${d.index}] ` : ''}${d.path}: ${d.message}`;
}
