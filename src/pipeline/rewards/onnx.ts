/**
 * `onnx`: a reward model run with onnxruntime-node. The plugin declares how to turn a trajectory
 * into a feature vector; the model maps `[1, F]` features to a score (the first output value).
 * The session is loaded once and reused.
 */
import { runOnnx } from '../onnx-session.js';
import type { Trajectory } from '../trajectory.js';
import type { RewardPlugin } from './api.js';

export interface OnnxRewardOptions {
  /** Defaults to `onnx`. */
  name?: string;
  modelPath: string;
  /** The features the model expects, computed from a trajectory (a fixed length). */
  features(trajectory: Trajectory): number[] | Promise<number[]>;
  /** Input tensor name (default `features`). */
  inputName?: string;
  /** Output tensor name (default: the model's first output). */
  outputName?: string;
}

export function onnxReward(options: OnnxRewardOptions): RewardPlugin {
  const inputName = options.inputName ?? 'features';
  return {
    name: options.name ?? 'onnx',
    async score(trajectory: Trajectory): Promise<number> {
      const features = await options.features(trajectory);
      if (!Array.isArray(features) || !features.every((x) => typeof x === 'number' && Number.isFinite(x)))
        throw new Error(`reward ${options.name ?? 'onnx'}: the features are not a list of finite numbers`);
      const outputs = await runOnnx(options.modelPath, {
        [inputName]: { data: features, dims: [1, features.length] },
      });
      const output = options.outputName ? outputs[options.outputName] : Object.values(outputs)[0];
      const value = output?.data[0];
      if (value === undefined) throw new Error(`ONNX reward model ${options.modelPath} gave no output`);
      return value;
    },
  };
}
