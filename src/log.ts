// One logger factory: JSON lines for machines, pino-pretty when a person watches a terminal.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.EDGEWATCH_LOG_LEVEL ?? 'info'): Logger {
  const pretty = process.stdout.isTTY && process.env.EDGEWATCH_LOG_FORMAT !== 'json';
  return pino({
    name,
    level,
    // Never log a bearer token, even if a request object slips into a log call.
    redact: { paths: ['token', '*.token', 'req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } } } : {}),
  });
}

/** A logger that drops everything (tests, or `logger: false`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
