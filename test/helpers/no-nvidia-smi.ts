import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** This machine's PATH without any folder that holds nvidia-smi: a host with no GPU tools. */
export function pathWithoutNvidiaSmi(): string {
  return (process.env.PATH ?? '')
    .split(':')
    .filter((dir) => dir !== '' && !existsSync(join(dir, 'nvidia-smi')))
    .join(':');
}
