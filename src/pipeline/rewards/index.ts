export { type RewardPlugin, type Scored, scoreTrajectory, type WeightedReward } from './api.js';
export { type RewardFeatures, type RewardLoadOptions, rewardsFromSettings } from './from-config.js';
export { type OnnxRewardOptions, onnxReward } from './onnx.js';
export { parsePassedFraction, testsPassedReward, testsPassedScore } from './tests-passed.js';
