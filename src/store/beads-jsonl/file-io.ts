import type { BigIntStats } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { YggError } from '../../errors.js';
import type { StoreProblem } from '../store.js';
import type { LineRecord } from './line-record.js';

/** What identifies one version of the file: a change to any of these means someone wrote. */
export interface FileId {
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export const fileIdOf = (st: BigIntStats): FileId => ({
  ino: st.ino,
  size: st.size,
  mtimeNs: st.mtimeNs,
  ctimeNs: st.ctimeNs,
});

export const sameFile = (a: FileId | undefined, b: FileId | undefined): boolean =>
  !!a && !!b && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/** A file-level problem as a thrown YggError (with its kind for `problems()`). */
export class StoreFileError extends YggError {
  constructor(
    readonly problem: StoreProblem,
    cause?: unknown,
  ) {
    super(problem.message, { cause, hint: problem.hint });
  }
}

export function fileProblem(path: string, error: unknown): StoreFileError {
  const code = (error as NodeJS.ErrnoException).code;
  const at = (kind: StoreProblem['kind'], message: string, hint: string) =>
    new StoreFileError({ file: path, line: 0, kind, message, hint }, error);
  if (code === 'ENOENT')
    return at('missing-file', `${path} does not exist`, 'Run `ygg init`, or pass --store PATH.');
  if (code === 'EISDIR' || code === 'not-a-file') {
    return at(
      'not-a-file',
      `${path} is a folder, not a file`,
      'Point --store at the issues.jsonl file inside it.',
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return at(
      'permission',
      `no permission to read ${path}`,
      `Check the file's owner and mode (ls -l ${path}).`,
    );
  }
  return at(
    'missing-file',
    `cannot read ${path}: ${(error as Error).message}`,
    'Check that the path is readable.',
  );
}

export interface Snapshot {
  handle: FileHandle;
  id: FileId;
  bytes: Buffer;
}

/** Opens and reads the whole file, keeping the handle (later appends to this inode are seen). */
export async function readSnapshot(path: string): Promise<Snapshot> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw Object.assign(new Error('not a file'), { code: 'not-a-file' });
    const bytes = Buffer.allocUnsafe(Number(st.size));
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await handle.read(bytes, read, bytes.length - read, read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return { handle, id: { ...fileIdOf(st), size: BigInt(read) }, bytes: bytes.subarray(0, read) };
  } catch (error) {
    await handle?.close().catch(() => undefined);
    throw fileProblem(path, error);
  }
}

export async function statPath(path: string): Promise<FileId | undefined> {
  try {
    return fileIdOf(await stat(path, { bigint: true }));
  } catch {
    return undefined;
  }
}

const newline = Buffer.from('\n');

/** Buffers per `writev` (even: a line and its newline; below Linux's IOV_MAX of 1024). */
const writeBatch = 1000;

/** Writes every buffer, in order, however many calls it takes; returns the bytes written. */
async function writeFully(handle: FileHandle, buffers: Buffer[]): Promise<number> {
  let rest = buffers;
  let total = 0;
  for (;;) {
    const { bytesWritten } = await handle.writev(rest);
    total += bytesWritten;
    let left = bytesWritten;
    let done = 0;
    while (done < rest.length && left >= (rest[done] as Buffer).length)
      left -= (rest[done++] as Buffer).length;
    if (done === rest.length) return total;
    // A short write (rare): the rest of the buffer it stopped in, then the ones after it.
    rest = [(rest[done] as Buffer).subarray(left), ...rest.slice(done + 1)];
  }
}

/** Writes the lines to a new temp file beside `path` and fsyncs it; the handle stays open. */
export async function writeTemp(
  path: string,
  records: Pick<readonly LineRecord[], 'length' | 'at'>,
  finalNewline: boolean,
  mode: number,
): Promise<{ handle: FileHandle; tmpPath: string; size: number }> {
  const tmpPath = join(dirname(path), `.${basename(path)}.ygg-${process.pid}-${Date.now().toString(36)}.tmp`);
  const handle = await open(tmpPath, 'wx+', mode);
  try {
    let size = 0;
    // One array of buffers, filled again for each write: arrays grown anew per write were
    // megabytes of garbage per commit of a large file, kept alive across the disk's wait.
    const batch = new Array<Buffer>(writeBatch);
    let n = 0;
    const flush = async () => {
      if (n > 0) size += await writeFully(handle, n === writeBatch ? batch : batch.slice(0, n));
      n = 0;
    };
    for (let i = 0; i < records.length; i++) {
      batch[n++] = (records.at(i) as LineRecord).raw;
      if (i < records.length - 1 || finalNewline) batch[n++] = newline;
      if (n > writeBatch - 2) await flush();
    }
    await flush();
    batch.fill(newline);
    await handle.sync();
    return { handle, tmpPath, size };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * Appends `bytes` (whole lines) to the file at `path` if it is still the version `expected`;
 * returns the new version, or undefined when someone wrote first. The size is what we wrote,
 * not a fresh stat: an append by another writer right after ours must still show as a change.
 */
export async function appendIfUnchanged(
  path: string,
  expected: FileId,
  bytes: Buffer,
): Promise<FileId | undefined> {
  const handle = await open(path, 'a');
  try {
    if (!sameFile(fileIdOf(await handle.stat({ bigint: true })), expected)) return undefined;
    let written = 0;
    while (written < bytes.length) written += (await handle.write(bytes, written)).bytesWritten;
    await handle.datasync();
    return { ...fileIdOf(await handle.stat({ bigint: true })), size: expected.size + BigInt(bytes.length) };
  } finally {
    await handle.close();
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch {
    // some filesystems refuse fsync on a folder; the rename is still atomic
  } finally {
    await handle.close();
  }
}

/** Bytes appended to an open file since `from`: complete lines only, and where they end. */
export async function readAppended(
  handle: FileHandle,
  from: number,
): Promise<{ lines: Buffer[]; end: number }> {
  const st = await handle.stat();
  if (st.size <= from) return { lines: [], end: from };
  const bytes = Buffer.alloc(st.size - from);
  const { bytesRead } = await handle.read(bytes, 0, bytes.length, from);
  const got = bytes.subarray(0, bytesRead);
  const last = got.lastIndexOf(0x0a);
  if (last === -1) return { lines: [], end: from };
  const lines = got
    .subarray(0, last)
    .toString('latin1')
    .split('\n')
    .map((l) => Buffer.from(l, 'latin1'));
  return { lines, end: from + last + 1 };
}
