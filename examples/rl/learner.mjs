#!/usr/bin/env node
/**
 * The RL example's learner: one REINFORCE step on a batch of trajectories, then the next policy
 * as an ONNX file. Runs with `node` alone on the learner host (ygg puts this file, onnx-linear.mjs,
 * the batch and the current policy in its work directory).
 *   node learner.mjs BATCH.jsonl OUT.onnx [POLICY.onnx] [--lr 0.5]
 * A trajectory's first step holds `state.features` (one row per candidate) and `action.index`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decodeLinearModel, encodeLinearModel } from './onnx-linear.mjs';

function softmax(logits) {
  const top = Math.max(...logits);
  const exps = logits.map((z) => Math.exp(z - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
}

/**
 * Policy gradient with the batch's mean reward as baseline:
 * w += lr * mean((r - b) * (x_a - sum_i p_i x_i)).
 * @param {number[]} weights
 * @param {{ features: number[][], action: number, reward: number }[]} samples
 */
export function reinforce(weights, samples, lr) {
  const baseline = samples.reduce((a, s) => a + s.reward, 0) / samples.length;
  const grad = weights.map(() => 0);
  for (const s of samples) {
    const probs = softmax(s.features.map((row) => row.reduce((a, x, j) => a + x * weights[j], 0)));
    const advantage = s.reward - baseline;
    for (let j = 0; j < weights.length; j++) {
      const expected = s.features.reduce((a, row, i) => a + probs[i] * row[j], 0);
      grad[j] += (advantage * (s.features[s.action][j] - expected)) / samples.length;
    }
  }
  return weights.map((w, j) => w + lr * grad[j]);
}

export function samplesFromBatch(text) {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line))
    .filter((t) => t.status === 'ok' && typeof t.reward === 'number' && t.steps.length > 0)
    .map((t) => ({ features: t.steps[0].state.features, action: t.steps[0].action.index, reward: t.reward }));
}

function main(argv) {
  const lrAt = argv.indexOf('--lr');
  const lr = lrAt >= 0 ? Number(argv[lrAt + 1]) : 0.5;
  const positional = lrAt >= 0 ? argv.filter((_, i) => i !== lrAt && i !== lrAt + 1) : argv;
  const [batchPath, outPath, policyPath] = positional;
  if (!batchPath || !outPath) {
    process.stderr.write('usage: learner.mjs BATCH.jsonl OUT.onnx [POLICY.onnx] [--lr 0.5]\n');
    return 2;
  }
  const samples = samplesFromBatch(readFileSync(batchPath, 'utf8'));
  if (samples.length === 0) {
    process.stderr.write('the batch holds no scored trajectories\n');
    return 1;
  }
  const width = samples[0].features[0].length;
  const weights = policyPath ? decodeLinearModel(readFileSync(policyPath)).weights : new Array(width).fill(0);
  const next = reinforce(weights, samples, lr);
  writeFileSync(outPath, encodeLinearModel({ weights: next }));
  const mean = samples.reduce((a, s) => a + s.reward, 0) / samples.length;
  process.stdout.write(`trained on ${samples.length} trajectories, mean reward ${mean.toFixed(3)}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = main(process.argv.slice(2));
}
