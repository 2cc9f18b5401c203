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
] as const;
export type ErrorCode = (typeof ErrorCodes)[number];

export class AppError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = 'AppError';
  }
}
