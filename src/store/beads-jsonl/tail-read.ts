/**
 * Reading only what was appended to the Beads file since we last read it (`bd create`, `>>`, a
 * line another ygg process appended), instead of the whole file: a pickup on a large store then
 * costs the new line, not the store. Taken only when it is certainly an append: the same file
 * (inode), grown, our last read ending in a newline, the bytes just before the old end still our
 * last line, and the new bytes ending in a newline (a writer may be mid-line). Anything else
 * (a rename over the file, a truncation, an edit in place, a partial line) reads the whole file.
 */
import type { FileHandle } from 'node:fs/promises';
import type { FileId } from './file-io.js';
import type { LineRecord } from './line-record.js';

export interface Appended {
  /** The complete lines appended, without their newlines. */
  lines: Buffer[];
  /** The file as it is now (its size what was read). */
  id: FileId;
}

/** The appended lines, or undefined when the file must be read whole. */
export async function readTail(
  handle: FileHandle | undefined,
  known: FileId | undefined,
  now: FileId | undefined,
  fileRecords: readonly LineRecord[] | undefined,
  finalNewline: boolean,
): Promise<Appended | undefined> {
  if (!handle || !known || !now || !fileRecords || !finalNewline) return undefined;
  if (now.ino !== known.ino || now.size <= known.size) return undefined;
  const last = fileRecords.at(-1);
  // The old end as we wrote or read it: our last line and its newline.
  const expected = last ? Buffer.concat([last.raw, Buffer.from('\n')]) : Buffer.alloc(0);
  const from = Number(known.size);
  if (expected.length > from) return undefined;
  const start = from - expected.length;
  const bytes = Buffer.alloc(Number(now.size) - start);
  let read = 0;
  while (read < bytes.length) {
    const { bytesRead } = await handle.read(bytes, read, bytes.length - read, start + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  if (read !== bytes.length) return undefined; // shrank meanwhile
  if (!bytes.subarray(0, expected.length).equals(expected)) return undefined;
  const added = bytes.subarray(expected.length);
  if (added.at(-1) !== 0x0a) return undefined;
  const lines: Buffer[] = [];
  let at = 0;
  while (at < added.length) {
    const end = added.indexOf(0x0a, at);
    lines.push(added.subarray(at, end));
    at = end + 1;
  }
  return { lines, id: now };
}
