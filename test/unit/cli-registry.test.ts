import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commands, modulesFor } from '../../src/cli/registry.js';

const argv = (...args: string[]) => ['node', 'ygg', ...args];

describe('the CLI registry', () => {
  it('names exactly the top-level commands each module registers', async () => {
    for (const module of commands) {
      const program = new Command('ygg');
      (await module.load()).register(program);
      expect(program.commands.map((c) => c.name())).toEqual([...module.names]);
    }
  });

  it('loads the named command only, nothing for --version, everything for help or an unknown name', () => {
    const names = (args: string[]) => modulesFor(argv(...args)).map((m) => m.names.join('|'));
    expect(names(['add', 'a title', '--priority', '1'])).toEqual(['add']);
    expect(names(['resume'])).toEqual(['pause|resume']);
    expect(names(['hosts', 'drain', 'skadi'])).toEqual(['hosts', 'hosts', 'hosts']);
    expect(names(['--version'])).toEqual([]);
    expect(names(['-V'])).toEqual([]);
    expect(modulesFor(argv())).toBe(commands);
    expect(modulesFor(argv('--help'))).toBe(commands);
    expect(modulesFor(argv('help', 'add'))).toBe(commands);
    expect(modulesFor(argv('ad'))).toBe(commands);
  });
});
