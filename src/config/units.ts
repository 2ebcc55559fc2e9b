/** Durations and sizes as written in hosts.yaml, and their conversion to milliseconds and bytes. */

/** `250ms`, `30s`, `1.5m`, `1h`, `30d`; a bare number means seconds. */
export const durationPattern = /^\d+(\.\d+)?(ms|s|m|h|d)$/;
/** `512M`, `2G`, `64KiB`, `1T`; binary multiples; a bare number means bytes. */
export const sizePattern = /^\d+(\.\d+)?\s*([KMGT])(i?B)?$/i;

export const durationHint = 'expected a duration like 250ms, 30s, 5m, 1h, 30d, or a number of seconds';
export const sizeHint = 'expected a size like 512M, 2G, or a number of bytes';

const durationUnitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const sizeUnitBytes: Record<string, number> = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Milliseconds of a hosts.yaml duration (the schema has already checked its form). */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  const match = durationPattern.exec(value.trim());
  if (!match) throw new RangeError(`${JSON.stringify(value)}: ${durationHint}`);
  const unit = match[2] as string;
  return Math.round(Number.parseFloat(value) * (durationUnitMs[unit] as number));
}

/**
 * Milliseconds of a duration typed on the command line (or in an `add --from` line). One rule
 * with hosts.yaml: a bare number is seconds, except under a name ending `-ms`/`_ms`
 * (`--simulate-ms`, `timeout_ms`), where it is milliseconds. A unit always wins.
 */
export function parseDurationText(text: string, bare: 'seconds' | 'milliseconds' = 'seconds'): number {
  const value = text.trim();
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * (bare === 'seconds' ? 1000 : 1));
  if (!durationPattern.test(value)) throw new RangeError(durationTextHint(bare));
  return parseDuration(value);
}

/** What a command-line duration may look like, for its error message. */
export function durationTextHint(bare: 'seconds' | 'milliseconds' = 'seconds'): string {
  return `use a duration such as 250ms, 30s, 5m, 1h, or a bare number of ${bare}`;
}

/** Bytes of a hosts.yaml size (the schema has already checked its form). */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') return Math.round(value);
  const match = sizePattern.exec(value.trim());
  if (!match) throw new RangeError(`${JSON.stringify(value)}: ${sizeHint}`);
  const unit = (match[2] as string).toUpperCase();
  return Math.round(Number.parseFloat(value) * (sizeUnitBytes[unit] as number));
}
