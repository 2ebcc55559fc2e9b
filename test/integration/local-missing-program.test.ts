import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GpuSampler } from '../../src/hosts/gpu-sampler.js';
import { LocalTransport } from '../../src/hosts/local.js';
import { commandNotFound } from '../../src/hosts/not-found.js';
import { EventBus } from '../../src/observe/events.js';
import { pathWithoutNvidiaSmi } from '../helpers/no-nvidia-smi.js';
import { testDir } from '../helpers/tmp.js';

describe('a program missing on the local host', () => {
  it('exits 127 with a shell-like message, as over SSH, instead of throwing ENOENT', async () => {
    await using local = new LocalTransport('here');
    const chunks: string[] = [];
    const missing = await local.exec(['ygg-no-such-program', '--version'], {
      onOutput: (text, stream) => chunks.push(`${stream}:${text}`),
    });
    expect(missing).toMatchObject({
      code: 127,
      signal: null,
      stdout: '',
      stderr: 'ygg-no-such-program: command not found\n',
    });
    expect(chunks).toEqual(['stderr:ygg-no-such-program: command not found\n']);
    expect(commandNotFound('ygg-no-such-program', missing)).toBe(true);

    // A working directory that is not there is not taken for a missing program.
    const dir = await testDir('local-missing');
    const noCwd = await local.exec(['true'], { cwd: join(dir, 'gone') });
    expect(noCwd.code).toBe(126);
    expect(noCwd.stderr).toContain(`${join(dir, 'gone')}: No such file or directory`);
    expect(commandNotFound('true', noCwd)).toBe(false);
  });

  it('leaves the GPU sampler with no GPU data for a host without nvidia-smi, not a failure', async () => {
    const saved = process.env.PATH;
    process.env.PATH = pathWithoutNvidiaSmi();
    try {
      await using local = new LocalTransport('here');
      const bus = new EventBus();
      const samples: unknown[] = [];
      bus.on('gpu:sample', (s) => samples.push(s));
      const sampler = new GpuSampler(new Map([['here', local]]), { bus });
      expect(await sampler.sample('here')).toBeUndefined();
      expect(sampler.hasNoGpu('here')).toBe(true);
      expect(samples).toEqual([]);
    } finally {
      process.env.PATH = saved;
    }
  });
});
