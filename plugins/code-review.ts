import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Reviews the task's code on the host's model: findings as a list, suggested fixes saved as files. */
export const plugin: Plugin = modelPlugin({
  name: 'code-review',
  types: ['code-review'],
  family: 'code-review',
  saveCode: true,
  findings: true,
});
