/**
 * `status.json` in the store's runtime folder: where a running loop's status server listens and
 * its token, owner-only, so `ygg monitor`, `ygg logs -f` and the user's browser can find it.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface StatusFile {
  pid: number;
  host: string;
  port: number;
  /** Base URL, e.g. `http://127.0.0.1:7420`. */
  url: string;
  token: string;
  startedAt: string;
  version: string;
}

export const statusFileName = 'status.json';

export function statusFilePath(runtimeDir: string): string {
  return join(runtimeDir, statusFileName);
}

/** Written to a temp file with mode 0600 and renamed, so a reader never sees half of it. */
export async function writeStatusFile(runtimeDir: string, status: StatusFile): Promise<string> {
  await mkdir(runtimeDir, { recursive: true });
  const path = statusFilePath(runtimeDir);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(status, null, 2)}\n`, { mode: 0o600 });
  await chmod(temp, 0o600);
  await rename(temp, path);
  return path;
}

/** The status file, or undefined when there is none or it cannot be read. */
export async function readStatusFile(runtimeDir: string): Promise<StatusFile | undefined> {
  try {
    const parsed = JSON.parse(await readFile(statusFilePath(runtimeDir), 'utf8')) as Partial<StatusFile>;
    if (typeof parsed.url !== 'string' || typeof parsed.token !== 'string') return undefined;
    return parsed as StatusFile;
  } catch {
    return undefined;
  }
}

/** Removes the file only if it still describes this server (another loop may have replaced it). */
export async function removeStatusFile(runtimeDir: string, token: string): Promise<void> {
  const current = await readStatusFile(runtimeDir);
  if (current?.token === token) await rm(statusFilePath(runtimeDir), { force: true });
}
