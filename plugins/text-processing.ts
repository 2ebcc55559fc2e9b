import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Rewrites, translates, extracts or drafts text as the task asks, on the host's model. */
export const plugin: Plugin = modelPlugin({
  name: 'text-processing',
  types: ['text-processing', 'text-generation'],
  family: 'text-processing',
});
