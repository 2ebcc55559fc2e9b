/**
 * ONNX sessions with onnxruntime-node, one per model file and modification time: a model is
 * loaded once and reused until its file changes (a new policy checkpoint is a new file).
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { InferenceSession as Session } from 'onnxruntime-node';

type Ort = typeof import('onnxruntime-node');

let ortModule: Promise<Ort> | undefined;

/** onnxruntime-node is loaded on first use: commands that never score or sample skip its cost. */
export function loadOrt(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

const sessions = new Map<string, Promise<Session>>();

export async function onnxSession(modelPath: string): Promise<Session> {
  const path = resolve(modelPath);
  const { mtimeMs, size } = await stat(path);
  const key = `${path}\0${mtimeMs}\0${size}`;
  let session = sessions.get(key);
  if (!session) {
    session = loadOrt().then((ort) => ort.InferenceSession.create(path));
    session.catch(() => sessions.delete(key));
    sessions.set(key, session);
  }
  return session;
}

/** Run a model on named float32 inputs and return its outputs as plain arrays. */
export async function runOnnx(
  modelPath: string,
  inputs: Record<string, { data: readonly number[]; dims: readonly number[] }>,
): Promise<Record<string, { data: number[]; dims: readonly number[] }>> {
  const ort = await loadOrt();
  const session = await onnxSession(modelPath);
  const feeds: Record<string, InstanceType<Ort['Tensor']>> = {};
  for (const [name, input] of Object.entries(inputs))
    feeds[name] = new ort.Tensor('float32', Float32Array.from(input.data), [...input.dims]);
  const results = await session.run(feeds);
  const out: Record<string, { data: number[]; dims: readonly number[] }> = {};
  for (const [name, tensor] of Object.entries(results))
    out[name] = { data: Array.from(tensor.data as Float32Array, Number), dims: tensor.dims };
  return out;
}

/** How many distinct sessions are cached (for tests and the monitor). */
export function cachedSessionCount(): number {
  return sessions.size;
}
