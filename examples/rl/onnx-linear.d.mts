/** Types for onnx-linear.mjs (plain JavaScript so the learner runs with `node` alone). */
export interface LinearModelSpec {
  weights: number[];
  bias?: number;
  /** `softmax` over the rows (a policy over candidates), `sigmoid`, or `linear`. Default `softmax`. */
  head?: 'softmax' | 'sigmoid' | 'linear';
  /** Default `features`. */
  inputName?: string;
  /** Default `probabilities` for softmax, `score` otherwise. */
  outputName?: string;
}
export function encodeLinearModel(spec: LinearModelSpec): Buffer;
export function decodeLinearModel(model: Uint8Array): { weights: number[]; bias: number };
