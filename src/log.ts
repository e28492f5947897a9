// One logger factory: JSON lines for machines, pino-pretty when a person watches a terminal.
import { destination, pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import { ConfigError } from './errors.js';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const LOG_FORMATS = ['json', 'pretty'] as const;

/**
 * EDGEWATCH_LOG_LEVEL and EDGEWATCH_LOG_FORMAT, checked. Why here: pino throws a stack trace
 * for an unknown level, and a misspelt format used to be taken silently as "pretty on a
 * terminal". The CLI calls this before it starts anything, so a bad value stops it at once.
 */
export function logSettings(env: NodeJS.ProcessEnv = process.env): { level: string; pretty: boolean } {
  const level = env.EDGEWATCH_LOG_LEVEL || 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level))
    throw new ConfigError(`EDGEWATCH_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`);
  const format = env.EDGEWATCH_LOG_FORMAT || undefined;
  if (format !== undefined && !(LOG_FORMATS as readonly string[]).includes(format))
    throw new ConfigError(
      `EDGEWATCH_LOG_FORMAT must be json or pretty (got "${format}"; unset: pretty on a terminal, JSON otherwise)`,
    );
  // An explicit "pretty" is honoured off a terminal too (e.g. piped through less).
  return { level, pretty: format === 'pretty' || (format === undefined && process.stdout.isTTY === true) };
}

export function createLogger(name?: string, level?: string): Logger {
  const settings = logSettings();
  // Synchronous writes, pretty or not: a worker-thread transport or an async destination
  // let the lines reach the terminal after what the CLI prints itself (start's banner, a
  // failure line), out of the order in which they happened. Log volume is low (events,
  // not trades), so the cost of writing in line is small.
  const stream = settings.pretty
    ? pretty({
        sync: true,
        colorize: process.stdout.isTTY === true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
      })
    : destination({ dest: 1, sync: true });
  return pino(
    {
      ...(name ? { name } : {}),
      level: level ?? settings.level,
      // Never log a bearer token, even if a request object slips into a log call.
      redact: {
        paths: ['token', '*.token', 'req.headers.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    stream,
  );
}

/** A logger that drops everything (tests, or `logger: false`). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
