/** `npm run bench`: runs every benchmark and prints its figures (one table per benchmark). */
import { cpus } from 'node:os';
import * as targets from './targets.bench.js';
import * as exposition from './exposition.bench.js';
import * as proxy from './proxy.bench.js';
import * as planner from './planner.bench.js';
import * as query from './query.bench.js';
import * as merge from './merge.bench.js';
import * as receive from './receive-wire.bench.js';
import * as receiveLatency from './receive-latency.bench.js';
import * as scale from './coordinator-scale.bench.js';
import * as cycle from './coordinator-cycle.bench.js';

const benches: Array<[string, { run(): Array<Record<string, string | number>> | Promise<Array<Record<string, string | number>>> }]> = [
  ['targets', targets],
  ['exposition', exposition],
  ['proxy', proxy],
  ['planner', planner],
  ['merge', merge],
  ['query', query],
  ['receive', receive],
  ['receive-latency', receiveLatency],
  ['coordinator-scale', scale],
  ['coordinator-cycle', cycle],
];

const only = process.argv.slice(2);
console.log(`kvass benchmarks — node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${new Date().toISOString()}`);
for (const [name, b] of benches) {
  if (only.length && !only.includes(name)) continue;
  console.log(`\n## ${name}`);
  console.table(await b.run());
}
