/** The web view's charts, drawn here as SVG text from what the loop recorded (`/charts`). */
import type { Activity } from '../activity.js';
import { activityChart } from './activity-chart.js';
import { slotTimeline } from './slot-timeline.js';
import { gpuSparkline } from './sparkline.js';

export interface Charts {
  activity: string;
  timeline: string;
  gpus: Array<{ host: string; index: number; svg: string }>;
  /** What was drawn, counted, so a reader can tell an empty chart from a missing one. */
  points: { buckets: number; ended: number; attempts: number; gpuSamples: number };
}

export function drawCharts(activity: Activity, hosts: readonly string[]): Charts {
  return {
    activity: activityChart(activity.buckets, activity.now),
    timeline: slotTimeline(activity.attempts, activity.now, hosts),
    gpus: activity.gpus.map((g) => ({ host: g.host, index: g.index, svg: gpuSparkline(g) })),
    points: {
      buckets: activity.buckets.length,
      ended: activity.buckets.reduce((sum, b) => sum + b.ended, 0),
      attempts: activity.attempts.length,
      gpuSamples: activity.gpus.reduce((sum, g) => sum + g.samples.length, 0),
    },
  };
}
