import { describe, expect, it } from 'vitest';
import { configDefaults } from '../../src/config/defaults.js';
import { commandNotFound } from '../../src/hosts/not-found.js';
import { parseTaskLimits, sandboxRequestFor } from '../../src/hosts/task-limits.js';

const host = { ...configDefaults.sandbox, runAs: 'nobody' };
const MiB = 2 ** 20;

describe('task sandbox limits', () => {
  it('reads hosts.yaml units: sizes, durations (whole CPU seconds, rounded up), counts', () => {
    expect(
      parseTaskLimits({ memory: '512M', cpu: '1.5s', file_size: 0, processes: 8, tmp: '1G', network: false }),
    ).toEqual({
      memoryBytes: 512 * MiB,
      cpuSeconds: 2,
      fileSizeBytes: 0,
      processes: 8,
      tmpBytes: 2 ** 30,
      network: false,
    });
    expect(parseTaskLimits(undefined)).toEqual({});
    expect(() => parseTaskLimits(['memory'])).toThrow(/metadata\.ygg\.limits: expected an object/);
    expect(() => parseTaskLimits({ tmp: 0 })).toThrow(/metadata\.ygg\.limits\.tmp: expected more than 0/);
  });

  it('layers host, type, handler, then the task, which only tightens', () => {
    const type = { memoryBytes: 64 * MiB, network: true, enabled: false, workRoot: '/srv/work' };
    expect(sandboxRequestFor(host, type, true, {})).toMatchObject({
      memoryBytes: 64 * MiB,
      network: true,
      enabled: false,
      workRoot: '/srv/work',
      runAs: 'nobody',
      cpuSeconds: host.cpuSeconds,
    });
    // The handler's own request wins over the type; the task can only lower it.
    const handler = { memoryBytes: 128 * MiB, gpu: true, workdir: '/srv/work/x' };
    expect(sandboxRequestFor(host, type, handler, { memoryBytes: 32 * MiB })).toMatchObject({
      memoryBytes: 32 * MiB,
      gpu: true,
      workdir: '/srv/work/x',
    });
    expect(sandboxRequestFor(host, type, handler, { memoryBytes: 4096 * MiB }).memoryBytes).toBe(128 * MiB);
    expect(sandboxRequestFor(host, undefined, true, { network: true }).network).toBe(false);
    expect(sandboxRequestFor(host, type, true, { network: false }).network).toBe(false);
  });
});

describe('commandNotFound', () => {
  const at = (code: number, stderr: string) => ({ code, stderr });
  it('knows how each layer says a program is missing', () => {
    expect(commandNotFound('foo', at(1, 'bwrap: execvp foo: No such file or directory\n'))).toBe(true);
    expect(
      commandNotFound('foo', at(127, 'timeout: failed to run command ‘foo’: No such file or directory\n')),
    ).toBe(true);
    expect(
      commandNotFound('foo', at(127, 'prlimit: failed to execute foo: No such file or directory\n')),
    ).toBe(true);
    expect(commandNotFound('foo', at(127, 'sh: 1: exec: foo: not found\n'))).toBe(true);
    expect(commandNotFound('./run.sh', at(127, 'bash: ./run.sh: command not found\n'))).toBe(true);
  });

  it('does not take a program that ran and failed for a missing one', () => {
    expect(commandNotFound('foo', at(1, 'foo: error\n'))).toBe(false);
    expect(commandNotFound('sh', at(127, 'sh: 1: bar: not found\n'))).toBe(false);
    expect(commandNotFound('foo', at(127, ''))).toBe(false);
    expect(commandNotFound('foo', at(1, 'bwrap: execvp foo: Permission denied\n'))).toBe(false);
  });
});
