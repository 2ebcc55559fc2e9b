import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hostKeyCheck } from '../../src/hosts/ssh/host-key.js';
import {
  appendKnownHost,
  fingerprint,
  hostFieldMatches,
  knownHostsLine,
  verifyKnownHost,
} from '../../src/hosts/ssh/known-hosts.js';
import { testDir } from '../helpers/tmp.js';

async function keyPair(dir: string, name: string): Promise<{ blob: Buffer; line: string; file: string }> {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
  const line = (await readFile(`${file}.pub`, 'utf8')).trim();
  return { blob: Buffer.from(line.split(' ')[1]!, 'base64'), line, file };
}

const ssh = (knownHosts: string, extra: object = {}) => ({
  address: '10.0.0.5',
  port: 2222,
  user: 'ygg',
  knownHosts,
  keepaliveMs: 1000,
  maxChannelsPerConnection: 5,
  connectTimeoutMs: 1000,
  ...extra,
});

describe('known_hosts', () => {
  it('matches fingerprints as ssh-keygen prints them', async () => {
    const dir = await testDir('fp');
    const key = await keyPair(dir, 'k');
    const printed = execFileSync('ssh-keygen', ['-lf', `${key.file}.pub`], { encoding: 'utf8' }).split(
      ' ',
    )[1];
    expect(fingerprint(key.blob)).toBe(printed);
  });

  it('finds plain, bracketed-port, wildcard and hashed entries', async () => {
    const dir = await testDir('kh');
    const key = await keyPair(dir, 'k');
    const [type, b64] = key.line.split(' ');
    expect(verifyKnownHost(`[10.0.0.5]:2222 ${type} ${b64}\n`, '[10.0.0.5]:2222', key.blob)).toEqual({
      kind: 'match',
      line: 1,
    });
    expect(verifyKnownHost(`10.0.0.* ${type} ${b64}\n`, '10.0.0.5', key.blob).kind).toBe('match');
    expect(hostFieldMatches('10.0.0.*,!10.0.0.5', '10.0.0.5')).toBe(false);
    // A file hashed by ssh-keygen -H, as HashKnownHosts writes it.
    const file = join(dir, 'known_hosts');
    await writeFile(file, `# comment\n[10.0.0.5]:2222 ${type} ${b64}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', file], { stdio: 'ignore' });
    const hashed = await readFile(file, 'utf8');
    expect(hashed).toContain('|1|');
    expect(hashed).not.toContain('10.0.0.5');
    expect(verifyKnownHost(hashed, '[10.0.0.5]:2222', key.blob).kind).toBe('match');
    expect(verifyKnownHost(hashed, '[10.0.0.6]:2222', key.blob).kind).toBe('unknown');
    expect(verifyKnownHost(knownHostsLine('h', key.blob, { hashed: true }), 'h', key.blob).kind).toBe(
      'match',
    );
  });

  it('refuses unknown, changed and revoked keys with what to check', async () => {
    const dir = await testDir('refuse');
    const real = await keyPair(dir, 'real');
    const other = await keyPair(dir, 'other');
    const file = join(dir, 'known_hosts');

    const unknown = hostKeyCheck('surtr', ssh(file), '');
    expect(unknown.verify(real.blob)).toBe(false);
    expect(unknown.failure?.message).toMatch(
      /host key of surtr \(\[10\.0\.0\.5\]:2222\) is not known: SHA256:/,
    );
    expect(unknown.failure?.hint).toMatch(/ygg hosts trust surtr/);
    // Hints name settings as they are written in hosts.yaml.
    expect(unknown.failure?.hint).toContain('pin it as hosts.surtr.fingerprint in hosts.yaml');

    const changed = hostKeyCheck('surtr', ssh(file), knownHostsLine('[10.0.0.5]:2222', other.blob));
    expect(changed.verify(real.blob)).toBe(false);
    expect(changed.failure?.message).toMatch(/HOST KEY CHANGED for surtr/);
    expect(changed.failure?.message).toContain(fingerprint(other.blob));
    expect(changed.failure?.hint).toMatch(/ssh-keygen -R/);

    const revoked = hostKeyCheck(
      'surtr',
      ssh(file),
      `@revoked ${knownHostsLine('[10.0.0.5]:2222', real.blob)}`,
    );
    expect(revoked.verify(real.blob)).toBe(false);
    expect(revoked.failure?.message).toMatch(/@revoked/);

    const pinned = hostKeyCheck('surtr', ssh(file, { fingerprint: fingerprint(other.blob) }), '');
    expect(pinned.verify(real.blob)).toBe(false);
    expect(pinned.failure?.message).toMatch(/hosts.yaml pins/);
    expect(pinned.failure?.hint).toContain('update hosts.surtr.fingerprint in hosts.yaml');
    expect(
      hostKeyCheck('surtr', ssh(file, { fingerprint: fingerprint(real.blob) }), '').verify(real.blob),
    ).toBe(true);
  });

  it('appends a trusted key to a new known_hosts file, owner-only', async () => {
    const dir = await testDir('append');
    const key = await keyPair(dir, 'k');
    const file = join(dir, 'sub', 'known_hosts');
    await appendKnownHost(file, knownHostsLine('[10.0.0.5]:2222', key.blob));
    const text = await readFile(file, 'utf8');
    expect(verifyKnownHost(text, '[10.0.0.5]:2222', key.blob).kind).toBe('match');
    const { stat } = await import('node:fs/promises');
    expect((await stat(file)).mode & 0o077).toBe(0);
  });
});
