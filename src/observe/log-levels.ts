/** The log levels `--log-level` takes (in a module of their own: naming them loads no logger). */
export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
