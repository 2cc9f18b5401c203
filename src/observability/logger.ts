/**
 * The root pino logger: structured JSON on stdout, level from config,
 * passwords and tokens redacted wherever they appear in a logged object.
 */
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** Paths pino censors: EMQX's plaintext password and every token or secret we hold. */
export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'clientinfo.password',
  'request.clientinfo.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'secret',
  '*.secret',
];

export function createLogger(level: LevelWithSilent, destination?: DestinationStream): Logger {
  return pino(
    {
      name: 'hookwarden',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
