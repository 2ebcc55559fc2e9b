import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAuth, SshAuthError } from '../../src/hosts/ssh/auth.js';
import { testDir } from '../helpers/tmp.js';

const ssh = (keyFile?: string) => ({
  address: '10.0.0.5',
  port: 22,
  user: 'ygg',
  ...(keyFile ? { keyFile } : {}),
  keepaliveMs: 1000,
  maxChannelsPerConnection: 5,
  connectTimeoutMs: 1000,
});

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected loadAuth to fail');
    },
    (error: unknown) => error as SshAuthError,
  );

describe('SSH login hints name the hosts.yaml keys', () => {
  const agent = process.env.SSH_AUTH_SOCK;
  afterEach(() => {
    if (agent === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = agent;
  });

  it('points at hosts.NAME.key when there is neither a key nor an agent', async () => {
    delete process.env.SSH_AUTH_SOCK;
    const error = await failure(loadAuth('surtr', ssh()));
    expect(error).toBeInstanceOf(SshAuthError);
    expect(error.hint).toContain('Set hosts.surtr.key in hosts.yaml');
  });

  it('points at hosts.NAME.key when the key file is missing or unusable', async () => {
    const dir = await testDir('auth-hints');
    const missing = await failure(loadAuth('surtr', ssh(join(dir, 'nope'))));
    expect(missing.hint).toContain('Check hosts.surtr.key in hosts.yaml');
    const garbage = join(dir, 'garbage');
    await writeFile(garbage, 'not a key\n', { mode: 0o600 });
    const unusable = await failure(loadAuth('surtr', ssh(garbage)));
    expect(unusable.hint).toContain('hosts.surtr.key');
    for (const error of [missing, unusable]) expect(error.hint).not.toMatch(/key_file|ssh\./);
  });
});
