/** Reward plugins score finished trajectories; the scores are written back to the trajectory. */
import type { Trajectory } from '../trajectory.js';

export interface RewardPlugin {
  name: string;
  /** A score for a finished trajectory (higher is better). */
  score(trajectory: Trajectory): number | Promise<number>;
}

export interface WeightedReward {
  plugin: RewardPlugin;
  /** Multiplies the plugin's score in the combined reward (default 1). */
  weight?: number;
}

export interface Scored {
  /** The weighted sum of every plugin's score. */
  reward: number;
  rewards: Record<string, number>;
}

/** Score a trajectory with every plugin. A failed trajectory scores 0 without asking the plugins. */
export async function scoreTrajectory(
  trajectory: Trajectory,
  plugins: readonly (RewardPlugin | WeightedReward)[],
): Promise<Scored> {
  const rewards: Record<string, number> = {};
  let reward = 0;
  for (const entry of plugins) {
    const { plugin, weight = 1 } = 'plugin' in entry ? entry : { plugin: entry, weight: 1 };
    const score = trajectory.status === 'failed' ? 0 : await plugin.score(trajectory);
    if (!Number.isFinite(score)) throw new Error(`reward plugin ${plugin.name} returned ${score}`);
    rewards[plugin.name] = score;
    reward += weight * score;
  }
  return { reward, rewards };
}
