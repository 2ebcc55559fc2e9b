import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Refactors the task's code on the host's model, keeping behaviour; the new files are saved. */
export const plugin: Plugin = modelPlugin({
  name: 'code-refactor',
  types: ['code-refactor'],
  family: 'code-refactor',
  saveCode: true,
});
