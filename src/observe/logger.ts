/**
 * Structured logs: one JSON object per line (pino), human-readable through pino-pretty when the
 * destination is a terminal. Fields: `task_id`, `host`, `attempt`, `type` where they apply.
 * Secrets (API keys, tokens, passwords, private keys) are redacted wherever they appear.
 */
import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import { YggError } from '../errors.js';

export type { Logger } from 'pino';

import { logLevels } from './log-levels.js';

export { logLevels };
export type LogLevel = LevelWithSilent;

/** Paths redacted at any depth pino can express (top level and one or two levels down). */
const secretKeys = [
  'apiKey',
  'api_key',
  'token',
  'password',
  'passphrase',
  'privateKey',
  'private_key',
  'secret',
  'authorization',
  'Authorization',
];
export const redactPaths = secretKeys.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

export interface LoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Where lines go. Default: stdout. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Human-readable output. Default: whether the destination (stdout) is a terminal. */
  pretty?: boolean;
  /** Colour in pretty output. Default: on unless NO_COLOR is set. */
  colorize?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const isTty = (destination as { isTTY?: boolean }).isTTY === true;
  const usePretty = options.pretty ?? isTty;
  const base = {
    level: options.level ?? 'info',
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (usePretty) {
    const stream = pretty({
      destination: destination as NodeJS.WritableStream,
      colorize: options.colorize ?? (isTty && !process.env.NO_COLOR),
      ignore: 'pid,hostname',
      translateTime: 'HH:MM:ss.l',
      sync: true,
    });
    return pino(base, stream);
  }
  return pino(base, destination as DestinationStream);
}

/** Parse `--log-level`, refusing unknown names. */
export function parseLogLevel(value: string): LogLevel {
  const level = value.toLowerCase();
  if ((logLevels as readonly string[]).includes(level)) return level as LogLevel;
  throw new YggError(`unknown log level "${value}"`, { hint: `use one of ${logLevels.join(', ')}` });
}
