import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Writes complete code for the task on the host's model; every fenced block is saved as a file. */
export const plugin: Plugin = modelPlugin({
  name: 'code-generation',
  types: ['code-generation'],
  family: 'code-generation',
  saveCode: true,
});
