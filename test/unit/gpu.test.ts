import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  boundSlotCount,
  effectiveSlots,
  gpuEnv,
  isMissingNvidiaSmi,
  numberCell,
  parseComputeApps,
  parseGpuQuery,
  slotGpus,
} from '../../src/hosts/gpu.js';

const fixture = (name: string) =>
  readFile(new URL(`../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');
/** The column order the fixtures were captured with (see the fixture README). */
const FIXTURE_FIELDS = [
  'index',
  'name',
  'uuid',
  'memory.total',
  'memory.used',
  'memory.free',
  'utilization.gpu',
  'utilization.memory',
  'temperature.gpu',
  'power.draw',
  'power.limit',
];
const MIB = 2 ** 20;

describe('nvidia-smi parsing on real H100 output', () => {
  it('reads the idle sample', async () => {
    const [gpu] = parseGpuQuery(await fixture('query-idle.csv'), FIXTURE_FIELDS);
    expect(gpu).toEqual({
      index: 0,
      name: 'NVIDIA H100 80GB HBM3',
      uuid: 'GPU-71546e31-e874-f4a0-4d17-bce68d227e8d',
      utilization: 0,
      memoryUsedBytes: 0,
      memoryTotalBytes: 81559 * MIB,
      memoryFreeBytes: 81079 * MIB,
      temperatureC: 36,
    });
  });

  it('reads the busy sample and its compute app', async () => {
    const gpus = parseGpuQuery(await fixture('query-busy.csv'), FIXTURE_FIELDS);
    expect(gpus[0]).toMatchObject({
      utilization: 1,
      memoryUsedBytes: 21619 * MIB,
      memoryFreeBytes: 59461 * MIB,
      temperatureC: 58,
    });
    const apps = parseComputeApps(await fixture('apps-busy.csv'), gpus);
    expect(apps).toEqual([
      { gpuUuid: gpus[0]!.uuid, gpuIndex: 0, pid: 481, processName: 'python3', usedMemoryBytes: 21610 * MIB },
    ]);
  });

  it('reads the header form with units the same way', async () => {
    const withHeader = parseGpuQuery(await fixture('query-idle-header.csv'), FIXTURE_FIELDS);
    expect(withHeader[0]).toMatchObject({
      index: 0,
      memoryTotalBytes: 81559 * MIB,
      utilization: 0,
      memoryFreeBytes: 81079 * MIB,
    });
    const apps = parseComputeApps(await fixture('apps-busy-header.csv'), withHeader, [
      'gpu_uuid',
      'pid',
      'process_name',
      'used_gpu_memory',
    ]);
    expect(apps[0]).toMatchObject({ pid: 481, usedMemoryBytes: 21610 * MIB, gpuIndex: 0 });
  });

  it("parses the output of ygg's own query from a real driver", async () => {
    const idle = parseGpuQuery(await fixture('ygg-query-idle.csv'));
    expect(idle).toEqual([
      {
        index: 0,
        name: 'NVIDIA H100 80GB HBM3',
        uuid: 'GPU-8a1f5527-36ec-e283-172f-0e9c581cfeb9',
        utilization: 0,
        memoryUsedBytes: 0,
        memoryTotalBytes: 81559 * MIB,
        memoryFreeBytes: 81079 * MIB,
        temperatureC: 46,
      },
    ]);
    expect(parseComputeApps(await fixture('ygg-apps-idle.csv'), idle)).toEqual([]);
    const busy = parseGpuQuery(await fixture('ygg-query-busy.csv'));
    expect(busy[0]).toMatchObject({
      utilization: 1,
      memoryUsedBytes: 1011 * MIB,
      memoryFreeBytes: 80069 * MIB,
    });
    expect(parseComputeApps(await fixture('ygg-apps-busy.csv'), busy)).toEqual([
      { gpuUuid: busy[0]!.uuid, gpuIndex: 0, pid: 403, processName: 'python3', usedMemoryBytes: 1002 * MIB },
    ]);
    // 80069 MiB free fits 19 tasks of 4 GiB: slots stay as configured.
    expect(effectiveSlots({ slots: 4 }, busy, 4)).toBe(4);
    expect(effectiveSlots({ slots: 4 }, busy, 40, 1)).toBe(2);
  });

  it('reads [N/A] and [Not Supported] as unknown, not as errors or zero', () => {
    const text =
      '0, GeForce GTX 1060, GPU-1, [N/A], 1500, 6144, 4644, [Not Supported]\n1, Tesla, GPU-2, 5, [N/A], [N/A], [N/A], 40\n';
    const [a, b] = parseGpuQuery(text);
    expect(a).toEqual({
      index: 0,
      name: 'GeForce GTX 1060',
      uuid: 'GPU-1',
      memoryUsedBytes: 1500 * MIB,
      memoryTotalBytes: 6144 * MIB,
      memoryFreeBytes: 4644 * MIB,
    });
    expect(b).toEqual({ index: 1, name: 'Tesla', uuid: 'GPU-2', utilization: 0.05, temperatureC: 40 });
    expect(numberCell('[Unknown Error]')).toBeUndefined();
  });

  it('an empty answer is a real answer: no GPUs, no processes', () => {
    expect(parseGpuQuery('')).toEqual([]);
    expect(parseComputeApps('\n')).toEqual([]);
  });

  it('recognises a host without nvidia-smi', () => {
    expect(isMissingNvidiaSmi({ code: 127, stderr: 'sh: 1: exec: nvidia-smi: not found' })).toBe(true);
    expect(isMissingNvidiaSmi({ code: 9, stderr: 'NVIDIA-SMI has failed' })).toBe(false);
  });
});

describe('GPU slots', () => {
  const gb = 2 ** 30;
  const host = { slots: 4 };

  it('keeps configured slots without GPU data or a declared need', () => {
    expect(effectiveSlots(host, undefined, 8)).toBe(4);
    expect(effectiveSlots(host, [{ index: 0, memoryFreeBytes: 1 * gb }], undefined)).toBe(4);
    expect(effectiveSlots(host, [{ index: 0 }], 8)).toBe(4);
  });

  it('shrinks slots while free memory is below what the next task needs', () => {
    const busy = [{ index: 0, memoryFreeBytes: 10 * gb }];
    expect(effectiveSlots(host, busy, 4, 1)).toBe(3); // 1 running + 2 more fit
    expect(effectiveSlots(host, busy, 12, 1)).toBe(1); // nothing more fits: only the running one
    expect(effectiveSlots(host, busy, 12, 0)).toBe(0);
    expect(effectiveSlots(host, [{ index: 0, memoryFreeBytes: 80 * gb }], 4, 0)).toBe(4); // capped
  });

  it('counts only the GPUs the host binds its slots to', () => {
    const samples = [
      { index: 0, memoryFreeBytes: 1 * gb },
      { index: 1, memoryFreeBytes: 20 * gb },
    ];
    expect(effectiveSlots({ slots: 4, gpuBinding: { gpus: [0], perGpu: 4 } }, samples, 4)).toBe(0);
    expect(effectiveSlots({ slots: 4, gpuBinding: { gpus: [1], perGpu: 4 } }, samples, 4)).toBe(4);
  });

  it('binds slots to GPUs like worker ids: one or several per GPU, or several GPUs per slot', () => {
    const two = { gpus: [0, 1], perGpu: 2 };
    expect(boundSlotCount(two)).toBe(4);
    expect([0, 1, 2, 3].map((s) => slotGpus(two, s))).toEqual([[0], [1], [0], [1]]);
    const pairs = { gpus: [0, 1, 2, 3], perGpu: 0.5 };
    expect(boundSlotCount(pairs)).toBe(2);
    expect(slotGpus(pairs, 1)).toEqual([2, 3]);
    expect(gpuEnv(slotGpus(pairs, 1))).toEqual({ CUDA_VISIBLE_DEVICES: '2,3' });
  });
});
