#!/usr/bin/env node
/** The kvass command line: one sub-command per role. */
import { LocatedConfigError } from '../prom/errors.js';
import { UsageError, usage } from './flags.js';
import type { FlagSpec } from './flags.js';

interface CommandModule {
  flags: readonly FlagSpec[];
  run(argv: readonly string[]): Promise<number>;
}

interface Command {
  summary: string;
  /** Loaded on use: a one-shot `kvass targets` should not pay for loading the sidecar and the coordinator. */
  load(): Promise<CommandModule>;
}

const COMMANDS: Record<string, Command> = {
  targets: { summary: 'Run service discovery and relabeling once and print the targets Prometheus would scrape.', load: async () => { const m = await import('./targets.js'); return { flags: m.TARGETS_FLAGS, run: m.runTargets }; } },
  up: { summary: 'Run kvass on this machine: the coordinator and real Prometheus shards as local processes.', load: async () => { const m = await import('./coordinator.js'); return { flags: m.UP_FLAGS, run: m.runUp }; } },
  coordinator: { summary: 'Discover targets, measure them, place them on shards, and scale the shards.', load: async () => { const m = await import('./coordinator.js'); return { flags: m.COORDINATOR_FLAGS, run: m.runCoordinator }; } },
  'fake-targets': { summary: 'Serve demo scrape targets, one port each (or all on one port: --mode=paths).', load: async () => { const m = await import('./fake-targets.js'); return { flags: m.FAKE_TARGETS_FLAGS, run: m.runFakeTargets }; } },
  query: { summary: 'Serve the global view (one Prometheus API over all shards) beside a coordinator running elsewhere.', load: async () => { const m = await import('./query.js'); return { flags: m.QUERY_COMMAND_FLAGS, run: m.runQuery }; } },
  receive: { summary: 'Route Prometheus remote write to ingestors by tenant and hashring (Thanos\'s hashmod placement).', load: async () => { const m = await import('./receive.js'); return { flags: m.RECEIVE_FLAGS, run: m.runReceive }; } },
  sidecar: { summary: 'Run beside one Prometheus shard: inject its config, proxy and measure its scrapes, keep its assignment.', load: async () => { const m = await import('./sidecar.js'); return { flags: m.SIDECAR_FLAGS, run: m.runSidecar }; } },
};

function topUsage(): string {
  return ['usage: kvass <command> [<flags>]', '', 'Commands:', ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(12)}${c.summary}`), '', "Run 'kvass <command> --help' for a command's flags."].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topUsage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`kvass: unknown command ${JSON.stringify(name)}\n\n${topUsage()}\n`);
    return 2;
  }
  const mod = await cmd.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(usage(name, cmd.summary, mod.flags) + '\n');
    return 0;
  }
  try {
    return await mod.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`kvass ${name}: ${e.message}\n\n${usage(name, cmd.summary, mod.flags)}\n`);
      return 2;
    }
    if (e instanceof LocatedConfigError) {
      process.stderr.write(`kvass ${name}: error loading config: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`kvass ${name}: error: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // A one-shot command is done: do not let a lingering socket or watcher keep the process alive.
  setTimeout(() => process.exit(code), 1000).unref();
});
