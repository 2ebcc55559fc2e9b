import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnquotableArgumentError } from '../../src/hosts/quote.js';
import { SshTransport } from '../../src/hosts/ssh/transport.js';
import { processesMatching, type SshdInstance, startSuiteSshd } from '../helpers/sshd.js';
import { testDir } from '../helpers/tmp.js';
import { waitUntil } from '../helpers/wait.js';

describe('SSH exec against a real sshd', () => {
  let sshd: SshdInstance;
  let transport: SshTransport;

  beforeAll(async () => {
    sshd = await startSuiteSshd('ssh-exec');
    transport = new SshTransport('alpha', sshd.sshSettings());
  });

  afterAll(async () => {
    await transport?.close();
    await sshd?.stop();
  });

  it('runs an argv and reports output, exit code and duration', async () => {
    const ok = await transport.exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(ok).toMatchObject({ code: 3, signal: null, stdout: 'out\n', stderr: 'err\n' });
    expect(ok.stdoutTruncated).toBe(false);
    expect(ok.durationMs).toBeGreaterThan(0);
    const who = await transport.exec(['id', '-un']);
    expect(who.stdout.trim()).toBe('yggtest');
  });

  it('reuses one pooled connection for sequential commands', async () => {
    const before = transport.pool.opened;
    for (let i = 0; i < 20; i++) expect((await transport.exec(['true'])).code).toBe(0);
    expect(transport.pool.opened).toBe(before === 0 ? 1 : before);
    expect(transport.pool.size).toBe(1);
  });

  it('passes every byte of hostile arguments through as data, never as shell', async () => {
    const dir = await testDir('hostile-args');
    const marker = join(dir, 'pwned');
    const args = [
      `$(touch ${marker}-dollar)`,
      `\`touch ${marker}-backtick\``,
      `; touch ${marker}-semicolon`,
      `' ; touch ${marker}-quote ; '`,
      '"double" \\back\\slash',
      'line one\nline two\n',
      '',
      '  spaced  ',
      '*',
      '~',
      'A=b',
      '$HOME',
      '| cat',
      '&& exit 7',
    ];
    const result = await transport.exec(['printf', '[%s]\\n', ...args], {
      env: { EVIL: `$(touch ${marker}-env)'"` },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(args.map((a) => `[${a}]\n`).join(''));
    const env = await transport.exec(['printenv', 'EVIL'], { env: { EVIL: `$(touch ${marker}-env)'"` } });
    expect(env.stdout).toBe(`$(touch ${marker}-env)'"\n`);
    for (const suffix of ['dollar', 'backtick', 'semicolon', 'quote', 'env']) {
      expect(existsSync(`${marker}-${suffix}`)).toBe(false);
    }
  });

  it('refuses an argv with NUL before anything runs', async () => {
    await expect(transport.exec(['echo', 'a\0; touch /tmp/ygg-nul'])).rejects.toBeInstanceOf(
      UnquotableArgumentError,
    );
    await expect(transport.exec(['echo'], { env: { X: 'a\0b' } })).rejects.toThrow(/NUL/);
    expect(existsSync('/tmp/ygg-nul')).toBe(false);
  });

  it('applies env, cwd and stdin', async () => {
    const dir = await testDir('env-cwd');
    const { mkdir, chmod } = await import('node:fs/promises');
    const cwd = join(dir, 'a dir with spaces');
    await mkdir(cwd);
    await chmod(dir, 0o755);
    const result = await transport.exec(['sh', '-c', 'pwd; printf "%s|" "$GREETING"; cat'], {
      env: { GREETING: 'it\'s a "test"' },
      cwd,
      stdin: 'from stdin\n',
    });
    expect(result.stdout).toBe(`${cwd}\nit's a "test"|from stdin\n`);
  });

  it('keeps a bounded amount of output and flags the rest as truncated', async () => {
    const result = await transport.exec(
      ['sh', '-c', 'head -c 300000 /dev/zero | tr "\\0" a; echo done >&2'],
      {
        maxOutputBytes: 1000,
      },
    );
    expect(result.stdout).toBe('a'.repeat(1000));
    expect(result.stdoutTruncated).toBe(true);
    expect(result.stderr).toBe('done\n');
    expect(result.stderrTruncated).toBe(false);
  });

  it('streams output as it arrives, and cancelling ends the whole remote process group', async () => {
    const marker = `9${Date.now() % 100000}.5`;
    const controller = new AbortController();
    const seen: string[] = [];
    const result = await transport.exec(
      ['sh', '-c', `sleep ${marker} & echo started; sleep ${marker}1; wait`],
      {
        signal: controller.signal,
        onOutput: (chunk, stream) => {
          seen.push(`${stream}:${chunk}`);
          if (chunk.includes('started')) controller.abort();
        },
      },
    );
    expect(seen).toEqual(['stdout:started\n']);
    expect(result.limit).toBe('cancelled');
    expect(result.code).toBeNull();
    expect(result.signal).toBe('SIGKILL');
    await waitUntil(() => processesMatching(`sleep ${marker}`).length === 0, {
      what: 'remote sleeps to end',
    });
  });

  it('ends a command past its timeout, group included', async () => {
    const marker = `8${Date.now() % 100000}.5`;
    const result = await transport.exec(['sh', '-c', `sleep ${marker} & sleep ${marker}; wait`], {
      timeoutMs: 300,
    });
    expect(result.limit).toBe('time');
    expect(result.durationMs).toBeGreaterThanOrEqual(300);
    await waitUntil(() => processesMatching(`sleep ${marker}`).length === 0, {
      what: 'remote sleeps to end',
    });
  });

  it('copies files with put and get over SFTP', async () => {
    const dir = await testDir('sftp');
    const { chmod } = await import('node:fs/promises');
    await chmod(dir, 0o777);
    const local = join(dir, 'local.bin');
    const payload = Buffer.alloc(200_000, 7);
    await writeFile(local, payload);
    await transport.put(local, join(dir, 'remote.bin'));
    const size = await transport.exec(['stat', '-c', '%s %U', join(dir, 'remote.bin')]);
    expect(size.stdout.trim()).toBe('200000 yggtest');
    await transport.get(join(dir, 'remote.bin'), join(dir, 'back.bin'));
    expect((await readFile(join(dir, 'back.bin'))).equals(payload)).toBe(true);
  });

  it('probes with a round trip and reports latency', async () => {
    const { latencyMs } = await transport.probe();
    expect(latencyMs).toBeGreaterThan(0);
    expect(latencyMs).toBeLessThan(5000);
  });
});
