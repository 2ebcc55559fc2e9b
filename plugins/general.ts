import type { Plugin } from '../src/plugins/api.js';
import { modelPlugin } from './lib/model-plugin.js';

/** Any task no other handler claims: sent to the host's model as written. */
export const plugin: Plugin = modelPlugin({ name: 'general', types: ['general'], family: 'general' });
