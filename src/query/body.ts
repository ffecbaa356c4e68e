/** Reading a request body with a size limit (the gateway's reads, the front door's forms). */
import type { IncomingMessage } from 'node:http';

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new BodyTooLarge(`request body larger than ${max} bytes`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}
