/**
 * GPU telemetry from `nvidia-smi --query-gpu ... --format=csv,noheader,nounits`, GPU slot
 * binding (which GPUs a slot holds), and slots that shrink while free GPU memory is short.
 * `[N/A]` and `[Not Supported]` read as unknown; a host without nvidia-smi has no GPU data.
 */
import type { GpuSlotBinding, HostConfig } from '../config/types.js';
import type { GpuSample } from '../observe/events.js';

/** The fields ygg asks for, in this order. */
export const GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'utilization.gpu',
  'memory.used',
  'memory.total',
  'memory.free',
  'temperature.gpu',
] as const;

export const APPS_QUERY_FIELDS = ['gpu_uuid', 'pid', 'process_name', 'used_memory'] as const;

export function gpuQueryArgv(): string[] {
  return ['nvidia-smi', `--query-gpu=${GPU_QUERY_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];
}

export function appsQueryArgv(): string[] {
  return [
    'nvidia-smi',
    `--query-compute-apps=${APPS_QUERY_FIELDS.join(',')}`,
    '--format=csv,noheader,nounits',
  ];
}

/** One GPU's reading, with its UUID (to match compute apps to GPUs). */
export interface GpuReading extends GpuSample {
  uuid?: string;
}

export interface GpuProcess {
  gpuUuid: string;
  gpuIndex?: number;
  pid: number;
  processName: string;
  usedMemoryBytes?: number;
}

const MIB = 2 ** 20;

function splitCsvLine(line: string): string[] {
  return line.split(',').map((cell) => cell.trim());
}

/** A number from a cell, or undefined for `[N/A]`, `[Not Supported]`, empty and the like. */
export function numberCell(cell: string | undefined): number | undefined {
  if (cell === undefined) return undefined;
  const value = cell.replace(/\s*(MiB|%|W|C)$/i, '').trim();
  if (value === '' || value.startsWith('[') || /^n\/?a$/i.test(value)) return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}

function textCell(cell: string | undefined): string | undefined {
  if (cell === undefined || cell === '' || cell.startsWith('[') || /^n\/?a$/i.test(cell)) return undefined;
  return cell;
}

/** Drops a header line (`index, name, ...`) when the output has one; units in cells are tolerated. */
function dataLines(text: string, firstField: string): string[] {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  if (lines[0]?.toLowerCase().startsWith(firstField)) lines.shift();
  return lines;
}

/** Parses `--query-gpu` output whose columns are `fields` (ygg's own order by default). */
export function parseGpuQuery(text: string, fields: readonly string[] = GPU_QUERY_FIELDS): GpuReading[] {
  const readings: GpuReading[] = [];
  for (const line of dataLines(text, fields[0] ?? 'index')) {
    const cells = splitCsvLine(line);
    const at = (field: string) => {
      const i = fields.indexOf(field);
      return i < 0 ? undefined : cells[i];
    };
    const index = numberCell(at('index'));
    if (index === undefined) continue;
    const reading: GpuReading = { index };
    const name = textCell(at('name'));
    const uuid = textCell(at('uuid'));
    const utilization = numberCell(at('utilization.gpu'));
    const used = numberCell(at('memory.used'));
    const total = numberCell(at('memory.total'));
    const free = numberCell(at('memory.free'));
    const temperature = numberCell(at('temperature.gpu'));
    if (name) reading.name = name;
    if (uuid) reading.uuid = uuid;
    if (utilization !== undefined) reading.utilization = utilization / 100;
    if (used !== undefined) reading.memoryUsedBytes = used * MIB;
    if (total !== undefined) reading.memoryTotalBytes = total * MIB;
    if (free !== undefined) reading.memoryFreeBytes = free * MIB;
    if (temperature !== undefined) reading.temperatureC = temperature;
    readings.push(reading);
  }
  return readings;
}

/** Parses `--query-compute-apps` output; an empty answer means no process on any GPU. */
export function parseComputeApps(
  text: string,
  gpus: readonly GpuReading[] = [],
  fields: readonly string[] = APPS_QUERY_FIELDS,
): GpuProcess[] {
  const apps: GpuProcess[] = [];
  for (const line of dataLines(text, fields[0] ?? 'gpu_uuid')) {
    const cells = splitCsvLine(line);
    const at = (field: string) => {
      const i = fields.findIndex((f) => f === field || (field === 'used_memory' && f === 'used_gpu_memory'));
      return i < 0 ? undefined : cells[i];
    };
    const gpuUuid = at('gpu_uuid') ?? '';
    const pid = numberCell(at('pid'));
    if (pid === undefined) continue;
    const app: GpuProcess = { gpuUuid, pid, processName: at('process_name') ?? '' };
    const used = numberCell(at('used_memory'));
    if (used !== undefined) app.usedMemoryBytes = used * MIB;
    const gpu = gpus.find((g) => g.uuid === gpuUuid);
    if (gpu) app.gpuIndex = gpu.index;
    apps.push(app);
  }
  return apps;
}

/** Did running nvidia-smi fail because the host has none? */
export function isMissingNvidiaSmi(result: { code: number | null; stderr: string }): boolean {
  return result.code === 127 || /nvidia-smi: (command )?not found|No such file/i.test(result.stderr);
}

/** Slots a binding gives: `perGpu` per GPU, or one slot per `1/perGpu` GPUs when below 1. */
export function boundSlotCount(binding: GpuSlotBinding): number {
  if (binding.perGpu >= 1) return binding.gpus.length * Math.floor(binding.perGpu);
  const gpusPerSlot = Math.round(1 / binding.perGpu);
  return Math.floor(binding.gpus.length / gpusPerSlot);
}

/**
 * The GPU indices slot `slot` (0-based) holds. Several slots per GPU are spread round robin, so
 * the first slots taken land on different GPUs; below one slot per GPU, each slot holds a run.
 */
export function slotGpus(binding: GpuSlotBinding, slot: number): number[] {
  if (binding.gpus.length === 0) return [];
  if (binding.perGpu >= 1) return [binding.gpus[slot % binding.gpus.length]!];
  const gpusPerSlot = Math.round(1 / binding.perGpu);
  return binding.gpus.slice(slot * gpusPerSlot, (slot + 1) * gpusPerSlot);
}

/** The environment a task on these GPUs runs with. */
export function gpuEnv(gpus: readonly number[]): Record<string, string> {
  return { CUDA_VISIBLE_DEVICES: gpus.join(',') };
}

/**
 * Slots a host can use now for a task needing `vramGbNeeded` GB: the configured slots, shrunk
 * to those already in use plus the tasks its GPUs' free memory still fits. With no GPU data, or
 * a type that declares no memory, the configured slots stand.
 */
export function effectiveSlots(
  host: Pick<HostConfig, 'slots' | 'gpuBinding'>,
  gpuSamples: readonly GpuSample[] | undefined,
  vramGbNeeded: number | undefined,
  usedSlots = 0,
): number {
  if (!vramGbNeeded || vramGbNeeded <= 0 || !gpuSamples || gpuSamples.length === 0) return host.slots;
  const bound = host.gpuBinding?.gpus;
  const relevant = bound ? gpuSamples.filter((g) => bound.includes(g.index)) : gpuSamples;
  if (relevant.length === 0 || relevant.some((g) => g.memoryFreeBytes === undefined)) return host.slots;
  // GPU makers' "8 GB" is 8 GiB (8192 MiB in nvidia-smi).
  const need = vramGbNeeded * 2 ** 30;
  const fits = relevant.reduce((sum, g) => sum + Math.floor((g.memoryFreeBytes ?? 0) / need), 0);
  return Math.max(0, Math.min(host.slots, usedSlots + fits));
}
