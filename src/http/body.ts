/**
 * Request bodies read with limits: the raw bytes (413 past the limit, refused at once when Content-Length says so),
 * and the decompressions kvass meets (snappy for remote read, gzip), each checked against a limit of its own
 * before the output is allocated: snappy by the length its header declares, gzip while it inflates.
 */
import type { IncomingMessage } from 'node:http';
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { uncompressSync } from 'snappy';
import { HttpError } from './request.js';

const gunzipAsync = promisify(gunzip);

/** The whole body, at most `max` bytes (HttpError 413 beyond). */
export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume(); // let the socket go on; the answer says why
    throw new HttpError(413, 'bad_data', `request body of ${declared} bytes is over the limit of ${max}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const c of req as AsyncIterable<Buffer>) {
      size += c.length;
      if (size > max) {
        req.resume();
        throw new HttpError(413, 'bad_data', `request body over the limit of ${max} bytes`);
      }
      chunks.push(c);
    }
  } catch (e) {
    if (e instanceof HttpError) throw e;
    // The client went away or sent a broken body: its problem, answered (if it still listens) as such.
    throw new HttpError(400, 'bad_data', `cannot read the request body: ${(e as Error).message}`);
  }
  return Buffer.concat(chunks);
}

/** The length a snappy block declares (its uvarint header); throws HttpError 400 when there is none. */
export function snappyDeclaredLength(buf: Uint8Array): number {
  let n = 0;
  let scale = 1;
  for (let i = 0; i < Math.min(buf.length, 5); i++) {
    const b = buf[i]!;
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
  throw new HttpError(400, 'bad_data', 'snappy: corrupt input (no length header)');
}

/** Decompresses a snappy block of at most `maxDecoded` bytes (HttpError 413 beyond, 400 when corrupt). */
export function snappyDecode(buf: Uint8Array, maxDecoded: number): Buffer {
  const declared = snappyDeclaredLength(buf);
  if (declared > maxDecoded) throw new HttpError(413, 'bad_data', `snappy: decoded length ${declared} is over the limit of ${maxDecoded} bytes`);
  try {
    return uncompressSync(Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength)) as Buffer;
  } catch (e) {
    throw new HttpError(400, 'bad_data', `snappy: cannot decompress: ${(e as Error).message}`);
  }
}

/** Inflates gzip into at most `maxDecoded` bytes (HttpError 413 beyond, 400 when corrupt). */
export async function gunzipBounded(buf: Uint8Array, maxDecoded: number): Promise<Buffer> {
  try {
    return await gunzipAsync(buf, { maxOutputLength: maxDecoded });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') throw new HttpError(413, 'bad_data', `gzip: decoded body over the limit of ${maxDecoded} bytes`);
    throw new HttpError(400, 'bad_data', `gzip: ${err.message}`);
  }
}
