/**
 * basic_auth_users with bcrypt hashes, as exporter-toolkit v0.8.2 checks them (web/handler.go, web/cache.go): unknown
 * users still cost a comparison with a fixed hash, results are cached, and bcrypt runs in a worker thread (one
 * comparison at a time, as the toolkit's mutex) so that the event loop never runs a bcrypt round.
 */
import { createHash } from 'node:crypto';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import bcrypt from 'bcryptjs';

import { goQuote } from './go-yaml.js';

/** The toolkit's bcrypt hash (cost 10) of "fakepassword", compared for unknown users (handler.go). */
const FAKE_HASH = '$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi';
/** web/cache.go cacheSize. */
const CACHE_SIZE = 100;

/** bcrypt.Cost's error for a hash (golang.org/x/crypto/bcrypt), undefined when it has a valid cost. */
export function bcryptCostError(hash: string): string | undefined {
  const b = Buffer.from(hash, 'utf8');
  if (b.length < 59) return 'crypto/bcrypt: hashedSecret too short to be a bcrypted password';
  if (b[0] !== 0x24) return `crypto/bcrypt: bcrypt hashes must start with '$', but hashedSecret started with '${String.fromCharCode(b[0]!)}'`;
  if (b[1]! > 0x32) return `crypto/bcrypt: bcrypt algorithm version '${String.fromCharCode(b[1]!)}' requested is newer than current version '2'`;
  const n = b[2] === 0x24 ? 3 : 4;
  const digits = b.subarray(n, n + 2).toString('latin1');
  if (!/^[+-]?[0-9]+$/.test(digits)) return `strconv.Atoi: parsing ${goQuote(digits)}: invalid syntax`;
  const cost = Number.parseInt(digits, 10);
  if (cost < 4 || cost > 31) return `crypto/bcrypt: cost ${cost} is outside allowed range (4,31)`;
  return undefined;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Basic auth.                                                                                                  */

const WORKER_FLAG = 'kvass.web-config.bcrypt-worker';

interface CompareRequest {
  id: number;
  password: string;
  hash: string;
}

// This module, started as a worker, compares bcrypt hashes for the main thread (one at a time).
if (!isMainThread && parentPort && (workerData as Record<string, unknown> | null)?.[WORKER_FLAG] === true) {
  const port = parentPort;
  port.on('message', (m: CompareRequest) => {
    let ok = false;
    try {
      ok = bcrypt.compareSync(m.password, m.hash);
    } catch {
      ok = false;
    }
    port.postMessage({ id: m.id, ok });
  });
}

/** One worker thread shared by every checker; it does not keep the process alive while idle. */
class BcryptWorker {
  private worker?: Worker;
  private broken = false;
  private next = 1;
  private readonly pending = new Map<number, { resolve: (ok: boolean) => void; reject: (e: Error) => void }>();

  compare(password: string, hash: string): Promise<boolean> {
    const w = this.start();
    if (!w) return bcrypt.compare(password, hash).catch(() => false);
    return new Promise<boolean>((resolve, reject) => {
      const id = this.next++;
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) w.ref();
      w.postMessage({ id, password, hash } satisfies CompareRequest);
    }).catch(() => bcrypt.compare(password, hash).catch(() => false));
  }

  private start(): Worker | undefined {
    if (this.worker || this.broken) return this.worker;
    let w: Worker;
    try {
      w = new Worker(new URL(import.meta.url), { workerData: { [WORKER_FLAG]: true } });
    } catch {
      this.broken = true;
      return undefined;
    }
    w.unref();
    w.on('message', (m: { id: number; ok: boolean }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      p?.resolve(m.ok);
    });
    const fail = (e: Error): void => {
      if (this.worker !== w) return;
      this.worker = undefined;
      this.broken = true;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`bcrypt worker exited (${code})`)));
    this.worker = w;
    return w;
  }
}

const bcryptWorker = new BcryptWorker();

/**
 * The hash as bcryptjs compares it: Go reads any `$<major ≤ 2>[minor]$<cost>$` prefix and always appends the
 * NUL byte to the password, which bcryptjs does for `$2a$`; undefined when Go could never match it.
 */
function forBcryptjs(hash: string): string | undefined {
  if (bcryptCostError(hash)) return undefined;
  const n = hash[2] === '$' ? 3 : 4;
  const cost = Number.parseInt(hash.slice(n, n + 2), 10);
  const rest = hash.slice(n + 3);
  if (rest.length !== 53) return undefined;
  return `$2a$${String(cost).padStart(2, '0')}$${rest}`;
}

async function compareHash(password: string, hash: string): Promise<boolean> {
  const h = forBcryptjs(hash);
  if (h === undefined) return false;
  return bcryptWorker.compare(password, h);
}

/** net/http Request.BasicAuth. */
function parseBasicAuth(authorization: string | undefined): { user: string; password: string } | undefined {
  if (authorization === undefined || authorization.length < 6 || authorization.slice(0, 6).toLowerCase() !== 'basic ') return undefined;
  const b64 = authorization.slice(6).replace(/[\r\n]/g, '');
  if (b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) return undefined;
  const decoded = Buffer.from(b64, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * basic_auth_users with bcrypt hashes, checked like exporter-toolkit: unknown users still cost a bcrypt comparison
 * (no timing oracle), results cached (bounded, random eviction, keyed by user, hash and password), bcrypt run off
 * the event loop. With no users, every request passes (as the toolkit's handler does).
 */
export class BasicAuthChecker {
  private readonly cache = new Map<string, boolean>();

  constructor(private readonly users: Map<string, string>) {}

  async check(authorization: string | undefined): Promise<boolean> {
    if (this.users.size === 0) return true;
    const creds = parseBasicAuth(authorization);
    if (!creds) return false;
    const known = this.users.get(creds.user);
    const validUser = known !== undefined;
    const hash = known ?? FAKE_HASH;
    const key = createHash('sha256');
    for (const part of [creds.user, hash, creds.password]) {
      const b = Buffer.from(part, 'utf8');
      key.update(`${b.length}:`).update(b);
    }
    const cacheKey = key.digest('base64');
    let ok = this.cache.get(cacheKey);
    if (ok === undefined) {
      ok = validUser && (await compareHash(creds.password, hash));
      this.remember(cacheKey, ok);
    }
    return ok && validUser;
  }

  private remember(key: string, value: boolean): void {
    if (this.cache.size >= CACHE_SIZE) {
      const keys = [...this.cache.keys()];
      const drop = Math.max(1, Math.floor(keys.length / 10)) + 1;
      for (let i = 0; i < drop && keys.length > 0; i++) {
        const j = Math.floor(Math.random() * keys.length);
        this.cache.delete(keys[j]!);
        keys[j] = keys[keys.length - 1]!;
        keys.pop();
      }
    }
    this.cache.set(key, value);
  }
}

