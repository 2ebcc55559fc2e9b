import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { formatProblem } from '../../src/config/problems.js';
import { parseTaskLimits, sandboxRequestFor } from '../../src/hosts/task-limits.js';

describe("hosts.yaml's sandbox keys for isolation: disk, cpu_share, env", () => {
  it('reads them into the host settings, with a 1G disk by default', () => {
    const parsed = parseConfig(
      'hosts:\n  a:\n    sandbox: {disk: 20M, cpu_share: 0.5, env: {HF_HOME: /data/hf}}\n  b: {}\n',
      'hosts.yaml',
    );
    const [a, b] = parsed.config!.hosts;
    expect(a!.sandbox).toMatchObject({
      diskBytes: 20 * 2 ** 20,
      cpuShare: 0.5,
      env: { HF_HOME: '/data/hf' },
    });
    expect(b!.sandbox.diskBytes).toBe(2 ** 30);
    expect(b!.sandbox.cpuShare).toBeUndefined();
  });

  it('names the key and line of a bad value', () => {
    const parsed = parseConfig(
      'hosts:\n  a:\n    sandbox:\n      env: {"BAD NAME": x}\n      cpu_share: 0\n',
      'hosts.yaml',
    );
    const errors = parsed.errors.map((p) => formatProblem(p)).join('\n');
    expect(errors).toMatch(/hosts\.yaml:4: hosts\.a\.sandbox\.env: expected environment variable names/);
    expect(errors).toMatch(/hosts\.yaml:5: hosts\.a\.sandbox\.cpu_share: expected a number of cores above 0/);
  });

  it('lets a task tighten its disk limit, never loosen it, and keeps cpu_share and env for hosts.yaml', () => {
    const host = parseConfig('hosts:\n  a:\n    sandbox: {disk: 100M}\n', 'h.yaml').config!.hosts[0]!.sandbox;
    expect(sandboxRequestFor(host, undefined, true, parseTaskLimits({ disk: '20M' })).diskBytes).toBe(
      20 * 2 ** 20,
    );
    expect(sandboxRequestFor(host, undefined, true, parseTaskLimits({ disk: '5G' })).diskBytes).toBe(
      100 * 2 ** 20,
    );
    // A type's env and cpu_share reach the command over the host's.
    const typed = sandboxRequestFor(host, { env: { A: 'type' }, cpuShare: 2 }, true, {});
    expect(typed).toMatchObject({ env: { A: 'type' }, cpuShare: 2 });
    expect(() => parseTaskLimits({ cpu_share: 8 })).toThrow(/cpu_share: only hosts\.yaml sets it/);
    expect(() => parseTaskLimits({ env: { A: 'b' } })).toThrow(/env: only hosts\.yaml sets it/);
  });
});
