/**
 * Raw-socket HTTP fuzzing for tests: a seeded PRNG, one exchange over `node:net` (so that malformed requests are
 * possible: any request line, lying lengths, truncated bodies, clients that never read), an HTTP/1.x response
 * parser that reads every answer on the connection, a connection-counting canary, and a bounded-concurrency pool.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { drainOrClose } from '../../src/http/chunked.js';

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.next() * 256);
    return b;
  }

  /** A choice by weight: [[weight, value], …]. */
  weighted<T>(table: ReadonlyArray<readonly [number, T]>): T {
    const total = table.reduce((a, [w]) => a + w, 0);
    let x = this.next() * total;
    for (const [w, v] of table) {
      x -= w;
      if (x < 0) return v;
    }
    return table[table.length - 1]![1];
  }
}

/** One step of what the client sends: bytes, or a pause. */
export type Write = Buffer | { delayMs: number };

export interface RawPlan {
  port: number;
  writes: Write[];
  /**
   * After the writes: `wait` reads answers until `expect` complete ones arrived or the server closed; `end` half-closes
   * first, then waits the same way; `destroy` closes at once; `hold` never reads (the socket stays paused) and closes
   * after holdMs.
   */
  then: 'wait' | 'end' | 'destroy' | 'hold';
  /** Answers expected (pipelined requests: several). */
  expect: number;
  /** Whether the i-th request is a HEAD (its answer has no body). */
  head?: boolean[];
  holdMs?: number;
  /** How long to wait for the answers after the writes (default 20 s). */
  timeoutMs?: number;
}

export interface RawResult {
  /** Final statuses of the answers whose head arrived (1xx interim answers are in `interim`). */
  statuses: number[];
  interim: number[];
  /** Answers received completely. */
  complete: number;
  /** The server closed (or reset) the connection before any answer. */
  closedWithoutAnswer: boolean;
  timedOut: boolean;
  /** The hard deadline hit while connecting, or while the request was still being written (the server stopped reading and kept the connection). */
  stalled?: 'connect' | 'write';
  /** A socket error (ECONNRESET, EPIPE…): recorded, not a failure by itself. */
  error?: string;
  /** Bytes received that are not an HTTP/1.x answer. */
  garbage: boolean;
  received: number;
}

interface Parsed {
  statuses: number[];
  interim: number[];
  complete: number;
  garbage: boolean;
  /** The last answer's body runs until the connection closes. */
  closeDelimited: boolean;
}

/** Parses the answers in `buf` (as far as they arrived). */
export function parseResponses(buf: Buffer, head: boolean[] = []): Parsed {
  const out: Parsed = { statuses: [], interim: [], complete: 0, garbage: false, closeDelimited: false };
  let off = 0;
  while (off < buf.length) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) {
      if (!/^HTTP\/1\.[01] /.test(buf.subarray(off, off + 9).toString('latin1')) && buf.length - off >= 9) out.garbage = true;
      break;
    }
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) {
      out.garbage = true;
      break;
    }
    const status = Number(m[1]);
    let length: number | undefined;
    let chunked = false;
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      const name = l.slice(0, i).trim().toLowerCase();
      const value = l.slice(i + 1).trim();
      if (name === 'content-length') length = Number(value);
      if (name === 'transfer-encoding' && /chunked/i.test(value)) chunked = true;
    }
    off = end + 4;
    if (status >= 100 && status < 200 && status !== 101) {
      out.interim.push(status);
      continue;
    }
    out.statuses.push(status);
    const isHead = head[out.statuses.length - 1] ?? false;
    if (isHead || status === 204 || status === 304) {
      out.complete++;
      continue;
    }
    if (chunked) {
      let p = off;
      let done = false;
      for (;;) {
        const eol = buf.indexOf('\r\n', p);
        if (eol < 0) break;
        const size = parseInt(buf.subarray(p, eol).toString('latin1').split(';')[0]!, 16);
        if (!Number.isFinite(size)) {
          out.garbage = true;
          break;
        }
        if (size === 0) {
          const trailerEnd = buf.indexOf('\r\n', eol + 2) === eol + 2 ? eol + 4 : buf.indexOf('\r\n\r\n', eol + 2) + 4;
          if (trailerEnd < 4 || trailerEnd > buf.length) break;
          p = trailerEnd;
          done = true;
          break;
        }
        if (eol + 2 + size + 2 > buf.length) break;
        p = eol + 2 + size + 2;
      }
      if (!done) break;
      off = p;
      out.complete++;
      continue;
    }
    if (length !== undefined && Number.isFinite(length)) {
      if (off + length > buf.length) break;
      off += length;
      out.complete++;
      continue;
    }
    out.closeDelimited = true; // the body runs to the close
    break;
  }
  return out;
}

/** Sends one plan over a fresh connection and reports what came back. Never throws. */
export function rawExchange(plan: RawPlan): Promise<RawResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let error: string | undefined;
    let timedOut = false;
    let writing = true;
    let connected = false;
    let stalled: RawResult['stalled'];
    let finished = false;
    let ended = false;
    let timer: NodeJS.Timeout | undefined;
    let hard: NodeJS.Timeout | undefined;
    // Half-open allowed, so that a server's FIN is not answered with ours: the client ends every connection with a
    // reset instead (below), which leaves no TIME_WAIT on either side. 20,000 connections in a minute otherwise fill
    // the server ports' TIME_WAIT table, and new connections collide with it (SYNs dropped, connects of seconds).
    const sock: Socket = connect({ port: plan.port, host: '127.0.0.1', allowHalfOpen: true });
    sock.setNoDelay(true);
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(hard);
      if (!sock.destroyed && !sock.connecting) sock.resetAndDestroy();
      else sock.destroy();
      const buf = Buffer.concat(chunks);
      const p = parseResponses(buf, plan.head);
      const complete = p.complete + (p.closeDelimited && ended ? 1 : 0);
      resolve({
        statuses: p.statuses, interim: p.interim, complete,
        closedWithoutAnswer: p.statuses.length === 0 && plan.then !== 'hold' && plan.then !== 'destroy' && !timedOut,
        timedOut, stalled, error, garbage: p.garbage, received,
      });
    };
    sock.on('error', (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    sock.on('close', finish);
    sock.on('end', () => {
      ended = true; // the server is done sending
      finish();
    });
    if (plan.then !== 'hold') {
      sock.on('data', (c: Buffer) => {
        chunks.push(c);
        received += c.length;
        if (plan.then === 'destroy') return;
        const p = parseResponses(Buffer.concat(chunks), plan.head);
        if (p.complete >= plan.expect) finish();
      });
    }
    const run = async (): Promise<void> => {
      await once(sock, 'connect');
      connected = true;
      for (const w of plan.writes) {
        if (sock.destroyed) return;
        if (Buffer.isBuffer(w)) {
          // Big bodies are written with back-pressure; a server that closes early ends the writing.
          for (let o = 0; o < w.length && !sock.destroyed; o += 1 << 20) {
            if (!sock.write(w.subarray(o, o + (1 << 20)))) await drainOrClose(sock);
          }
        } else {
          await new Promise((r) => setTimeout(r, w.delayMs));
        }
      }
      writing = false;
      if (sock.destroyed) return;
      switch (plan.then) {
        case 'destroy':
          finish();
          return;
        case 'hold':
          timer = setTimeout(finish, plan.holdMs ?? 1000);
          return;
        case 'end':
          sock.end();
          break;
        case 'wait':
          break;
      }
      timer = setTimeout(() => {
        timedOut = true;
        finish();
      }, plan.timeoutMs ?? 20_000);
    };
    run().catch((e: Error) => {
      error ??= e.message;
      finish();
    });
    // Whatever happens (a connection never made, a write the server never takes), the exchange ends.
    hard = setTimeout(() => {
      timedOut = true;
      if (writing) stalled = connected ? 'write' : 'connect';
      finish();
    }, (plan.timeoutMs ?? 20_000) + (plan.holdMs ?? 0) + 30_000 + plan.writes.reduce((a, w) => a + (Buffer.isBuffer(w) ? 0 : w.delayMs), 0));
  });
}


/** Runs `n` jobs with at most `concurrency` at a time, in index order. */
export async function pool(n: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      await job(i);
    }
  }));
}

export interface Canary {
  port: number;
  server: Server;
  /** TCP connections accepted. */
  connections: number;
  /** The first bytes of each connection, for the report. */
  firstBytes: string[];
  close(): Promise<void>;
}

/** A TCP server on loopback that counts every connection (so a CONNECT or a TLS hello counts too) and answers 200. */
export async function startCanary(): Promise<Canary> {
  const c = { connections: 0, firstBytes: [] as string[] } as Canary;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    c.connections++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.once('data', (d: Buffer) => {
      if (c.firstBytes.length < 20) c.firstBytes.push(d.subarray(0, 200).toString('latin1'));
      const body = 'canary_stolen_total 1\n';
      s.end(`HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  c.server = server;
  c.port = (server.address() as { port: number }).port;
  c.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return c;
}
