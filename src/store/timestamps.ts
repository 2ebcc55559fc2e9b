/**
 * RFC 3339 times as bd writes them, at microsecond precision (old-era lines carry microseconds
 * and a local offset; new-era lines whole seconds in UTC).
 */

const rfc3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i;

/** Microseconds since the epoch, or undefined when the text is not an RFC 3339 time. */
export function parseMicros(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = rfc3339.exec(text);
  if (!m) {
    const ms = Date.parse(text);
    return Number.isNaN(ms) ? undefined : ms * 1000;
  }
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  const micros = Number(`${m[2] ?? ''}000000`.slice(0, 6));
  return seconds * 1000 + micros;
}

/** UTC RFC 3339 with the fraction Go would print (trailing zeros trimmed, none when whole). */
export function formatMicros(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = micros - whole * 1_000_000;
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  if (fraction === 0) return `${base}Z`;
  return `${base}.${String(fraction).padStart(6, '0').replace(/0+$/, '')}Z`;
}

/**
 * The next `updated_at` after `previous`: now in whole seconds when that moves forward, else
 * now with a fraction, else one microsecond past `previous` (bd's importer only takes a line
 * whose `updated_at` is strictly newer).
 */
export function nextTimestamp(previous: unknown, now: Date): string {
  const prev = parseMicros(previous);
  const nowMicros = now.getTime() * 1000;
  const wholeNow = Math.floor(nowMicros / 1_000_000) * 1_000_000;
  if (prev === undefined || wholeNow > prev) return formatMicros(wholeNow);
  return formatMicros(Math.max(nowMicros, prev + 1));
}
