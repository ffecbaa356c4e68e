/**
 * Serves the web console under /kvass/: the page and style sheet (assets.ts) and the compiled browser code
 * (dist/console/*.js, built by `tsc -p src/console/web/tsconfig.json`, found relative to this module).
 *
 *   GET /kvass            → 301 to kvass/ (relative, so a route prefix in front stays)
 *   GET /kvass/           → the page (also /kvass/index.html)
 *   GET /kvass/console.css
 *   GET /kvass/<name>.js, /kvass/<name>.js.map → from dist/console/
 *
 * Only single plain file names are served: a path with `..`, a slash, a backslash or any percent-escape after
 * /kvass/ is refused (400), a name that is not there is a 404, and the resolved file must still be inside the
 * folder. Every answer carries `cache-control: no-cache` and `x-content-type-options: nosniff`; the page carries a
 * Content-Security-Policy that allows nothing but its own origin.
 */
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONSOLE_CSS, CONSOLE_HTML } from './assets.js';

/** dist/src/console/serve.js → dist/console/ */
export const CONSOLE_DIST_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

export const CONSOLE_PREFIX = '/kvass';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.js.map': 'application/json; charset=utf-8',
};

/** A plain file name: letters, digits, `_`, `-`, inner dots; never `.` or `..`. */
const FILE_NAME = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

export interface ServeConsoleOptions {
  /** GET (the default) or HEAD; anything else is a 405. */
  method?: string;
  /** Where the compiled browser code is (default CONSOLE_DIST_DIR). */
  dir?: string;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, head: boolean, headers: Record<string, string> = {}): void {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, {
    'content-type': type,
    'content-length': String(buf.length),
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(head ? undefined : buf);
}

const sendPlain = (res: ServerResponse, status: number, text: string, head: boolean, headers: Record<string, string> = {}): void => send(res, status, 'text/plain; charset=utf-8', `${text}\n`, head, headers);

/**
 * Answers `rawTarget` (the request path as received, still percent-encoded; a query string is ignored, so `req.url`
 * will do) when it is /kvass or under /kvass/; returns false, having written nothing, for any other path.
 */
export async function serveConsole(rawTarget: string, res: ServerResponse, o: ServeConsoleOptions = {}): Promise<boolean> {
  const q = rawTarget.indexOf('?');
  const rawPath = q < 0 ? rawTarget : rawTarget.slice(0, q);
  if (rawPath !== CONSOLE_PREFIX && !rawPath.startsWith(`${CONSOLE_PREFIX}/`)) return false;
  const method = (o.method ?? 'GET').toUpperCase();
  const head = method === 'HEAD';
  if (method !== 'GET' && !head) {
    sendPlain(res, 405, `method ${method} not allowed: the console is read with GET`, false, { allow: 'GET, HEAD' });
    return true;
  }
  if (rawPath === CONSOLE_PREFIX) {
    send(res, 301, 'text/plain; charset=utf-8', 'see kvass/\n', head, { location: 'kvass/' });
    return true;
  }
  const name = rawPath.slice(CONSOLE_PREFIX.length + 1);
  if (name === '' || name === 'index.html') {
    send(res, 200, 'text/html; charset=utf-8', CONSOLE_HTML, head, { 'content-security-policy': CSP, 'referrer-policy': 'same-origin', 'x-frame-options': 'DENY' });
    return true;
  }
  if (name === 'console.css') {
    send(res, 200, 'text/css; charset=utf-8', CONSOLE_CSS, head);
    return true;
  }
  if (!FILE_NAME.test(name)) {
    sendPlain(res, 400, 'bad console path: only plain file names are served under /kvass/', head);
    return true;
  }
  const ext = name.endsWith('.js.map') ? '.js.map' : name.endsWith('.js') ? '.js' : '';
  if (ext === '') {
    sendPlain(res, 404, `no console file ${name}`, head);
    return true;
  }
  const dir = resolve(o.dir ?? CONSOLE_DIST_DIR);
  const file = resolve(join(dir, name));
  if (!file.startsWith(dir + sep)) {
    sendPlain(res, 400, 'bad console path', head);
    return true;
  }
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR') {
      sendPlain(res, 404, `no console file ${name}${code === 'ENOENT' && name === 'app.js' ? ' (the browser code is not built: run npm run build)' : ''}`, head);
      return true;
    }
    throw e;
  }
  send(res, 200, TYPES[ext]!, body, head);
  return true;
}

/**
 * For a server that has parsed the request target (src/http/request.ts): answers /kvass and /kvass/* and resolves
 * true, or resolves false for any other path. Give it `target.rawPath` — the parsed `path` has its trailing slash
 * removed, and /kvass must redirect while /kvass/ is the page.
 */
export function consoleHandler(o: Omit<ServeConsoleOptions, 'method'> = {}): (req: IncomingMessage, res: ServerResponse, target: { rawPath: string }) => Promise<boolean> {
  return (req, res, target) => serveConsole(target.rawPath, res, { ...o, method: req.method });
}
