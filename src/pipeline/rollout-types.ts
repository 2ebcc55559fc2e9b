/** The types of what a rollout handler's context gains: ONNX runs and its policy version. */

export type OnnxInputs = Record<string, { data: readonly number[]; dims: readonly number[] }>;
export type OnnxOutputs = Record<string, { data: number[]; dims: readonly number[] }>;

/** `ctx.onnx(modelPath, inputs)`: run an ONNX model (sessions are cached per file). */
export type OnnxFunction = (modelPath: string, inputs: OnnxInputs) => Promise<OnnxOutputs>;

/** `ctx.policy` for rollouts: the version the rollout was admitted under. */
export interface PolicyHandle {
  version: number;
  /** The version's checkpoint file (absent before any policy exists). */
  checkpoint: string | undefined;
  /** Run the checkpoint on inputs. */
  run(inputs: OnnxInputs): Promise<OnnxOutputs>;
}
