import { fileURLToPath } from 'node:url';

const preload = fileURLToPath(new URL('./other-machine.mjs', import.meta.url));

/**
 * Environment for a child process that should see itself as running on machine `name`, whose
 * clock is `clockSkewMs` off (ahead when positive).
 */
export function otherMachine(name: string, options: { clockSkewMs?: number } = {}): Record<string, string> {
  const nodeOptions = [process.env.NODE_OPTIONS, `--import=${preload}`].filter(Boolean).join(' ');
  return {
    NODE_OPTIONS: nodeOptions,
    YGG_TEST_MACHINE: name,
    ...(options.clockSkewMs ? { YGG_TEST_CLOCK_SKEW_MS: String(options.clockSkewMs) } : {}),
  };
}
