/** A remote-read client for tests: sends a ReadRequest and decodes SAMPLES or STREAMED_XOR_CHUNKS answers. */
import { compressSync, uncompressSync } from 'snappy';
import { encodeReadRequest, type LabelMatcher, type ReadHints } from '../../src/query/remote/read-proto.js';
import { scanReadResponse } from '../../src/query/remote/series-wire.js';
import { decodeChunkedReadResponse, readFrames } from '../../src/query/remote/chunked.js';
import { decodeXorChunk } from '../../src/query/remote/xor-chunk.js';

export interface ReadSeries {
  labels: Record<string, string>;
  t: number[];
  v: number[];
}

export interface ReadAnswer {
  status: number;
  text?: string;
  warnings: string[];
  /** Per query. */
  results: ReadSeries[][];
  contentType: string;
}

export async function remoteRead(url: string, q: { startMs: number; endMs: number; matchers: LabelMatcher[]; hints?: ReadHints }, type: 0 | 1 = 0, headers: Record<string, string> = {}): Promise<ReadAnswer> {
  const body = compressSync(Buffer.from(encodeReadRequest({ queries: [q], acceptedResponseTypes: [type] })));
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', ...headers } });
  const buf = Buffer.from(await res.arrayBuffer());
  const warnings = (res.headers.get('x-kvass-warning') ?? '').split(', ').filter((w) => w !== '');
  const contentType = res.headers.get('content-type') ?? '';
  if (res.status !== 200) return { status: res.status, text: buf.toString('utf8'), warnings, results: [], contentType };
  if (type === 0) {
    const results = scanReadResponse(uncompressSync(buf) as Buffer).map((table) => Array.from({ length: table.n }, (_, i) => {
      const d = table.samples(i);
      return { labels: Object.fromEntries(table.labels(i)), t: d.t, v: d.v };
    }));
    return { status: 200, warnings, results, contentType };
  }
  const results: ReadSeries[][] = [[]];
  for (const msg of readFrames(buf)) {
    const m = decodeChunkedReadResponse(msg);
    for (const s of m.series) {
      const samples = { t: [] as number[], v: [] as number[] };
      for (const c of s.chunks) decodeXorChunk(c.data, samples);
      (results[m.queryIndex] ??= []).push({ labels: Object.fromEntries(s.labels), ...samples });
    }
  }
  return { status: 200, warnings, results, contentType };
}
