import { createHash } from 'node:crypto';

/**
 * The records of the write-ahead journal (`.ygg/issues.jsonl.wal`): one line per commit,
 *
 *     W <sum> <bytes> <payload>\n
 *
 * where the payload is JSON, `[[id, before|null, after], ...]`, each line's bytes as a latin1
 * string (so any bytes come back exactly), `<bytes>` its length and `<sum>` the first 16 hex
 * digits of its SHA-256. A record cut short by a crash (no newline yet, a wrong length or sum,
 * zeros after a power loss) is never applied in part: reading stops before it.
 */
export interface WalEntry {
  id: string;
  /** The line this write replaced (undefined: a new task). */
  before: Buffer | undefined;
  after: Buffer;
}

const sum = (payload: Buffer) => createHash('sha256').update(payload).digest('hex').slice(0, 16);

export function encodeRecord(entries: readonly WalEntry[]): Buffer {
  const payload = Buffer.from(
    JSON.stringify(
      entries.map((e) => [e.id, e.before ? e.before.toString('latin1') : null, e.after.toString('latin1')]),
    ),
    'utf8',
  );
  return Buffer.concat([Buffer.from(`W ${sum(payload)} ${payload.length} `), payload, Buffer.from('\n')]);
}

export interface DecodedRecords {
  /** Each whole record's entries, in order. */
  records: WalEntry[][];
  /** Where the whole records end (the next record starts here). */
  end: number;
  /** Records (lines) read, whole ones only. */
  lines: number;
  /** A record after `end` that is not whole: cut short, or with a wrong length or sum. */
  bad?: { bytes: number; reason: string };
}

const header = /^W ([0-9a-f]{16}) (\d{1,10}) $/;

/** Decodes the records in `bytes`, stopping at the first that is not whole. */
export function decodeRecords(bytes: Buffer): DecodedRecords {
  const records: WalEntry[][] = [];
  let at = 0;
  let lines = 0;
  const stop = (reason: string): DecodedRecords => ({
    records,
    end: at,
    lines,
    bad: { bytes: bytes.length - at, reason },
  });
  while (at < bytes.length) {
    const nl = bytes.indexOf(0x0a, at);
    if (nl === -1) return stop('cut short (no end of line)');
    // The header is ASCII and short: `W `, 16 hex digits, a space, the length, a space.
    const headEnd = bytes.indexOf(0x20, at + 19);
    const head =
      headEnd === -1 || headEnd > nl ? undefined : header.exec(bytes.toString('latin1', at, headEnd + 1));
    if (!head) return stop('not a journal record');
    const payload = bytes.subarray(headEnd + 1, nl);
    if (payload.length !== Number(head[2])) return stop(`${payload.length} of ${head[2]} bytes`);
    if (sum(payload) !== head[1]) return stop('its checksum does not match');
    let entries: WalEntry[];
    try {
      entries = (JSON.parse(payload.toString('utf8')) as Array<[string, string | null, string]>).map(
        ([id, before, after]) => ({
          id,
          before: before === null ? undefined : Buffer.from(before, 'latin1'),
          after: Buffer.from(after, 'latin1'),
        }),
      );
    } catch {
      return stop('its payload is not journal JSON');
    }
    records.push(entries);
    lines++;
    at = nl + 1;
  }
  return { records, end: at, lines };
}
