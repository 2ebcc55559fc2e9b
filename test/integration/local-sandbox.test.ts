import { chmod, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../../src/hosts/local.js';
import { localSandboxWrap } from '../../src/hosts/sandbox-local.js';
import { ensureUser, SANDBOX_USER, testSandboxSettings } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';

describe('the same sandbox on the local transport', () => {
  it('wraps local commands, says which protections held and which limit ended them', async () => {
    const dir = await testDir('local-sandbox');
    await chmod(dir, 0o755);
    ensureUser(SANDBOX_USER);
    const settings = testSandboxSettings(join(dir, 'work'), { cpuSeconds: 1 });
    await using local = new LocalTransport('here', localSandboxWrap(settings));

    const ok = await local.exec(['sh', '-c', 'id -un; ls /root | wc -l; echo x > f; cat f'], {
      sandbox: true,
    });
    expect(ok.code).toBe(0);
    const expectedUser =
      process.getuid?.() === 0 ? SANDBOX_USER : (await import('node:os')).userInfo().username;
    expect(ok.stdout).toBe(`${expectedUser}\n0\nx\n`);
    expect(ok.protections).toEqual(expect.arrayContaining(['no network', 'home directories hidden']));

    const spin = await local.exec(['sh', '-c', 'while :; do :; done'], { sandbox: true, timeoutMs: 20_000 });
    expect(spin.limit).toBe('cpu');
    expect(spin.limitMessage).toBe('stopped: it used up its 1 s of CPU time');

    // Work directories the sandbox made are removed after each command.
    expect(await readdir(join(dir, 'work'))).toEqual([]);
    // Without `sandbox`, the command runs as before.
    expect((await local.exec(['sh', '-c', 'echo plain'])).protections).toBeUndefined();
  });
});
