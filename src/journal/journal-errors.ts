/**
 * Journal failures, one class per condition (nats.js style), each with a
 * stable `code` (fastify style, `EXH_JOURNAL_*`) and `cause` via ErrorOptions.
 * Messages say what to do.
 */
import { AppError, type ErrorCode } from '../errors.js';

export type JournalErrorCode = Extract<ErrorCode, `EXH_JOURNAL_${string}`>;

export class JournalError extends AppError<JournalErrorCode> {
  constructor(code: JournalErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
    this.name = 'JournalError';
  }
}

/**
 * A stale writer: the client's journal moved on since this instance loaded
 * it (JetStream `err_code` 10071, "wrong last sequence"), or an earlier
 * append of the client failed and the client is fenced. Nothing was written.
 * Fix: `load()` the client again, step the hook on the fresh state, append
 * again (or answer the fallback).
 */
export class ConflictError extends JournalError {
  /** JetStream's error code for a failed `expect.lastSubjectSequence`. */
  static readonly NATS_ERR_CODE = 10071;
  readonly clientId: string;
  /** The position the append expected to follow. */
  readonly expectedSeq: number;
  constructor(clientId: string, expectedSeq: number, message: string, options?: ErrorOptions) {
    super('EXH_JOURNAL_CONFLICT', message, options);
    this.name = 'ConflictError';
    this.clientId = clientId;
    this.expectedSeq = expectedSeq;
  }
}

/**
 * A durable append was not acknowledged before its deadline. The record may
 * still be stored (a JetStream publish that timed out can land later); the
 * client is fenced until `load()`, which shows whether it landed.
 */
export class AppendTimeoutError extends JournalError {
  readonly clientId: string;
  constructor(clientId: string, message: string, options?: ErrorOptions) {
    super('EXH_JOURNAL_TIMEOUT', message, options);
    this.name = 'AppendTimeoutError';
    this.clientId = clientId;
  }
}

export class JournalClosedError extends JournalError {
  constructor(message = 'the journal is closed: append before close() or open a new journal') {
    super('EXH_JOURNAL_CLOSED', message);
    this.name = 'JournalClosedError';
  }
}

export const isConflict = (err: unknown): err is ConflictError => err instanceof ConflictError;
