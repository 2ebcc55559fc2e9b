import { createHash } from 'node:crypto';

/** Base36 digits of a SHA-256, as bd's hash ids use. */
function base36Hash(text: string, length: number): string {
  const digest = createHash('sha256').update(text).digest();
  let n = digest.readBigUInt64BE(0);
  let out = '';
  for (let i = 0; i < length; i++) {
    out += Number(n % 36n).toString(36);
    n /= 36n;
  }
  return out;
}

/**
 * A bd-style hash id (`prefix-a1b2`): 4 to 8 base36 characters, longer as the file grows and on
 * collision, like bd's adaptive ids.
 */
export function newHashId(
  prefix: string,
  seed: string,
  exists: (id: string) => boolean,
  count: number,
): string {
  let length = 4;
  while (length < 8 && 36 ** length < 20 * (count + 1)) length++;
  for (let nonce = 0; ; nonce++) {
    const len = Math.min(8, length + Math.floor(nonce / 3));
    const id = `${prefix}-${base36Hash(`${seed}\u0000${nonce}`, len)}`;
    if (!exists(id)) return id;
  }
}
