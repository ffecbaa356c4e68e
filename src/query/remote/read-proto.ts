/**
 * Remote-read request messages (prompb's remote.proto and types.proto, the fields Prometheus 2.42 has), decoded and
 * encoded with protobufjs from the schema text below. Series payloads, which are large, go through wire.ts instead.
 */
import protobuf from 'protobufjs';
import { Re2Regex } from '../../prom/regex.js';

const SCHEMA = `
syntax = "proto3";
package prometheus;
message ReadRequest {
  repeated Query queries = 1;
  enum ResponseType { SAMPLES = 0; STREAMED_XOR_CHUNKS = 1; }
  repeated ResponseType accepted_response_types = 2;
}
message Query {
  int64 start_timestamp_ms = 1;
  int64 end_timestamp_ms = 2;
  repeated LabelMatcher matchers = 3;
  ReadHints hints = 4;
}
message LabelMatcher {
  enum Type { EQ = 0; NEQ = 1; RE = 2; NRE = 3; }
  Type type = 1;
  string name = 2;
  string value = 3;
}
message ReadHints {
  int64 step_ms = 1;
  string func = 2;
  int64 start_ms = 3;
  int64 end_ms = 4;
  repeated string grouping = 5;
  bool by = 6;
  int64 range_ms = 7;
}
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message QueryResult { repeated TimeSeries timeseries = 1; }
message ReadResponse { repeated QueryResult results = 1; }
message Chunk {
  int64 min_time_ms = 1;
  int64 max_time_ms = 2;
  enum Encoding { UNKNOWN = 0; XOR = 1; HISTOGRAM = 2; FLOAT_HISTOGRAM = 3; }
  Encoding type = 3;
  bytes data = 4;
}
message ChunkedSeries { repeated Label labels = 1; repeated Chunk chunks = 2; }
message ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1; int64 query_index = 2; }
`;

/** The parsed schema: read-proto's own codecs, and tests that check wire.ts against protobufjs. */
export const remoteProto = protobuf.parse(SCHEMA, { keepCase: true }).root;
const ReadRequestType = remoteProto.lookupType('prometheus.ReadRequest');

export const RESPONSE_SAMPLES = 0;
export const RESPONSE_STREAMED_XOR_CHUNKS = 1;

export type MatchType = 'EQ' | 'NEQ' | 'RE' | 'NRE';
const MATCH_TYPES: readonly MatchType[] = ['EQ', 'NEQ', 'RE', 'NRE'];

export interface LabelMatcher {
  type: MatchType;
  name: string;
  value: string;
}

export interface ReadHints {
  stepMs: number;
  func: string;
  startMs: number;
  endMs: number;
  grouping: string[];
  by: boolean;
  rangeMs: number;
}

export interface ReadQuery {
  startMs: number;
  endMs: number;
  matchers: LabelMatcher[];
  hints?: ReadHints;
}

export interface ReadRequest {
  queries: ReadQuery[];
  acceptedResponseTypes: number[];
}

const num = (v: unknown): number => (v === undefined || v === null ? 0 : Number(v));

/** Decodes a (decompressed) ReadRequest; throws with the reason on malformed input. */
export function decodeReadRequest(bytes: Uint8Array): ReadRequest {
  const msg = ReadRequestType.decode(bytes);
  const o = ReadRequestType.toObject(msg, { longs: Number, enums: Number, defaults: true, arrays: true }) as {
    queries: Array<{ start_timestamp_ms: number; end_timestamp_ms: number; matchers: Array<{ type: number; name: string; value: string }>; hints?: Record<string, unknown> }>;
    accepted_response_types: number[];
  };
  return {
    queries: o.queries.map((q, qi) => ({
      startMs: num(q.start_timestamp_ms),
      endMs: num(q.end_timestamp_ms),
      matchers: q.matchers.map((m, mi) => {
        const type = MATCH_TYPES[m.type];
        if (type === undefined) throw new Error(`query ${qi}, matcher ${mi}: unknown matcher type ${m.type}`);
        return { type, name: m.name, value: m.value };
      }),
      hints: q.hints
        ? {
            stepMs: num(q.hints.step_ms),
            func: String(q.hints.func ?? ''),
            startMs: num(q.hints.start_ms),
            endMs: num(q.hints.end_ms),
            grouping: (q.hints.grouping as string[] | undefined) ?? [],
            by: Boolean(q.hints.by),
            rangeMs: num(q.hints.range_ms),
          }
        : undefined,
    })),
    acceptedResponseTypes: o.accepted_response_types,
  };
}

/**
 * Why Prometheus could not run this request's matchers (a regex Go's RE2 refuses), or undefined. Prometheus
 * answers such a request with a 500; kvass refuses it with a 400 that names the query and matcher.
 */
export function readRequestProblem(req: ReadRequest): string | undefined {
  for (const [qi, q] of req.queries.entries()) {
    for (const [mi, m] of q.matchers.entries()) {
      if (m.type !== 'RE' && m.type !== 'NRE') continue;
      try {
        Re2Regex.compile(m.value);
      } catch (e) {
        return `query ${qi}, matcher ${mi} (${m.name}${m.type === 'RE' ? '=~' : '!~'}${JSON.stringify(m.value)}): ${(e as Error).message}`;
      }
    }
  }
  return undefined;
}

export function encodeReadRequest(req: ReadRequest): Uint8Array {
  const msg = ReadRequestType.fromObject({
    queries: req.queries.map((q) => ({
      start_timestamp_ms: q.startMs,
      end_timestamp_ms: q.endMs,
      matchers: q.matchers.map((m) => ({ type: MATCH_TYPES.indexOf(m.type), name: m.name, value: m.value })),
      hints: q.hints
        ? { step_ms: q.hints.stepMs, func: q.hints.func, start_ms: q.hints.startMs, end_ms: q.hints.endMs, grouping: q.hints.grouping, by: q.hints.by, range_ms: q.hints.rangeMs }
        : undefined,
    })),
    accepted_response_types: req.acceptedResponseTypes,
  });
  return ReadRequestType.encode(msg).finish();
}
