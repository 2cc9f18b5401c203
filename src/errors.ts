/**
 * One error class with a registry of codes (fastify style); `cause` via
 * ErrorOptions (nats.js style). Messages name the fix.
 */
export const ErrorCodes = [
  'EXH_CONFIG_INVALID',
  'EXH_POLICY_INVALID',
  'EXH_DECODE_MISSING_FIELD',
  'EXH_CLI_USAGE',
  'EXH_STARTUP',
  'EXH_JOURNAL_CONFLICT',
  'EXH_JOURNAL_TIMEOUT',
  'EXH_JOURNAL_CLOSED',
  'EXH_JOURNAL_WRITE',
  'EXH_JOURNAL_OVERLOAD',
  'EXH_JOURNAL_SETUP',
  'EXH_BRIDGE_SETUP',
  'EXH_CLUSTER_SETUP',
  'EXH_NATS_UNSUPPORTED',
  'EXH_CLIENT_NEWER_VERSION',
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

/** The one error class; areas subclass it (JournalError, BridgeError) for `instanceof` checks only. */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'AppError';
  }
}
