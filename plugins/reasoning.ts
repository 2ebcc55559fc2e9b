import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Works a problem through step by step on the host's model and ends with an answer. */
export const plugin: Plugin = modelPlugin({ name: 'reasoning', types: ['reasoning'], family: 'reasoning' });
