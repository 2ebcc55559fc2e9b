import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Summarizes the task's material faithfully: gist, key points, open questions. */
export const plugin: Plugin = modelPlugin({ name: 'summarize', types: ['summarize'], family: 'summarize' });
