/**
 * Scrape URLs exactly as Go's net/url prints them (url.URL.String with url.Values.Encode), so that kvass's
 * `scrapeUrl` equals Prometheus's byte for byte: same escaping of host, path and query, keys sorted.
 */

const HEX = '0123456789ABCDEF';
type Mode = 'host' | 'path' | 'query';

function isAlnum(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39);
}

/** Go's url.shouldEscape for one byte of the UTF-8 encoding. */
function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false;
  if (mode === 'host') {
    // sub-delims, ':' for the port, '[' ']' for IPv6, and '<' '>' '"' which Go leaves as they are.
    if ('!$&\'()*+,;=:[]<>"'.includes(String.fromCharCode(c))) return false;
  }
  if (c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e) return false; // - _ . ~
  if ('$&+,/:;=?@'.includes(String.fromCharCode(c))) {
    if (mode === 'path') return c === 0x3f; // only '?' is escaped in a path
    return true; // query components escape every reserved character
  }
  return true;
}

export function goEscape(s: string, mode: Mode): string {
  // Fast path: nothing to escape (the common case of plain ASCII hosts and paths).
  let plain = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 || shouldEscape(c, mode)) { plain = false; break; }
  }
  if (plain) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x20 && mode === 'query') out += '+';
    else if (b < 0x80 && !shouldEscape(b, mode)) out += String.fromCharCode(b);
    else out += '%' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** url.Values.Encode: keys sorted (byte order), each value `k=v`, QueryEscape'd, joined by '&'. */
export function encodeQuery(params: ReadonlyMap<string, readonly string[]>): string {
  const keys = [...params.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const parts: string[] = [];
  for (const k of keys) {
    const ek = goEscape(k, 'query');
    for (const v of params.get(k)!) parts.push(`${ek}=${goEscape(v, 'query')}`);
  }
  return parts.join('&');
}

/** url.URL{Scheme, Host, Path, RawQuery}.String(). */
export function formatUrl(scheme: string, host: string, path: string, rawQuery: string): string {
  let out = scheme ? `${scheme}:` : '';
  if (scheme || host) {
    if (host || path) out += '//';
    out += goEscape(host, 'host');
  }
  const escapedPath = path === '*' ? '*' : goEscape(path, 'path');
  if (escapedPath !== '' && escapedPath[0] !== '/' && host !== '') out += '/';
  out += escapedPath;
  if (rawQuery !== '') out += `?${rawQuery}`;
  return out;
}
