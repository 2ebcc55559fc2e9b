import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openLoopPipeline, pipelineRestartSections } from '../../src/app/pipeline.js';
import type { Runtime } from '../../src/app/runtime.js';
import { configOrThrow, parseConfig } from '../../src/config/load.js';
import type { YggConfig } from '../../src/config/types.js';
import type { Loop } from '../../src/dispatch/loop.js';
import { EventBus } from '../../src/observe/events.js';
import { testDir } from '../helpers/tmp.js';

const hosts = `
hosts:
  gpu: {transport: local, slots: 2, roles: [inference]}
  tools: {transport: local, slots: 2, roles: [tools]}
`;
const tools = `
tools:
  run_tests: {argv: [npm, test]}
`;

function config(dir: string, yaml: string): YggConfig {
  return configOrThrow(parseConfig(yaml, join(dir, 'hosts.yaml')), 'hosts.yaml').config;
}

/** What openLoopPipeline and bind read of the runtime and the loop; reloads replace `config`. */
function fakes(dir: string, started: YggConfig) {
  const runtime = {
    store: { runtimeDir: join(dir, '.ygg') },
    plugins: { byName: new Map() },
    transport: () => {
      throw new Error('no ssh hosts here');
    },
  } as unknown as Runtime;
  const loop = { config: started, slots: new Map(), kick() {} };
  return { runtime, loop, asLoop: loop as unknown as Loop };
}

describe('ygg loop reloading hosts.yaml with the agent pipeline', () => {
  it('says a restart is needed when tools, tool_queue or learner change, once per change', async () => {
    const dir = await testDir('loop-pipeline-reload');
    const started = config(dir, hosts + tools);
    const bus = new EventBus();
    const warnings: string[] = [];
    const f = fakes(dir, started);
    await using pipeline = await openLoopPipeline(f.runtime, started, bus, { warn: (m) => warnings.push(m) });
    pipeline.bind(f.asLoop);
    const reload = (yaml: string) => {
      f.loop.config = config(dir, yaml);
      bus.emit('config:reloaded', { path: 'hosts.yaml' });
    };

    // A change the loop applies live: nothing to say.
    reload(`${hosts + tools}types:\n  general: {hosts: [gpu]}\n`);
    expect(warnings).toEqual([]);

    reload(`${hosts}tools:\n  run_tests: {argv: [npm, run, test]}\ntool_queue: {cache_ttl: 1m}\n`);
    expect(warnings).toEqual([
      'ygg: hosts.yaml changed tools, tool_queue: the agent pipeline (tool queue, learner, rewards) keeps the settings it started with; restart ygg loop to apply the change',
    ]);
    // The same file again (SIGHUP): said once.
    reload(`${hosts}tools:\n  run_tests: {argv: [npm, run, test]}\ntool_queue: {cache_ttl: 1m}\n`);
    expect(warnings).toHaveLength(1);

    reload(
      `${hosts + tools}learner: {host: gpu, command: [x], rewards: [{name: tests_passed, weight: 2}]}\n`,
    );
    expect(warnings.at(-1)).toMatch(/^ygg: hosts\.yaml changed learner: .*restart ygg loop/);
  });

  it('says so too when a loop started without a pipeline gets tools or a learner', async () => {
    const dir = await testDir('loop-pipeline-reload-added');
    const started = config(dir, hosts);
    const bus = new EventBus();
    const warnings: string[] = [];
    const f = fakes(dir, started);
    await using pipeline = await openLoopPipeline(f.runtime, started, bus, { warn: (m) => warnings.push(m) });
    expect(pipeline.pipeline).toBeUndefined();
    pipeline.bind(f.asLoop);
    f.loop.config = config(dir, hosts + tools);
    bus.emit('config:reloaded', { path: 'hosts.yaml' });
    expect(warnings).toEqual([expect.stringMatching(/^ygg: hosts\.yaml changed tools: .*restart ygg loop/)]);
  });

  it('counts the tools hosts among the settings read at start', async () => {
    const dir = await testDir('loop-pipeline-reload-hosts');
    const before = config(dir, hosts + tools);
    const after = config(dir, hosts.replace('slots: 2, roles: [tools]', 'slots: 4, roles: [tools]') + tools);
    expect(pipelineRestartSections(before, after)).toEqual(['hosts with the tools role']);
    expect(pipelineRestartSections(before, before)).toEqual([]);
  });
});
