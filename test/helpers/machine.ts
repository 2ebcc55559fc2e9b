import { fileURLToPath } from 'node:url';

const preload = fileURLToPath(new URL('./other-machine.mjs', import.meta.url));

/** Environment for a child process that should see itself as running on machine `name`. */
export function otherMachine(name: string): Record<string, string> {
  const options = [process.env.NODE_OPTIONS, `--import=${preload}`].filter(Boolean).join(' ');
  return { NODE_OPTIONS: options, YGG_TEST_MACHINE: name };
}
