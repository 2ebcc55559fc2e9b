import type { Command } from 'commander';

/** A file under src/cli that registers one or more top-level commands. */
export interface CommandModule {
  /** The top-level command names the file registers (what `ygg NAME ...` is dispatched on). */
  names: readonly string[];
  load(): Promise<{ register(program: Command): void }>;
}

/**
 * Every CLI command, in the order `ygg --help` lists them. Modules are imported only when their
 * command runs: start-up then costs what that command needs, not what every command needs.
 */
export const commands: readonly CommandModule[] = [
  { names: ['init'], load: () => import('./init.js') },
  { names: ['add'], load: () => import('./add.js') },
  { names: ['list'], load: () => import('./list.js') },
  { names: ['show'], load: () => import('./show.js') },
  { names: ['create'], load: () => import('./create.js') },
  { names: ['demo'], load: () => import('./demo.js') },
  { names: ['loop'], load: () => import('./loop.js') },
  { names: ['run'], load: () => import('./run.js') },
  { names: ['monitor'], load: () => import('./monitor.js') },
  { names: ['logs'], load: () => import('./logs.js') },
  { names: ['cancel'], load: () => import('./cancel.js') },
  { names: ['retry'], load: () => import('./retry.js') },
  { names: ['dlq'], load: () => import('./dlq.js') },
  { names: ['pause', 'resume'], load: () => import('./pause.js') },
  { names: ['policy'], load: () => import('./policy.js') },
  { names: ['position'], load: () => import('./position.js') },
  { names: ['stats'], load: () => import('./stats.js') },
  { names: ['config'], load: () => import('./config.js') },
  { names: ['hosts'], load: () => import('./hosts.js') },
  // `ygg hosts drain NAME`: a subcommand of hosts, in its own file.
  { names: ['hosts'], load: () => import('./drain.js') },
  // `ygg hosts sync`: this hosts.yaml's hosts and slots into a PostgreSQL store.
  { names: ['hosts'], load: () => import('./hosts-sync.js') },
  { names: ['doctor'], load: () => import('./doctor.js') },
  { names: ['store'], load: () => import('./store.js') },
];

/**
 * The modules `argv` (as process.argv) needs: the named command's; none for a bare `--version`;
 * every one for help, no command or an unknown one (so help and "did you mean" see them all).
 */
export function modulesFor(argv: readonly string[]): readonly CommandModule[] {
  const args = argv.slice(2);
  const name = args.find((arg) => !arg.startsWith('-'));
  if (name !== undefined) {
    const named = commands.filter((module) => module.names.includes(name));
    if (named.length > 0) return named;
    return commands;
  }
  const versionOnly = args.some((arg) => arg === '--version' || arg === '-V');
  const help = args.some((arg) => arg === '--help' || arg === '-h');
  return versionOnly && !help ? [] : commands;
}

/** Imports the modules `argv` needs and registers their commands on `program`, in registry order. */
export async function registerCommands(program: Command, argv: readonly string[]): Promise<void> {
  const loaded = await Promise.all(modulesFor(argv).map((module) => module.load()));
  for (const { register } of loaded) register(program);
}
