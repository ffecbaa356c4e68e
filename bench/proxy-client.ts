/**
 * The other side of bench/proxy.bench.ts, in its own process (as Prometheus and the targets are in reality): a
 * target server, and a client that scrapes it directly and through the sidecar's proxy. Talks to the parent over
 * the fork IPC channel.
 */
import { createServer, request, Agent } from 'node:http';
import { once } from 'node:events';

function body(series: number): Buffer {
  const lines = ['# HELP demo_metric A demo metric.', '# TYPE demo_metric gauge'];
  for (let i = 0; i < series; i++) lines.push(`demo_metric{instance_id="${i}",path="/api/v1/item/${i % 100}"} ${i % 1000}.5`);
  return Buffer.from(lines.join('\n') + '\n');
}

const bodies = new Map<number, Buffer>();
const target = createServer((req, res) => {
  const n = Number(new URL(req.url!, 'http://x').searchParams.get('series'));
  let b = bodies.get(n);
  if (!b) bodies.set(n, (b = body(n)));
  res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(b);
});
target.listen(0, '127.0.0.1');
await once(target, 'listening');
const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(port: number, path: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.on('data', () => undefined);
      res.on('end', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    });
    req.on('error', reject);
    req.end();
  });
}

process.on('message', (m: { op: string; proxyPort: number; hash: string; series: number; reps: number; marks?: number[] }) => {
  void (async () => {
    if (m.op === 'latency') {
      const direct: number[] = [];
      const proxied: number[] = [];
      const d = `/metrics?series=${m.series}`;
      const p = `${d}&kvass_target=${m.hash}`;
      await get((target.address() as { port: number }).port, d);
      await get(m.proxyPort, p);
      // A pause between scrapes, as between Prometheus's scrapes of one target (a scrape interval, shortened):
      // otherwise each request would also wait for the counting of the one before.
      const pause = (): Promise<void> => new Promise((r) => setTimeout(r, Math.min(200, 5 + m.series / 1000)));
      for (let r = 0; r < m.reps; r++) {
        direct.push(await get((target.address() as { port: number }).port, d));
        await pause();
        proxied.push(await get(m.proxyPort, p));
        await pause();
      }
      process.send!({ op: 'latency', direct, proxied });
    } else if (m.op === 'soak') {
      for (let i = 1; i <= m.reps; i++) {
        await get(m.proxyPort, `/metrics?series=${m.series}&kvass_target=${m.hash}`);
        if (m.marks!.includes(i)) {
          process.send!({ op: 'mark', i });
          await once(process, 'message');
        }
      }
      process.send!({ op: 'soak-done' });
    } else if (m.op === 'exit') {
      agent.destroy();
      target.close();
      process.exit(0);
    }
  })();
});
process.send!({ op: 'ready', port: (target.address() as { port: number }).port });
