/**
 * Monitoring kvass itself (docs/monitoring.md): the alerting rules (deploy/prometheus/kvass-rules.yml), their unit
 * tests (kvass-rules.test.yml) and the Grafana dashboard (deploy/grafana/kvass.json).
 * - `promtool check rules` and `promtool test rules` pass (promtool 2.42 must be installed; PROMTOOL names another
 *   binary);
 * - every alert has the fields an alert needs, and a unit test where it fires and one where it does not;
 * - every PromQL expression of the rules (annotation `query` templates included) and of the dashboard (panel
 *   targets, template variables) parses, and every metric it names is one kvass exposes: the names are read from
 *   the real registries (coordinator, sidecar, store gateway, remote stores, remote-write router), not listed here;
 * - CoordinatorMetrics.update computes the per-shard, per-state and cycle metrics from the coordinator's public
 *   state; the `*_last_reload_successful` gauges follow the reload counters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
// @ts-expect-error: the package's "exports" has no "types" condition, so TypeScript does not find its index.d.ts.
import { parser as lezerParser } from '@prometheus-io/lezer-promql';
import type { LRParser } from '@lezer/lr';
import { Registry } from 'prom-client';
import { CoordinatorMetrics, TARGET_PLACEMENT_STATES, type CoordinatorState } from '../../src/coordinator/api.js';
import { SidecarMetrics } from '../../src/sidecar/metrics.js';
import { StoreGateway } from '../../src/query/gateway.js';
import { StoreSet } from '../../src/query/stores.js';
import { RouterMetrics } from '../../src/receive/router.js';
import { ApiClient } from '../../src/http/client.js';
import { silentLogger } from '../../src/logger.js';
import type { CoordinatorEvent } from '../../src/coordinator/events.js';
import type { ShardView } from '../../src/coordinator/coordinator.js';
import { ROOT } from '../helpers/manifests.js';

const parser: LRParser = lezerParser;
const RULES = 'deploy/prometheus/kvass-rules.yml';
const RULE_TESTS = 'deploy/prometheus/kvass-rules.test.yml';
const DASHBOARD = 'deploy/grafana/kvass.json';
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function promtool(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(PROMTOOL, args, { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(`${PROMTOOL} is not installed (or not on PATH): Debian's package prometheus (2.42) has it; or point PROMTOOL at it`));
        return;
      }
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The files

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

interface RuleTest {
  eval_time: string;
  alertname: string;
  exp_alerts?: Array<{ exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }> | null;
}

const rules = (): AlertRule[] => {
  const doc = parseYaml(readFileSync(join(ROOT, RULES), 'utf8')) as { groups: Array<{ name: string; rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
};

const alerts = (): AlertRule[] => rules().filter((r) => r.alert !== undefined);

const ruleTests = (): RuleTest[] => {
  const doc = parseYaml(readFileSync(join(ROOT, RULE_TESTS), 'utf8')) as { rule_files: string[]; tests: Array<{ alert_rule_test?: RuleTest[] }> };
  assert.deepEqual(doc.rule_files, ['kvass-rules.yml'], 'the unit tests test the rules file beside them');
  return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
};

interface Dashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  templating: { list: Array<{ name: string; type: string; query?: string | { query: string } }> };
  panels: Panel[];
}

interface Panel {
  type: string;
  title: string;
  id: number;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Array<{ expr: string; refId: string; datasource?: { type: string; uid: string } }>;
  panels?: Panel[];
}

const dashboard = (): Dashboard => JSON.parse(readFileSync(join(ROOT, DASHBOARD), 'utf8')) as Dashboard;

/** Every panel, those inside collapsed rows too. */
const allPanels = (d: Dashboard): Panel[] => d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);

// ---------------------------------------------------------------------------------------------------------------
// What kvass exposes, from its real registries

async function exposedNames(): Promise<Set<string>> {
  const registries: Registry[] = [];
  registries.push(new CoordinatorMetrics().registry, new SidecarMetrics().registry, new RouterMetrics().registry);
  const gateway = new Registry(); // the global view's: the coordinator's in `kvass up`, its own in `kvass query`
  new StoreGateway({ shards: () => [], replicaLabels: [], shardTimeoutMs: 1000, partialResponse: true, client: new ApiClient({ timeoutMs: 1000, maxResponseBytes: 1 << 20 }), log: silentLogger(), registry: gateway });
  new StoreSet({ flagStores: [], checkIntervalMs: 60_000, timeoutMs: 1000, log: silentLogger(), registry: gateway });
  registries.push(gateway);
  const names = new Set<string>();
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      const type = String(m.type); // prom-client's typings say an enum; its values are 'counter', 'histogram' …
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
      if (type === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

// ---------------------------------------------------------------------------------------------------------------
// PromQL

/** Grafana's variables as PromQL can hold them: ranges get a duration, the rest (in label values) a regex. */
const grafanaToPromql = (expr: string): string => expr.replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m').replace(/\$\{\w+(:\w+)?\}|\$\w+/g, '.*');

/** The metric names an expression selects: each selector's name, or its `__name__` matcher (=, or =~ as a regex). */
function selectedNames(expr: string): { names: string[]; regexes: string[]; errors: string[] } {
  const tree = parser.parse(expr);
  const names: string[] = [];
  const regexes: string[] = [];
  const errors: string[] = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) errors.push(`syntax error at ${n.from}: ${JSON.stringify(expr.slice(Math.max(0, n.from - 20), n.to + 20))}`);
      if (n.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        if (id) names.push(expr.slice(id.from, id.to));
      }
      if (n.name === 'LabelMatcher') {
        const label = n.node.getChild('LabelName');
        const op = n.node.getChild('MatchOp');
        const value = n.node.getChild('StringLiteral');
        if (label && op && value && expr.slice(label.from, label.to) === '__name__') {
          const v = JSON.parse(expr.slice(value.from, value.to).replace(/^'(.*)'$/s, '"$1"')) as string;
          const o = expr.slice(op.from, op.to);
          if (o === '=') names.push(v);
          else if (o === '=~') regexes.push(v);
          else errors.push(`a __name__ matcher ${o} names no metric`);
        }
      }
    },
  });
  return { names, regexes, errors };
}

/** Problems of the expressions: syntax errors, metrics kvass does not expose, expressions selecting no metric. */
function problems(exprs: Array<{ where: string; expr: string }>, exposed: Set<string>): string[] {
  const out: string[] = [];
  for (const { where, expr } of exprs) {
    const { names, regexes, errors } = selectedNames(expr);
    for (const e of errors) out.push(`${where}: ${e}`);
    for (const n of names) if (!exposed.has(n)) out.push(`${where}: ${n} is not a metric kvass exposes`);
    for (const r of regexes) if (![...exposed].some((n) => new RegExp(`^(?:${r})$`).test(n))) out.push(`${where}: __name__=~"${r}" matches no metric kvass exposes`);
    if (names.length + regexes.length === 0) out.push(`${where}: selects no metric: ${expr}`);
  }
  return out;
}

/** The PromQL of the `query` template function in an annotation (`printf "<format>" … | query`), its verbs filled. */
function annotationQueries(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/printf\s+("(?:[^"\\]|\\.)*")[^|}]*\|\s*query/g)) out.push((JSON.parse(m[1]!) as string).replace(/%q/g, '"x"').replace(/%[sdv]/g, 'x'));
  for (const m of text.matchAll(/("(?:[^"\\]|\\.)*")\s*\|\s*query/g)) if (!/printf\s+$/.test(text.slice(0, m.index))) out.push(JSON.parse(m[1]!) as string);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Rules

test('rules: promtool check rules accepts kvass-rules.yml', async () => {
  const r = await promtool(['check', 'rules', RULES]);
  assert.equal(r.code, 0, `promtool check rules failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${rules().length} rules found`));
});

test('rules: promtool test rules passes kvass-rules.test.yml', async () => {
  const r = await promtool(['test', 'rules', RULE_TESTS]);
  assert.equal(r.code, 0, `promtool test rules failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /SUCCESS/);
  assert.doesNotMatch(r.stdout + r.stderr, /FAILED/);
});

test('rules: every alert has for, a severity, a summary and a templated description', () => {
  const as = alerts();
  assert.deepEqual(as.map((a) => a.alert).sort(), [
    'KvassConfigReloadFailed', 'KvassCoordinatorNotCycling', 'KvassGlobalViewPartial', 'KvassShardOverBudget',
    'KvassSidecarNotReady', 'KvassSidecarReloadFailures', 'KvassTargetsNotAssigned', 'KvassTransferStuck',
  ]);
  for (const a of as) {
    assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert}: for`);
    assert.ok(['warning', 'critical'].includes(a.labels?.severity ?? ''), `${a.alert}: labels.severity`);
    assert.ok((a.annotations?.summary ?? '').length > 10, `${a.alert}: annotations.summary`);
    assert.match(a.annotations?.description ?? '', /\{\{.*\$(value|labels)/s, `${a.alert}: annotations.description uses $value or $labels`);
  }
});

test('rules: every alert has a unit test where it fires and one where it does not', () => {
  const tests = ruleTests();
  const names = new Set(alerts().map((a) => a.alert!));
  for (const t of tests) assert.ok(names.has(t.alertname), `a test of ${t.alertname}, which is no alert of the rules`);
  for (const name of names) {
    const mine = tests.filter((t) => t.alertname === name);
    const fires = mine.filter((t) => (t.exp_alerts ?? []).length > 0);
    assert.ok(fires.length > 0, `${name}: no test where it fires`);
    assert.ok(mine.some((t) => (t.exp_alerts ?? []).length === 0), `${name}: no test where it does not fire`);
    for (const t of fires) {
      for (const e of t.exp_alerts!) {
        assert.ok(e.exp_labels?.severity, `${name} at ${t.eval_time}: exp_labels has the severity`);
        assert.ok(e.exp_annotations?.summary && e.exp_annotations.description, `${name} at ${t.eval_time}: exp_annotations has the summary and the description`);
      }
    }
  }
});

test('rules: every expression parses and names only metrics kvass exposes', async () => {
  const exposed = await exposedNames();
  const exprs = rules().flatMap((r) => [
    { where: `${RULES} ${r.alert ?? r.record}`, expr: r.expr },
    ...Object.values(r.annotations ?? {}).flatMap((text) => annotationQueries(text).map((expr) => ({ where: `${RULES} ${r.alert} annotation query`, expr }))),
  ]);
  assert.ok(exprs.length > rules().length, 'the annotation query of KvassCoordinatorNotCycling is checked too');
  assert.deepEqual(problems(exprs, exposed), []);
});

// ---------------------------------------------------------------------------------------------------------------
// Dashboard

test('dashboard: a Grafana dashboard with a Prometheus data source variable, rows, panels on the grid', () => {
  const d = dashboard();
  assert.ok(d.schemaVersion >= 36 && d.schemaVersion <= 39, `schemaVersion ${d.schemaVersion}`);
  assert.equal(d.uid, 'kvass');
  const ds = d.templating.list.find((v) => v.type === 'datasource');
  assert.equal(ds?.name, 'datasource');
  assert.equal(ds?.query, 'prometheus');
  const panels = allPanels(d);
  const rows = panels.filter((p) => p.type === 'row').map((p) => p.title);
  for (const r of ['Shards', 'Targets', 'Moves and transfers', 'Sidecars: scrape proxy', 'Sidecars: configuration and reloads', 'Global view', 'Coordinator']) assert.ok(rows.includes(r), `a row ${r}`);
  assert.equal(new Set(panels.map((p) => p.id)).size, panels.length, 'panel ids are unique');
  const cells = new Set<string>();
  for (const p of panels) {
    const { x, y, w, h } = p.gridPos;
    assert.ok(x >= 0 && w > 0 && x + w <= 24, `${p.title}: within the 24 columns`);
    for (let i = x; i < x + w; i++) {
      for (let j = y; j < y + h; j++) {
        assert.ok(!cells.has(`${i},${j}`), `${p.title}: overlaps another panel at ${i},${j}`);
        cells.add(`${i},${j}`);
      }
    }
    if (p.type === 'row') continue;
    assert.deepEqual(p.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title}: the data source variable`);
    assert.ok((p.targets ?? []).length > 0, `${p.title}: has queries`);
    for (const t of p.targets!) assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${p.title} ${t.refId}: the data source variable`);
  }
  // The budget is drawn against the shards' series.
  const head = panels.find((p) => p.title === 'Head series per shard');
  assert.ok(head?.targets?.some((t) => /kvass_coordinator_shard_head_series/.test(t.expr)) && head.targets.some((t) => /kvass_coordinator_shard_max_series/.test(t.expr)));
});

test('dashboard: every query parses and names only metrics kvass exposes', async () => {
  const exposed = await exposedNames();
  const d = dashboard();
  const exprs: Array<{ where: string; expr: string }> = [];
  for (const p of allPanels(d)) for (const t of p.targets ?? []) exprs.push({ where: `${DASHBOARD} "${p.title}" ${t.refId}`, expr: grafanaToPromql(t.expr) });
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : v.query?.query ?? '';
    const m = /^label_values\((.+),\s*\w+\)$/.exec(q) ?? /^query_result\((.+)\)$/.exec(q);
    assert.ok(m, `variable ${v.name}: label_values(<selector>, <label>) or query_result(<expr>), not ${q}`);
    exprs.push({ where: `${DASHBOARD} variable ${v.name}`, expr: grafanaToPromql(m[1]!) });
  }
  assert.ok(exprs.length >= 30);
  assert.deepEqual(problems(exprs, exposed), []);
});

test('the metric check itself: unknown names, syntax errors and __name__ matchers are caught', async () => {
  const exposed = await exposedNames();
  assert.ok(exposed.has('kvass_gateway_read_duration_seconds_bucket') && exposed.has('kvass_coordinator_process_resident_memory_bytes') && exposed.has('kvass_query_store_endpoints'));
  assert.deepEqual(problems([{ where: 'a', expr: 'sum(rate(kvass_sidecar_proxied_scrapes_total[5m])) / on () group_left () {__name__="kvass_coordinator_targets"}' }], exposed), []);
  assert.equal(problems([{ where: 'a', expr: 'rate(kvass_sidecar_proxied_scrapes[5m])' }], exposed).length, 1);
  assert.equal(problems([{ where: 'a', expr: 'up{job="kvass"} == 0' }], exposed).length, 1);
  assert.equal(problems([{ where: 'a', expr: '{__name__=~"kvass_nothing_.*"}' }], exposed).length, 1);
  assert.ok(problems([{ where: 'a', expr: 'sum(kvass_coordinator_targets' }], exposed).length >= 1);
  assert.equal(grafanaToPromql('rate(x{instance=~"$sidecar",a="${b}"}[$__rate_interval])'), 'rate(x{instance=~".*",a=".*"}[5m])');
  assert.deepEqual(annotationQueries('{{ with printf "m{job=%q} == 0" $labels.job | query }}x{{ end }} {{ with "n" | query }}{{ end }}'), ['m{job="x"} == 0', 'n']);
});

// ---------------------------------------------------------------------------------------------------------------
// The metrics behind them

const shard = (id: number, ready: boolean, headSeries: number, processSeries: number, targets: number): ShardView => ({ id: `shard-${id}`, ordinal: id, url: `http://s${id}`, ready, headSeries, processSeries, targets, idleSince: null });
const target = (hash: string, shards: string[], series = 100, address = `10.0.0.${hash.length}:9100`) => ({ target: { hash, labels: { __address__: address, job: 'j' } }, series, shards });

async function values(m: CoordinatorMetrics, name: string): Promise<Array<{ labels: Record<string, string | number>; value: number }>> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  assert.ok(metric, `${name} is registered`);
  return metric.values.map((v) => ({ labels: { ...v.labels } as Record<string, string | number>, value: v.value }));
}

const byLabels = (vs: Array<{ labels: Record<string, string | number>; value: number }>): Record<string, number> => Object.fromEntries(vs.map((v) => [Object.entries(v.labels).sort().map(([k, x]) => `${k}=${x}`).join(','), v.value]));

test('CoordinatorMetrics.update: per shard and replica, targets by state, budget, interval, oldest transfer, last cycle, events', async () => {
  let now = 1_000_000;
  const m = new CoordinatorMetrics(false, () => now);
  const events: CoordinatorEvent[] = [];
  const record = (kind: CoordinatorEvent['kind'], message: string): void => void events.unshift({ time: new Date(now).toISOString(), kind, message, ok: true });
  const state: { -readonly [K in keyof CoordinatorState]: CoordinatorState[K] } = {
    cycles: 0, acting: true, shardViews: [], active: [],
    opts: { maxSeries: 30000, intervalMs: 10_000 },
    events: { list: () => [...events] },
  };

  m.update(state); // before the first cycle
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_last_cycle_timestamp_seconds')), { '': 0 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_targets_by_state')), { 'state=assigned': 0, 'state=in_transfer': 0, 'state=unassigned': 0, 'state=unassignable': 0 });
  assert.deepEqual(TARGET_PLACEMENT_STATES, ['assigned', 'unassigned', 'in_transfer', 'unassignable']);

  now += 10_000;
  state.cycles = 1;
  state.shardViews = [
    [shard(0, true, 20100, 20000, 2), shard(1, false, 0, 0, 0)],
    [shard(0, true, 20110, 20000, 2), shard(1, true, 31000, 30990, 3)],
  ];
  state.active = [target('a', ['shard-0']), target('b', ['shard-0', 'shard-1']), target('c', []), target('d', ['shard-1']), target('e', [], 0, 'bad address/x')];
  record('place', 'placed 2 new targets on shard-0');
  record('move', 'shard-0 at 110% of budget: moving 1 target to shard-1');
  m.update(state);
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_shard_head_series')), {
    'replica=replica-0,shard=shard-0': 20100, 'replica=replica-0,shard=shard-1': 0, 'replica=replica-1,shard=shard-0': 20110, 'replica=replica-1,shard=shard-1': 31000,
  });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_shard_series')), {
    'replica=replica-0,shard=shard-0': 20010, 'replica=replica-0,shard=shard-1': 0, 'replica=replica-1,shard=shard-0': 20010, 'replica=replica-1,shard=shard-1': 31005,
  }, 'measured series plus the 5 Prometheus adds per target');
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_shard_ready')), {
    'replica=replica-0,shard=shard-0': 1, 'replica=replica-0,shard=shard-1': 0, 'replica=replica-1,shard=shard-0': 1, 'replica=replica-1,shard=shard-1': 1,
  });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_shard_targets'))['replica=replica-1,shard=shard-1'], 3);
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_shard_max_series')), { '': 30000 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_cycle_interval_seconds')), { '': 10 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_targets_by_state')), { 'state=assigned': 2, 'state=in_transfer': 1, 'state=unassigned': 1, 'state=unassignable': 1 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_targets')), { '': 5 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_oldest_transfer_seconds')), { '': 0 }, 'first seen now');
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_last_cycle_timestamp_seconds')), { '': 1010 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_events_total')), { 'kind=move': 1, 'kind=place': 1 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_cycles_total')), { '': 1 });

  // No cycle since: the timestamp stays, the transfer ages, no event is counted twice.
  now += 45_000;
  m.update(state);
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_last_cycle_timestamp_seconds')), { '': 1010 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_oldest_transfer_seconds')), { '': 45 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_events_total')), { 'kind=move': 1, 'kind=place': 1 });

  // A standby's cycle (no acting cycle counted, new views); the transfer ends, another begins; new events.
  now += 15_000;
  state.acting = false;
  state.shardViews = [[shard(0, true, 20100, 20000, 2)]];
  state.active = [target('a', ['shard-0']), target('b', ['shard-1']), target('c', ['shard-0', 'shard-1'])];
  record('transfer-done', '1 transfer done: the old shard stopped scraping');
  record('scale-up', 'scale-up from 2 to 3 shards');
  m.update(state);
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_last_cycle_timestamp_seconds')), { '': 1070 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_oldest_transfer_seconds')), { '': 0 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_events_total')), { 'kind=move': 1, 'kind=place': 1, 'kind=transfer-done': 1, 'kind=scale-up': 1 });
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_leader')), { '': 0 });
  assert.deepEqual(Object.keys(byLabels(await values(m, 'kvass_coordinator_shard_ready'))), ['replica=replica-0,shard=shard-0'], 'shards gone are not reported');
  assert.deepEqual(byLabels(await values(m, 'kvass_coordinator_cycles_total')), { '': 1 });
});

test('the *_last_reload_successful gauges follow the reload counters', async () => {
  const c = new CoordinatorMetrics(false);
  const ok = async (): Promise<number> => (await values(c, 'kvass_coordinator_config_last_reload_successful'))[0]!.value;
  assert.equal(await ok(), 1, 'the configuration loaded at start');
  c.reloads.inc({ result: 'failure' });
  assert.equal(await ok(), 0);
  c.reloads.inc({ result: 'success' });
  assert.equal(await ok(), 1);
  assert.deepEqual(byLabels(await values(c, 'kvass_coordinator_config_reloads_total')), { 'result=failure': 1, 'result=success': 1 });

  const s = new SidecarMetrics(false);
  const sidecarOk = async (): Promise<number> => (await s.registry.getSingleMetric('kvass_sidecar_prometheus_last_reload_successful')!.get()).values[0]!.value;
  assert.equal(await sidecarOk(), 1);
  s.reloads.inc({ result: 'failure' });
  s.reloads.inc({ result: 'failure' });
  assert.equal(await sidecarOk(), 0);
  s.reloads.inc({ result: 'success' });
  assert.equal(await sidecarOk(), 1);
  assert.match(await s.registry.metrics(), /kvass_sidecar_prometheus_reloads_total\{result="failure"\} 2/);
});
