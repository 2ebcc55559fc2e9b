/** The flags with which `ygg loop` is observed: the status server and the log level. */
import { type Command, InvalidArgumentError } from 'commander';
import { logLevels } from '../observe/log-levels.js';

export type { ObserveFlags } from '../app/observers.js';

/** Adds the observing flags to `ygg loop`. */
export function withObserveOptions(command: Command): Command {
  return command
    .option(
      '--status-host <address>',
      'status server address; other than 127.0.0.1 requires the token for every request',
    )
    .option(
      '--status-port <port>',
      'status server port (default: status.port in hosts.yaml, 7467); 0 picks a free one',
      parsePort,
    )
    .option('--no-status', 'do not start the status server')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', parseLevel, 'info');
}

/** A log level, refused at once (exit 2) rather than after the store is opened. */
function parseLevel(value: string): string {
  const level = value.toLowerCase();
  if (!(logLevels as readonly string[]).includes(level))
    throw new InvalidArgumentError(`use one of ${logLevels.join(', ')}.`);
  return level;
}

/** A TCP port for --status-port: an integer from 0 (any free one) to 65535. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value.trim()) || port > 65_535)
    throw new InvalidArgumentError(`${value} is not a port: give a number from 0 (any free one) to 65535`);
  return port;
}
