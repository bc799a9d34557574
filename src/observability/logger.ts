import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger: structured JSON lines. Tokens are never handed to it; the
 * redaction list is a second line of defence for fields that could carry one.
 */
export function createLogger(opts: { level?: string; stream?: 'stdout' | 'stderr' } = {}): Logger {
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'hks-aiops' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'authorization',
          'token',
          'password',
          '*.authorization',
          '*.token',
          '*.password',
          'headers.authorization',
          'req.headers.authorization',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: opts.stream === 'stderr' ? 2 : 1, sync: opts.stream === 'stderr' }),
  );
}

/** A logger that drops everything; for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
