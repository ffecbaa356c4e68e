/**
 * The STREAMED_XOR_CHUNKS response of remote read: a stream of frames, each `uvarint(length)`, the CRC32
 * (Castagnoli) of the message as 4 big-endian bytes, then a ChunkedReadResponse message (not compressed).
 * Content-Type: application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse.
 */
import { remoteProto } from './read-proto.js';
import { WireError, WireReader, WireWriter, varintSize } from './wire.js';

export const STREAMED_CONTENT_TYPE = 'application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse';
/** Prometheus's default --storage.remote.read-max-bytes-in-frame. */
export const MAX_BYTES_IN_FRAME = 1048576;

const ChunkedReadResponseType = remoteProto.lookupType('prometheus.ChunkedReadResponse');

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function frame(message: Uint8Array): Buffer {
  const w = new WireWriter(varintSize(message.length) + 4 + message.length);
  w.uvarint(message.length);
  const crc = crc32c(message);
  w.byte(crc >>> 24);
  w.byte((crc >>> 16) & 0xff);
  w.byte((crc >>> 8) & 0xff);
  w.byte(crc & 0xff);
  w.bytes(message);
  return w.finish();
}

/** Splits a whole streamed body into its messages, checking every CRC. */
export function readFrames(body: Uint8Array, maxFrame = 50 * MAX_BYTES_IN_FRAME): Uint8Array[] {
  const out: Uint8Array[] = [];
  const r = new WireReader(body);
  while (!r.done()) {
    const n = r.uint32();
    if (n > maxFrame) throw new WireError(`frame of ${n} bytes exceeds the limit of ${maxFrame}`);
    if (r.pos + 4 + n > body.length) throw new WireError('truncated frame');
    const crc = ((body[r.pos]! << 24) | (body[r.pos + 1]! << 16) | (body[r.pos + 2]! << 8) | body[r.pos + 3]!) >>> 0;
    const msg = body.subarray(r.pos + 4, r.pos + 4 + n);
    if (crc32c(msg) !== crc) throw new WireError('frame checksum mismatch');
    out.push(msg);
    r.pos += 4 + n;
  }
  return out;
}

export interface ChunkMessage {
  minTimeMs: number;
  maxTimeMs: number;
  /** 1 = XOR. */
  type: number;
  data: Uint8Array;
}

export interface ChunkedSeriesMessage {
  labels: Array<[string, string]>;
  chunks: ChunkMessage[];
}

export interface ChunkedReadResponseMessage {
  series: ChunkedSeriesMessage[];
  queryIndex: number;
}

export function encodeChunkedReadResponse(m: ChunkedReadResponseMessage): Uint8Array {
  return ChunkedReadResponseType.encode(ChunkedReadResponseType.fromObject({
    chunked_series: m.series.map((s) => ({
      labels: s.labels.map(([name, value]) => ({ name, value })),
      chunks: s.chunks.map((c) => ({ min_time_ms: c.minTimeMs, max_time_ms: c.maxTimeMs, type: c.type, data: c.data })),
    })),
    query_index: m.queryIndex,
  })).finish();
}

export function decodeChunkedReadResponse(bytes: Uint8Array): ChunkedReadResponseMessage {
  const o = ChunkedReadResponseType.toObject(ChunkedReadResponseType.decode(bytes), { longs: Number, enums: Number, defaults: true, arrays: true }) as {
    chunked_series: Array<{ labels: Array<{ name: string; value: string }>; chunks: Array<{ min_time_ms: number; max_time_ms: number; type: number; data: Uint8Array }> }>;
    query_index: number;
  };
  return {
    queryIndex: o.query_index,
    series: o.chunked_series.map((s) => ({
      labels: s.labels.map((l) => [l.name, l.value] as [string, string]),
      chunks: s.chunks.map((c) => ({ minTimeMs: c.min_time_ms, maxTimeMs: c.max_time_ms, type: c.type, data: c.data })),
    })),
  };
}
