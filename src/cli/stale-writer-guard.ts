/**
 * Hands the stale-writer check of a command's adds (see `settleElsewhere`) to a detached process,
 * `stale-writer-guard-main.js`: it waits out the window in which bd (which writes without a lock)
 * may rename a copy it read before the add over the file, and appends any add it dropped. The
 * command itself then ends as soon as its adds are durable, not 250 ms later.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddsToGuard } from '../store/store.js';

/** Where the guards' inputs wait (in ygg's runtime folder): one file per guarded command. */
export const guardFolder = (runtimeDir: string) => join(runtimeDir, 'guards');

export async function guardInAnotherProcess(adds: AddsToGuard): Promise<boolean> {
  const script = fileURLToPath(new URL('./stale-writer-guard-main.js', import.meta.url));
  // Run from source (in-process tests), there is no compiled guard: close() waits itself.
  if (!existsSync(script)) return false;
  const folder = guardFolder(adds.runtimeDir);
  await mkdir(folder, { recursive: true });
  const input = join(folder, `${process.pid}-${Date.now()}.jsonl`);
  const { path, runtimeDir, committedAt, settleMs } = adds;
  const header = Buffer.from(`${JSON.stringify({ path, runtimeDir, committedAt, settleMs })}\n`);
  await writeFile(input, Buffer.concat([header, ...adds.lines.flatMap((line) => [line, Buffer.from('\n')])]));
  const started = await new Promise<boolean>((resolve) => {
    const child = spawn(process.execPath, [script, input], { detached: true, stdio: 'ignore' });
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
    child.unref();
  });
  if (!started) await unlink(input).catch(() => undefined);
  return started;
}
