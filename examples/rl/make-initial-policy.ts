/** Writes policy-v0.onnx: the uniform policy (all weights zero) over the example's features. */
import { writeFile } from 'node:fs/promises';
import { featureCount } from './features.js';
import { encodeLinearModel } from './onnx-linear.mjs';

export function initialPolicy(): Buffer {
  return encodeLinearModel({ weights: new Array<number>(featureCount).fill(0) });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await writeFile(new URL('./policy-v0.onnx', import.meta.url), initialPolicy());
}
