/** Answers in Prometheus's JSON envelope: `{"status":"success","data":…}` and `{"status":"error","errorType":…,"error":…}`. */
import type { ServerResponse } from 'node:http';
import { ChunkedText } from './chunked.js';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

export function apiSuccess(res: ServerResponse, data: unknown, warnings?: readonly string[]): void {
  sendJson(res, 200, warnings && warnings.length > 0 ? { status: 'success', data, warnings } : { status: 'success', data });
}

export function apiError(res: ServerResponse, status: number, errorType: string, error: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { status: 'error', errorType, error }, headers);
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/**
 * `{"status":"success","data":{"<key>":[…],…}}` written piece by piece: the same bytes as `apiSuccess` with those
 * lists, for answers too large to be one string. V8 caps a string at about 512 MB, which /api/v1/targets reaches
 * near 200,000 pod targets (2.8 KB each); building the whole text first also held it twice (string and Buffer).
 * Each item is JSON.stringify'd on its own (so `items` may be a generator that makes them one at a time), and the
 * text goes out in writes of about 1 MB, waiting while the client reads slowly; a client that went away ends it.
 */
export async function apiSuccessLists(res: ServerResponse, lists: ReadonlyArray<readonly [key: string, items: Iterable<unknown>]>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json' });
  const out = new ChunkedText(res);
  out.add('{"status":"success","data":{');
  for (let k = 0; k < lists.length; k++) {
    const [key, items] = lists[k]!;
    out.add(`${k > 0 ? ',' : ''}${JSON.stringify(key)}:[`);
    let first = true;
    for (const item of items) {
      out.add((first ? '' : ',') + (JSON.stringify(item) ?? 'null'));
      first = false;
      if (out.full && !(await out.flush())) return;
    }
    out.add(']');
  }
  out.add('}}');
  if (await out.flush()) res.end();
}
