/** Answers in Prometheus's JSON envelope: `{"status":"success","data":…}` and `{"status":"error","errorType":…,"error":…}`. */
import type { ServerResponse } from 'node:http';

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
