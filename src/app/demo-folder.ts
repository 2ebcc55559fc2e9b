/** The demo's folder: the one given (kept), or a new temporary one removed on dispose, however the demo ends. */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';

export interface DemoFolder extends AsyncDisposable {
  path: string;
  temporary: boolean;
}

export async function openDemoFolder(dir?: string): Promise<DemoFolder> {
  if (dir) {
    const path = resolve(dir);
    await mkdir(path, { recursive: true }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST' && error.code !== 'ENOTDIR') throw error;
      throw new UsageError(`--dir ${dir}: ${path} is not a folder`, {
        hint: 'give a folder (made when missing), or leave --dir out for a temporary one',
      });
    });
    return { path, temporary: false, async [Symbol.asyncDispose]() {} };
  }
  const path = await mkdtemp(join(tmpdir(), 'ygg-demo-'));
  return {
    path,
    temporary: true,
    async [Symbol.asyncDispose]() {
      await rm(path, { recursive: true, force: true });
    },
  };
}
