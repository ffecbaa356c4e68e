/**
 * `kvass fake-targets`: demo scrape targets with a known number of series each, to watch kvass place them.
 *
 * Target i (0-based) listens on the port of --listen plus i and answers GET /metrics in the text format 0.0.4 with
 * exactly `--series + i × --series-step` unique series: first 45 series shaped like a Go program's default
 * metrics (go_gc_duration_seconds, go_goroutines, go_memstats_*, process_*, promhttp_*), then the rest as one
 * gauge `demo_metric{series_id="<k>"}` whose values are deterministic in k and time and change slowly (a sine of
 * period one hour around a per-series base), so rate(), deriv() and friends give smooth answers. With fewer than
 * 45 series, only the first ones of the Go-shaped list are served.
 *
 * With `--mode=paths`, all targets share the one port of --listen and target i answers at `/t/<i>/metrics` (set
 * `__metrics_path__` per target in file_sd): one process can then stand in for up to 100,000 targets without
 * one socket each, for end-to-end runs at scale (`scripts/e2e-scale.mjs`).
 */
import { waitForStop } from './signals.js';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../logger.js';
import { UsageError, parseFlags, type FlagSpec } from './flags.js';
import { parseListenAddress } from './sidecar.js';

export const FAKE_TARGETS_FLAGS: readonly FlagSpec[] = [
  { name: 'targets', help: 'Number of demo targets (one port each unless --mode=paths).', default: '6', kind: 'int' },
  { name: 'series', help: 'Unique series per target: 45 shaped like Go\'s default metrics, the rest demo_metric{series_id="<k>"}.', default: '10045', kind: 'int' },
  { name: 'series-step', help: 'Target i serves --series + i × this many series (0: every target the same).', default: '0', kind: 'int' },
  { name: 'listen', help: 'Address of the first target; the next ones take the following ports (port 0: a free port each). With --mode=paths: the one address of all targets.', default: '127.0.0.1:9100' },
  { name: 'mode', help: 'ports: one port per target, at /metrics. paths: one port for all, target i at /t/<i>/metrics.', default: 'ports', kind: 'enum', choices: ['ports', 'paths'] },
];

const MAX_TARGETS = 10_000;
/** One socket serves them all in paths mode, so the bound is the memory of the body cache, not file descriptors. */
const MAX_PATH_TARGETS = 100_000;
/** `/t/<i>/metrics` with i in canonical decimal form (no sign, no leading zero), so every target has one path. */
const TARGET_PATH = /^\/t\/(0|[1-9]\d{0,8})\/metrics$/;
const MAX_SERIES = 10_000_000;
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

interface GoSeries {
  family: number;
  text: (now: number, uptime: number) => string;
}

interface Family {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'summary' | 'untyped';
}

/** The 45 Go-shaped series (families in the order Go's client library writes them). */
function goShaped(): { families: Family[]; series: GoSeries[] } {
  const families: Family[] = [];
  const series: GoSeries[] = [];
  const fam = (name: string, help: string, type: Family['type']): number => families.push({ name, help, type }) - 1;
  const one = (name: string, help: string, type: Family['type'], value: (now: number, uptime: number) => number, labels = ''): void => {
    const f = fam(name, help, type);
    series.push({ family: f, text: (n, u) => `${name}${labels} ${num(value(n, u))}` });
  };
  const gcCycles = (u: number): number => Math.floor(u / 7);
  const f = fam('go_gc_duration_seconds', 'A summary of the pause duration of garbage collection cycles.', 'summary');
  for (const [q, v] of [['0', 2.1e-5], ['0.25', 4.3e-5], ['0.5', 6.1e-5], ['0.75', 9.2e-5], ['1', 1.12e-3]] as const) {
    series.push({ family: f, text: () => `go_gc_duration_seconds{quantile="${q}"} ${num(v)}` });
  }
  series.push({ family: f, text: (_n, u) => `go_gc_duration_seconds_sum ${num(gcCycles(u) * 7.3e-5)}` });
  series.push({ family: f, text: (_n, u) => `go_gc_duration_seconds_count ${gcCycles(u)}` });
  one('go_goroutines', 'Number of goroutines that currently exist.', 'gauge', (n) => 9 + (Math.floor(n / 13) % 4));
  one('go_info', 'Information about the Go environment.', 'gauge', () => 1, '{version="go1.19.8"}');
  const heap = (n: number): number => 4_200_000 + Math.round(800_000 * Math.abs(Math.sin(n / 97)));
  const mem: Array<[string, string, Family['type'], (n: number, u: number) => number]> = [
    ['alloc_bytes', 'Number of bytes allocated and still in use.', 'gauge', heap],
    ['alloc_bytes_total', 'Total number of bytes allocated, even if freed.', 'counter', (_n, u) => 1_048_576 * 12 + Math.floor(u * 52_000)],
    ['buck_hash_sys_bytes', 'Number of bytes used by the profiling bucket hash table.', 'gauge', () => 1_456_917],
    ['frees_total', 'Total number of frees.', 'counter', (_n, u) => 41_000 + Math.floor(u * 310)],
    ['gc_cpu_fraction', "The fraction of this program's available CPU time used by the GC since the program started.", 'gauge', () => 1.3e-5],
    ['gc_sys_bytes', 'Number of bytes used for garbage collection system metadata.', 'gauge', () => 8_562_944],
    ['heap_alloc_bytes', 'Number of heap bytes allocated and still in use.', 'gauge', heap],
    ['heap_idle_bytes', 'Number of heap bytes waiting to be used.', 'gauge', (n) => 11_000_000 - heap(n)],
    ['heap_inuse_bytes', 'Number of heap bytes that are in use.', 'gauge', (n) => heap(n) + 1_200_000],
    ['heap_objects', 'Number of allocated objects.', 'gauge', (n) => Math.round(heap(n) / 160)],
    ['heap_released_bytes', 'Number of heap bytes released to OS.', 'gauge', () => 3_407_872],
    ['heap_sys_bytes', 'Number of heap bytes obtained from system.', 'gauge', () => 15_892_480],
    ['last_gc_time_seconds', 'Number of seconds since 1970 of last garbage collection.', 'gauge', (n, u) => n - (u % 7)],
    ['lookups_total', 'Total number of pointer lookups.', 'counter', () => 0],
    ['mallocs_total', 'Total number of mallocs.', 'counter', (_n, u) => 68_000 + Math.floor(u * 330)],
    ['mcache_inuse_bytes', 'Number of bytes in use by mcache structures.', 'gauge', () => 9_600],
    ['mcache_sys_bytes', 'Number of bytes used for mcache structures obtained from system.', 'gauge', () => 15_600],
    ['mspan_inuse_bytes', 'Number of bytes in use by mspan structures.', 'gauge', () => 145_248],
    ['mspan_sys_bytes', 'Number of bytes used for mspan structures obtained from system.', 'gauge', () => 163_200],
    ['next_gc_bytes', 'Number of heap bytes when next garbage collection will take place.', 'gauge', () => 8_388_608],
    ['other_sys_bytes', 'Number of bytes used for other system allocations.', 'gauge', () => 1_029_043],
    ['stack_inuse_bytes', 'Number of bytes in use by the stack allocator.', 'gauge', () => 786_432],
    ['stack_sys_bytes', 'Number of bytes obtained from system for stack allocator.', 'gauge', () => 786_432],
    ['sys_bytes', 'Number of bytes obtained from system.', 'gauge', () => 27_908_104],
  ];
  for (const [suffix, help, type, v] of mem) one(`go_memstats_${suffix}`, help, type, v);
  one('go_threads', 'Number of OS threads created.', 'gauge', () => 8);
  one('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', 'counter', (_n, u) => Math.round(u * 0.004 * 100) / 100);
  one('process_max_fds', 'Maximum number of open file descriptors.', 'gauge', () => 1_048_576);
  one('process_open_fds', 'Number of open file descriptors.', 'gauge', (n) => 10 + (Math.floor(n / 29) % 3));
  one('process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', (n) => 19_000_000 + heap(n));
  one('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', 'gauge', (n, u) => Math.round((n - u) * 100) / 100);
  one('process_virtual_memory_bytes', 'Virtual memory size in bytes.', 'gauge', () => 738_312_192);
  one('process_virtual_memory_max_bytes', 'Maximum amount of virtual memory available in bytes.', 'gauge', () => 1.8446744073709552e19);
  one('promhttp_metric_handler_requests_in_flight', 'Current number of scrapes being served.', 'gauge', () => 1);
  const req = fam('promhttp_metric_handler_requests_total', 'Total number of scrapes by HTTP status code.', 'counter');
  series.push({ family: req, text: (_n, u) => `promhttp_metric_handler_requests_total{code="200"} ${Math.floor(u / 15)}` });
  series.push({ family: req, text: () => 'promhttp_metric_handler_requests_total{code="500"} 0' });
  series.push({ family: req, text: () => 'promhttp_metric_handler_requests_total{code="503"} 0' });
  return { families, series };
}

const GO = goShaped();
export const GO_SHAPED_SERIES = GO.series.length; // 45

/** A float as the text format takes it (Go-like: `1e+19`, not `10000000000000000000`). */
function num(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  const s = String(v);
  return s.includes('e') ? s.replace(/e(\d)/, 'e+$1') : s;
}

/** The value of demo_metric{series_id="k"} at `now` (seconds): a slow sine (1 h period) around a per-series base. */
export function demoValue(k: number, now: number): number {
  const base = (k * 7919) % 1000;
  return Math.round((base + 100 * Math.sin((2 * Math.PI * now) / 3600 + k)) * 1000) / 1000;
}

/** The /metrics body with exactly `series` unique series at `now` (seconds since the epoch, whole seconds). */
export function fakeMetricsBody(series: number, now: number, uptime: number): string {
  const out: string[] = [];
  const go = GO.series.slice(0, Math.min(series, GO.series.length));
  let family = -1;
  for (const s of go) {
    if (s.family !== family) {
      family = s.family;
      const f = GO.families[family]!;
      out.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    }
    out.push(s.text(now, uptime));
  }
  const demo = series - go.length;
  if (demo > 0) {
    out.push('# HELP demo_metric A demo gauge: one series per series_id, slowly changing values.', '# TYPE demo_metric gauge');
    for (let k = 0; k < demo; k++) out.push(`demo_metric{series_id="${k}"} ${num(demoValue(k, now))}`);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

function parseCount(flags: Map<string, string>, name: string, min: number, max: number): number {
  const v = Number(flags.get(name));
  if (!Number.isSafeInteger(v) || v < min || v > max) {
    throw new UsageError(`invalid value ${JSON.stringify(flags.get(name))} for flag --${name}: expected an integer from ${min} to ${max}`);
  }
  return v;
}

export async function runFakeTargets(argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv, FAKE_TARGETS_FLAGS);
  const paths = flags.get('mode') === 'paths';
  const targets = parseCount(flags, 'targets', 1, paths ? MAX_PATH_TARGETS : MAX_TARGETS);
  const series = parseCount(flags, 'series', 0, MAX_SERIES);
  const step = parseCount(flags, 'series-step', 0, MAX_SERIES);
  const listen = parseListenAddress(flags.get('listen')!, 'listen');
  if (!paths && listen.port !== 0 && listen.port + targets - 1 > 65535) {
    throw new UsageError(`--listen port ${listen.port} with --targets=${targets} goes past port 65535`);
  }
  if (series + (targets - 1) * step > MAX_SERIES) {
    throw new UsageError(`--series=${series} with --series-step=${step} gives the last target over ${MAX_SERIES} series`);
  }
  const log = createLogger();
  const started = Date.now() / 1000;
  // Keyed by series count: with --series-step=0 every target shares one body, rebuilt at most once a second. Only
  // the current second's bodies are kept, so with a step the cache holds what was asked in one second, not every
  // target's body (up to 100,000 of them in paths mode).
  const cache = new Map<number, string>();
  let cacheSecond = -1;
  const body = (n: number): string => {
    const second = Math.floor(Date.now() / 1000);
    if (second !== cacheSecond) {
      cache.clear();
      cacheSecond = second;
    }
    const hit = cache.get(n);
    if (hit !== undefined) return hit;
    const text = fakeMetricsBody(n, second, Math.max(0, second - started));
    cache.set(n, text);
    return text;
  };

  /** Answers one request; `target` picks the target from the path (ports mode: always the port's own). */
  const handler = (target: (path: string) => number | null, index: (path: string) => string | null) =>
    (req: IncomingMessage, res: ServerResponse): void => {
      // The path only, read without new URL (which throws on absolute-form targets).
      const path = (req.url ?? '/').split('?')[0]!;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
        return;
      }
      const i = target(path);
      if (i !== null) {
        const text = body(series + i * step);
        res.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
        return;
      }
      const text = index(path);
      if (text !== null) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(text);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    };

  const servers: Server[] = [];
  const closeAll = (): Promise<void[]> => {
    const closed = servers.map((s) => new Promise<void>((r) => s.close(() => r())));
    for (const s of servers) s.closeAllConnections();
    return Promise.all(closed);
  };
  const listenOne = async (server: Server, port: number, what: string): Promise<string> => {
    servers.push(server);
    const where = `${listen.host ?? ''}:${port}`;
    server.listen(port, listen.host);
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e as Error))]);
    } catch (e) {
      servers.pop();
      await closeAll();
      const err = e as NodeJS.ErrnoException;
      const why = err.code === 'EADDRINUSE' ? 'address already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      throw new Error(`cannot listen on ${where} (${what}): ${why}`);
    }
    return formatAddress(server.address() as AddressInfo);
  };

  const addresses: string[] = [];
  if (paths) {
    const pick = (path: string): number | null => {
      const m = TARGET_PATH.exec(path);
      if (!m) return null;
      const i = Number(m[1]);
      return i < targets ? i : null;
    };
    const index = (path: string): string | null =>
      path === '/' ? `kvass fake targets 0 to ${targets - 1}: ${series}${step ? ` + i × ${step}` : ''} series at /t/<i>/metrics\n` : null;
    const server = createServer(handler(pick, index));
    addresses.push(await listenOne(server, listen.port, `${targets} targets on one port`));
  } else {
    for (let i = 0; i < targets; i++) {
      const n = series + i * step;
      const server = createServer(handler(
        (path) => (path === '/metrics' ? i : null),
        (path) => (path === '/' ? `kvass fake target ${i}: ${n} series at /metrics\n` : null),
      ));
      addresses.push(await listenOne(server, listen.port === 0 ? 0 : listen.port + i, `target ${i + 1} of ${targets}`));
    }
  }
  // One line per port: in paths mode the one address (targets are its /t/<i>/metrics).
  process.stdout.write(addresses.map((a) => `${a}\n`).join(''));
  log.info({ targets, series, seriesStep: step, mode: paths ? 'paths' : 'ports', addresses }, 'fake targets listening');

  const signal = await waitForStop();
  log.info({ signal }, 'stopping');
  await closeAll();
  return 0;
}
