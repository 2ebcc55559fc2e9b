import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GpuSampler } from '../../src/hosts/gpu-sampler.js';
import type { ExecResult, Transport } from '../../src/hosts/transport.js';
import { EventBus, type YggEvents } from '../../src/observe/events.js';

const fixture = (name: string) =>
  readFile(new URL(`../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');

/** A host that answers nvidia-smi with canned output (the parsing has its own tests). */
function fakeHost(answer: (argv: readonly string[]) => Partial<ExecResult>): Transport & { calls: number } {
  const host = {
    kind: 'ssh' as const,
    hostName: 'fake',
    calls: 0,
    async exec(argv: readonly string[]): Promise<ExecResult> {
      host.calls += 1;
      return {
        code: 0,
        signal: null,
        stdout: '',
        stderr: '',
        stdoutTruncated: false,
        stderrTruncated: false,
        durationMs: 1,
        ...answer(argv),
      };
    },
    put: async () => undefined,
    get: async () => undefined,
    probe: async () => ({ latencyMs: 1 }),
    close: async () => undefined,
    [Symbol.asyncDispose]: async () => undefined,
  };
  return host;
}

describe('GpuSampler', () => {
  it('emits gpu:sample per host, keeps the latest, and leaves hosts without nvidia-smi alone', async () => {
    const busy = await fixture('ygg-query-busy.csv');
    const apps = await fixture('ygg-apps-busy.csv');
    const gpuHost = fakeHost((argv) => ({ stdout: argv[1]!.startsWith('--query-gpu') ? busy : apps }));
    const cpuHost = fakeHost(() => ({ code: 127, stderr: 'sh: 1: exec: nvidia-smi: not found' }));
    const failing = fakeHost(() => {
      throw new Error('connection dropped');
    });
    const bus = new EventBus();
    const samples: Array<YggEvents['gpu:sample']> = [];
    bus.on('gpu:sample', (s) => samples.push(s));
    const sampler = new GpuSampler(
      new Map<string, Transport>([
        ['surtr', gpuHost],
        ['cpu', cpuHost],
        ['gone', failing],
      ]),
      { bus },
    );
    await sampler.sampleAll();
    await sampler.sampleAll();
    expect(samples).toHaveLength(2);
    expect(samples[0]).toEqual({
      host: 'surtr',
      gpus: [expect.objectContaining({ index: 0, utilization: 1, memoryUsedBytes: 1011 * 2 ** 20 })],
    });
    expect(samples[0]!.gpus[0]).not.toHaveProperty('uuid');
    expect(sampler.latest('surtr')?.processes).toEqual([expect.objectContaining({ pid: 403, gpuIndex: 0 })]);
    expect(sampler.hasNoGpu('cpu')).toBe(true);
    expect(cpuHost.calls).toBe(1);
    expect(sampler.latest('gone')).toBeUndefined();
  });
});
