/**
 * The request target of an incoming request, parsed without `new URL(target, base)`: that treats `//host/x` as
 * another host and throws on absolute-form targets, which is how one request could end a process or steer a
 * pass-through elsewhere. Only origin-form (`/path?query`) is accepted; anything else, and bad percent-encoding,
 * is a 400 (HttpError) before any handler runs.
 */
import type { IncomingMessage } from 'node:http';

/** An error with the HTTP status and Prometheus errorType it should be answered with. */
export class HttpError extends Error {
  constructor(readonly status: number, readonly errorType: string, message: string) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface RequestTarget {
  /** The target as received (origin-form): what a pass-through sends on. */
  raw: string;
  /** The path, percent-decoded, without trailing slashes ("/" stays "/"). */
  path: string;
  /** The path as received (still percent-encoded). */
  rawPath: string;
  /** The query string without "?" ("" when none). */
  rawQuery: string;
  query: URLSearchParams;
}

const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;

/** Parses `req.url` (see the header). Throws HttpError 400. */
export function parseTarget(req: IncomingMessage): RequestTarget {
  const raw = req.url ?? '';
  if (!raw.startsWith('/') || raw.startsWith('//')) {
    throw new HttpError(400, 'bad_data', `request target ${JSON.stringify(raw.slice(0, 200))} is not origin-form (expected /path?query)`);
  }
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const rawQuery = q < 0 ? '' : raw.slice(q + 1);
  if (BAD_ESCAPE.test(rawPath) || BAD_ESCAPE.test(rawQuery)) throw new HttpError(400, 'bad_data', 'invalid URL escape in the request target');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new HttpError(400, 'bad_data', 'invalid URL escape in the request path (not UTF-8)');
  }
  path = path.replace(/\/+$/, '') || '/';
  return { raw, path, rawPath, rawQuery, query: new URLSearchParams(rawQuery) };
}
