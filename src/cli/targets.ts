/**
 * `kvass targets`: run service discovery once and print the targets, as Prometheus's
 * `GET /api/v1/targets?state=any` would list them (`--output=json`) or as a table for people.
 */
import { loadConfigFile, type PromConfig } from '../config/config.js';
import { parseDuration } from '../prom/duration.js';
import { publicLabels, sortedLabels, ADDRESS_LABEL, SCRAPE_INTERVAL_LABEL, SCRAPE_TIMEOUT_LABEL } from '../prom/labels.js';
import { DiscoveryManager } from '../discovery/manager.js';
import { jobDefaults, jobTargets, type GroupTargets } from '../target/populate.js';
import { createLogger } from '../logger.js';
import { parseFlags, type FlagSpec } from './flags.js';
import { writeTargetsJson } from './targets-json.js';

export const TARGETS_FLAGS: FlagSpec[] = [
  { name: 'config.file', help: 'Prometheus configuration file', required: true },
  { name: 'output', help: 'json (the data of /api/v1/targets?state=any) or table', default: 'table', kind: 'enum', choices: ['json', 'table'] },
  { name: 'sd.init-timeout', help: "how long to wait for each job's first discovery result", default: '30s', kind: 'duration' },
  { name: 'log.level', help: 'debug, info, warn or error (discovery failures are reported once at the end either way)', default: 'error', kind: 'enum', choices: ['debug', 'info', 'warn', 'error'] },
];

/** One job's targets, discovered. */
export interface JobResult {
  job: string;
  targets: GroupTargets;
}

/** Discovery once: load, start every job's discovery, wait for first results (bounded), populate. */
export async function discoverOnce(config: PromConfig, timeoutMs: number, logLevel = 'warn'): Promise<{ jobs: JobResult[]; pending: string[]; errors: string[] }> {
  const manager = new DiscoveryManager(createLogger(logLevel), 0);
  try {
    manager.apply(config);
    const pending = await manager.waitReady(timeoutMs);
    const jobs = config.scrapeConfigs.map((sc) => ({ job: sc.jobName, targets: jobTargets(manager.groups(sc.jobName), jobDefaults(sc)) }));
    const errors = manager.allErrors().map((e) => `job ${JSON.stringify(e.job)}: ${e.sd}: ${e.error}`);
    return { jobs, pending, errors };
  } finally {
    manager.stop();
  }
}

/** The `data` of Prometheus's /api/v1/targets?state=any for targets that have not been scraped yet. */
export function targetsApiData(jobs: JobResult[]) {
  return {
    activeTargets: jobs.flatMap(({ job, targets }) => targets.active.map((t) => {
      const url = t.scrapeUrl; // made from the labels when asked: once for both fields
      return {
        discoveredLabels: sortedLabels(t.discoveredLabels),
        labels: publicLabels(t.labels),
        scrapePool: job,
        scrapeUrl: url,
        globalUrl: url,
        lastError: '',
        lastScrape: '0001-01-01T00:00:00Z',
        lastScrapeDuration: 0,
        health: 'unknown',
        // Prometheus shows the label values as they are (a relabelled `90m` stays `90m`).
        scrapeInterval: t.labels[SCRAPE_INTERVAL_LABEL]!,
        scrapeTimeout: t.labels[SCRAPE_TIMEOUT_LABEL]!,
      };
    })),
    droppedTargets: jobs.flatMap(({ targets }) => targets.dropped.map((t) => ({ discoveredLabels: sortedLabels(t.discoveredLabels) }))),
  };
}

function labelText(labels: Record<string, string>): string {
  return `{${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
}

export function targetsTable(jobs: JobResult[]): string {
  const rows: string[][] = [['JOB', 'ADDRESS', 'LABELS']];
  for (const { job, targets } of jobs) {
    for (const t of targets.active) rows.push([job, t.labels[ADDRESS_LABEL] ?? '', labelText(publicLabels(t.labels))]);
  }
  // A loop, not Math.max(...): spread arguments overflow the stack past about 120,000 rows (targets).
  let w0 = 0;
  let w1 = 0;
  for (const r of rows) {
    w0 = Math.max(w0, r[0]!.length);
    w1 = Math.max(w1, r[1]!.length);
  }
  const lines = rows.map((r) => `${r[0]!.padEnd(w0)}  ${r[1]!.padEnd(w1)}  ${r[2]}`);
  lines.push('');
  for (const { job, targets } of jobs) {
    const failed = targets.failed.length ? `, ${targets.failed.length} failed` : '';
    lines.push(`job ${job}: ${targets.active.length} active, ${targets.dropped.length} dropped${failed}`);
    for (const f of targets.failed) lines.push(`  failed ${f.discoveredLabels[ADDRESS_LABEL] ?? '(no address)'}: ${f.error}`);
  }
  return lines.join('\n');
}

export async function runTargets(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, TARGETS_FLAGS);
  const config = await loadConfigFile(flags.get('config.file')!);
  const { jobs, pending, errors } = await discoverOnce(config, parseDuration(flags.get('sd.init-timeout')!), flags.get('log.level'));
  if (flags.get('output') === 'json') await writeTargetsJson(jobs, process.stdout);
  else process.stdout.write(targetsTable(jobs) + '\n');
  for (const { job, targets } of jobs) {
    for (const f of targets.failed) process.stderr.write(`kvass targets: warning: job ${JSON.stringify(job)}: target ${f.discoveredLabels[ADDRESS_LABEL] ?? '(no address)'} not scraped: ${f.error}\n`);
  }
  for (const e of errors) process.stderr.write(`kvass targets: error: ${e}\n`);
  for (const job of pending) process.stderr.write(`kvass targets: error: job ${JSON.stringify(job)}: no discovery result within --sd.init-timeout=${flags.get('sd.init-timeout')}\n`);
  return errors.length > 0 || pending.length > 0 ? 1 : 0;
}
