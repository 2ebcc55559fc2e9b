import { execFileSync, spawn } from 'node:child_process';
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SshAuthError } from '../../src/hosts/ssh/auth.js';
import { HostKeyError } from '../../src/hosts/ssh/host-key.js';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import { HostUnreachableError } from '../../src/hosts/transport.js';
import { type SshdInstance, startSuiteSshd } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';

/** The base64 body lines of a private key file: none may ever show up anywhere. */
async function secretLines(keyFile: string): Promise<string[]> {
  const text = await readFile(keyFile, 'utf8');
  return text.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
}

describe('SSH login and host keys against a real sshd', () => {
  let sshd: SshdInstance;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-auth');
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('refuses a changed host key and says what to check', async () => {
    const dir = await testDir('changed-key');
    const knownHosts = join(dir, 'known_hosts');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'impostor')]);
    const [type, blob] = (await readFile(join(dir, 'impostor.pub'), 'utf8')).split(' ');
    await writeFile(knownHosts, `[127.0.0.1]:${sshd.port} ${type} ${blob}\n`);
    await using transport = new SshTransport('surtr', sshd.sshSettings({ knownHosts }));
    const error = await transport.exec(['true']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HostKeyError);
    expect(error).toBeInstanceOf(HostUnreachableError);
    expect((error as HostKeyError).message).toMatch(/HOST KEY CHANGED for surtr/);
    expect((error as HostKeyError).message).toContain(sshd.hostFingerprint());
    expect((error as HostKeyError).hint).toMatch(/ssh-keygen -R/);
  });

  it('refuses an unknown host, and accepts it pinned by fingerprint or from a hashed known_hosts', async () => {
    const dir = await testDir('unknown-key');
    const empty = join(dir, 'empty_known_hosts');
    await using unknown = new SshTransport('fenrir', sshd.sshSettings({ knownHosts: empty }));
    await expect(unknown.probe()).rejects.toThrow(/host key of fenrir .* is not known: SHA256:/);

    await using pinned = new SshTransport(
      'fenrir',
      sshd.sshSettings({ knownHosts: empty, fingerprint: sshd.hostFingerprint() }),
    );
    expect((await pinned.exec(['echo', 'pinned'])).stdout).toBe('pinned\n');

    const hashed = join(dir, 'hashed_known_hosts');
    await copyFile(sshd.knownHostsFile, hashed);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    expect(await readFile(hashed, 'utf8')).not.toContain('127.0.0.1');
    await using viaHashed = new SshTransport('fenrir', sshd.sshSettings({ knownHosts: hashed }));
    expect((await viaHashed.exec(['echo', 'hashed'])).stdout).toBe('hashed\n');
  });

  it('reports a key file readable by others, with the fix', async () => {
    const dir = await testDir('key-perms');
    const key = join(dir, 'id_loose');
    await copyFile(sshd.clientKeyFile, key);
    await chmod(key, 0o644);
    await using transport = new SshTransport('skadi', sshd.sshSettings({ keyFile: key }));
    const error = await transport.exec(['true']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshAuthError);
    expect((error as SshAuthError).message).toMatch(/open to group or others \(mode 0644\)/);
    expect((error as SshAuthError).hint).toBe(`Run: chmod 600 ${key}`);
  });

  it('says when the server refuses the key', async () => {
    const dir = await testDir('wrong-key');
    const key = join(dir, 'id_other');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    await using transport = new SshTransport('skadi', sshd.sshSettings({ keyFile: key }));
    await expect(transport.probe()).rejects.toThrow(
      /SSH login to yggtest@127\.0\.0\.1:\d+ \(skadi\) was refused/,
    );
  });

  it('logs in through the SSH agent when no key file is set', async () => {
    const dir = await testDir('agent');
    const socket = join(dir, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      const { waitUntil } = await import('../helpers/wait.js');
      const { existsSync } = await import('node:fs');
      await waitUntil(() => existsSync(socket), { what: 'ssh-agent socket' });
      execFileSync('ssh-add', [sshd.clientKeyFile], {
        env: { ...process.env, SSH_AUTH_SOCK: socket },
        stdio: 'ignore',
      });
      const saved = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = socket;
      try {
        await using transport = new SshTransport('agent-host', sshd.sshSettings({ keyFile: undefined }));
        expect((await transport.exec(['echo', 'via agent'])).stdout).toBe('via agent\n');
      } finally {
        if (saved === undefined) delete process.env.SSH_AUTH_SOCK;
        else process.env.SSH_AUTH_SOCK = saved;
      }
      const saved2 = process.env.SSH_AUTH_SOCK;
      delete process.env.SSH_AUTH_SOCK;
      try {
        await using none = new SshTransport('agent-host', sshd.sshSettings({ keyFile: undefined }));
        await expect(none.probe()).rejects.toThrow(/no SSH agent is running/);
      } finally {
        if (saved2 !== undefined) process.env.SSH_AUTH_SOCK = saved2;
      }
    } finally {
      agent.kill();
    }
  });

  it('never lets the private key into errors, results or anything printed', async () => {
    const secrets = await secretLines(sshd.clientKeyFile);
    expect(secrets.length).toBeGreaterThan(0);
    const seen: string[] = [];
    const dir = await testDir('no-secrets');
    const loose = join(dir, 'id_loose');
    await copyFile(sshd.clientKeyFile, loose);
    await chmod(loose, 0o640);
    const attempts = [
      new SshTransport('a', sshd.sshSettings()),
      new SshTransport('b', sshd.sshSettings({ keyFile: loose })),
      new SshTransport('c', sshd.sshSettings({ knownHosts: join(dir, 'none') })),
      new SshTransport('d', sshd.sshSettings({ port: 1 })),
    ];
    for (const t of attempts) {
      try {
        const r = await t.exec(['sh', '-c', 'echo ok; env'], { sandbox: false });
        seen.push(JSON.stringify(r));
      } catch (error) {
        const e = error as Error & { hint?: string; cause?: unknown };
        seen.push(e.message, e.hint ?? '', e.stack ?? '', String(e.cause ?? ''), JSON.stringify(e));
      } finally {
        await t.close();
      }
    }
    const all = seen.join('\n');
    expect(all).toContain('ok');
    for (const line of secrets) expect(all).not.toContain(line);
  });
});
