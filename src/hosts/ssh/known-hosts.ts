/**
 * known_hosts in OpenSSH's format: plain and hashed (`|1|salt|hmac`) host patterns, `[host]:port`
 * for ports other than 22, wildcards and negation, and `@revoked` lines.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownKey {
  keyType: string;
  keyBase64: string;
  line: number;
  revoked: boolean;
}

export type HostKeyVerdict =
  | { kind: 'match'; line: number }
  | { kind: 'unknown' }
  | { kind: 'mismatch'; known: KnownKey[] }
  | { kind: 'revoked'; line: number };

/** `SHA256:...` as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named at the start of an SSH public key blob (`ssh-ed25519`, ...). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return 'unknown';
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** How a host appears in known_hosts: `host`, or `[host]:port` off port 22. */
export function hostPattern(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function globMatch(pattern: string, text: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replaceAll('*', '.*')
    .replaceAll('?', '.');
  return new RegExp(`^${regex}$`, 'i').test(text);
}

function hashedMatch(entry: string, host: string): boolean {
  const [, magic, salt, hash] = entry.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  const digest = createHmac('sha1', Buffer.from(salt, 'base64')).update(host).digest('base64');
  return digest === hash;
}

/** Does a known_hosts host field (comma-separated patterns) name this host? */
export function hostFieldMatches(field: string, host: string): boolean {
  if (field.startsWith('|')) return hashedMatch(field, host);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), host)) return false;
    } else if (globMatch(pattern, host)) {
      matched = true;
    }
  }
  return matched;
}

/** Every key known_hosts holds for the host, in file order. */
export function keysForHost(text: string, host: string): KnownKey[] {
  const keys: KnownKey[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let revoked = false;
    if (fields[0]?.startsWith('@')) {
      const marker = fields.shift();
      // Certificate authorities sign host certificates, which ygg does not use.
      if (marker === '@cert-authority') return;
      revoked = marker === '@revoked';
    }
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) return;
    if (!hostFieldMatches(hosts, host)) return;
    keys.push({ keyType, keyBase64, line: index + 1, revoked });
  });
  return keys;
}

/** Checks a presented host key against known_hosts text. */
export function verifyKnownHost(text: string, host: string, keyBlob: Buffer): HostKeyVerdict {
  const presented = keyBlob.toString('base64');
  const keys = keysForHost(text, host);
  const revoked = keys.find((k) => k.revoked && k.keyBase64 === presented);
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const valid = keys.filter((k) => !k.revoked);
  const match = valid.find((k) => k.keyBase64 === presented);
  if (match) return { kind: 'match', line: match.line };
  return valid.length === 0 ? { kind: 'unknown' } : { kind: 'mismatch', known: valid };
}

/** Reads known_hosts; a missing file is an empty one. */
export async function readKnownHosts(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/** A known_hosts line for the host and key; hashed like `HashKnownHosts yes` when asked. */
export function knownHostsLine(host: string, keyBlob: Buffer, options: { hashed?: boolean } = {}): string {
  let field = host;
  if (options.hashed) {
    const salt = randomBytes(20);
    const digest = createHmac('sha1', salt).update(host).digest('base64');
    field = `|1|${salt.toString('base64')}|${digest}`;
  }
  return `${field} ${keyTypeOf(keyBlob)} ${keyBlob.toString('base64')}`;
}

/** Appends a line to known_hosts, creating the file (owner-only) and its folder when missing. */
export async function appendKnownHost(path: string, line: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const existing = await readKnownHosts(path);
  const prefix = existing === '' || existing.endsWith('\n') ? '' : '\n';
  await appendFile(path, `${prefix}${line}\n`, { mode: 0o600 });
}
