/** A hop that sets headers on the way to a router. The Debian prometheus 2.42 drops remote_write `headers` (none
 * reach the server: checked by hand with a listener), so a cluster's tenant header is set in front of its agent,
 * as PaodinMonitoring's Envoy did. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export async function headerHop(upstream: string, headers: Record<string, string>): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const up = http.request(`${upstream}${req.url ?? '/'}`, { method: req.method, headers: { ...req.headers, ...headers } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}
