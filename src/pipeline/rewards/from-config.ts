/**
 * The reward plugins `learner.rewards` names, built for the pipeline: `tests_passed`, and `onnx`
 * with its model loaded (so a bad file fails at start, not at the first rollout) and its features
 * from a module's `rewardFeatures` export or a loaded handler plugin's `rewardFeatures`.
 */
import { access } from 'node:fs/promises';
import type { RewardFeaturesSource, RewardSettings } from '../../config/types.js';
import { YggError } from '../../errors.js';
import { importModule } from '../../plugins/loader.js';
import { onnxSession } from '../onnx-session.js';
import type { Trajectory } from '../trajectory.js';
import type { WeightedReward } from './api.js';
import { onnxReward } from './onnx.js';
import { testsPassedReward } from './tests-passed.js';

/** What declares an ONNX reward's features: `rewardFeatures(trajectory)`, a fixed-length vector. */
export type RewardFeatures = (trajectory: Trajectory) => number[] | Promise<number[]>;

export interface RewardLoadOptions {
  /** Loaded handler plugins by name (a plugin may declare `rewardFeatures`). */
  plugins?: ReadonlyMap<string, object>;
}

/** The weighted reward plugins of `settings` (absent: `tests_passed` alone). */
export async function rewardsFromSettings(
  settings: readonly RewardSettings[] | undefined,
  options: RewardLoadOptions = {},
): Promise<WeightedReward[]> {
  if (!settings) return [{ plugin: testsPassedReward(), weight: 1 }];
  const out: WeightedReward[] = [];
  for (const [i, s] of settings.entries()) {
    const where = `learner.rewards[${i}]`;
    if (s.plugin === 'tests_passed') {
      out.push({ plugin: { ...testsPassedReward({ tool: s.tool }), name: s.name }, weight: s.weight });
      continue;
    }
    await checkModel(s.model, `${where}.model`);
    const features = await loadFeatures(s.features, `${where}.features`, options);
    const plugin = onnxReward({
      name: s.name,
      modelPath: s.model,
      inputName: s.input,
      ...(s.output ? { outputName: s.output } : {}),
      features: (trajectory) => features(trajectory),
    });
    out.push({ plugin, weight: s.weight });
  }
  return out;
}

async function checkModel(path: string, where: string): Promise<void> {
  try {
    await access(path);
  } catch {
    throw new YggError(`${where}: ONNX model not found: ${path}`, {
      hint: 'paths in hosts.yaml are relative to its folder',
    });
  }
  try {
    await onnxSession(path);
  } catch (error) {
    throw new YggError(`${where}: ${path} is not a model onnxruntime can load: ${messageOf(error)}`, {
      cause: error,
    });
  }
}

async function loadFeatures(
  source: RewardFeaturesSource,
  where: string,
  options: RewardLoadOptions,
): Promise<RewardFeatures> {
  if ('plugin' in source) {
    const plugin = options.plugins?.get(source.plugin);
    if (!plugin)
      throw new YggError(`${where}: no handler plugin named "${source.plugin}" is loaded`, {
        hint: 'name a loaded plugin, or a module file (.ts, .js, .mjs) exporting rewardFeatures',
      });
    const features = (plugin as { rewardFeatures?: unknown }).rewardFeatures;
    if (typeof features !== 'function')
      throw new YggError(`${where}: plugin "${source.plugin}" declares no rewardFeatures(trajectory)`);
    return (trajectory) => (features as RewardFeatures).call(plugin, trajectory);
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(source.module);
  } catch (error) {
    throw new YggError(`${where}: cannot load ${source.module}: ${messageOf(error)}`, {
      cause: error,
      hint: 'paths in hosts.yaml are relative to its folder',
    });
  }
  const features = module.rewardFeatures;
  if (typeof features !== 'function')
    throw new YggError(`${where}: ${source.module} has no named export rewardFeatures(trajectory)`);
  return features as RewardFeatures;
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
