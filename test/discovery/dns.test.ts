import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { createDnsSd, dnsSd, formatIPv6 } from '../../src/discovery/dns.js';
import { harness } from '../helpers/discovery.js';


// ---- a tiny authoritative DNS server on 127.0.0.1 (UDP), answering from a mutable zone ----

type Rr = { type: 'A'; ip: string } | { type: 'AAAA'; ip: string } | { type: 'SRV'; port: number; target: string } | { type: 'MX'; pref: number; host: string };
/** name (lowercase, no trailing dot) → records, or an RCODE to answer with. */
type Zone = Map<string, Rr[] | 'SERVFAIL' | 'DROP'>;
const TYPE_CODES: Record<Rr['type'], number> = { A: 1, MX: 15, AAAA: 28, SRV: 33 };

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv6Bytes(ip: string): Buffer {
  const [head, tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const tl = ip.includes('::') ? (tail ? tail.split(':') : []) : [];
  const groups = [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function rdata(rr: Rr): Buffer {
  switch (rr.type) {
    case 'A':
      return Buffer.from(rr.ip.split('.').map(Number));
    case 'AAAA':
      return ipv6Bytes(rr.ip);
    case 'SRV': {
      const fixed = Buffer.alloc(6);
      fixed.writeUInt16BE(10, 0);
      fixed.writeUInt16BE(5, 2);
      fixed.writeUInt16BE(rr.port, 4);
      return Buffer.concat([fixed, encodeName(rr.target)]);
    }
    case 'MX': {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(rr.pref, 0);
      return Buffer.concat([pref, encodeName(rr.host)]);
    }
  }
}

function answer(query: Buffer, zone: Zone): Buffer | undefined {
  let off = 12;
  const labels: string[] = [];
  while (query[off]! > 0) {
    labels.push(query.subarray(off + 1, off + 1 + query[off]!).toString());
    off += query[off]! + 1;
  }
  off += 1;
  const qtype = query.readUInt16BE(off);
  const question = query.subarray(12, off + 4);
  const entry = zone.get(labels.join('.').toLowerCase());
  if (entry === 'DROP') return undefined;
  const rcode = entry === undefined ? 3 : entry === 'SERVFAIL' ? 2 : 0;
  const rrs = Array.isArray(entry) ? entry.filter((r) => TYPE_CODES[r.type] === qtype) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2); // QR AA, RD copied, RA
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rrs.length, 6);
  const answers = rrs.map((rr) => {
    const data = rdata(rr);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    fixed.writeUInt16BE(TYPE_CODES[rr.type], 2);
    fixed.writeUInt16BE(1, 4);
    fixed.writeUInt32BE(30, 6);
    fixed.writeUInt16BE(data.length, 10);
    return Buffer.concat([fixed, data]);
  });
  return Buffer.concat([header, question, ...answers]);
}

async function fakeDns(t: { after: (fn: () => Promise<void>) => void }, zone: Zone): Promise<{ server: string; queries: string[] }> {
  const sock: Socket = createSocket('udp4');
  const queries: string[] = [];
  sock.on('message', (msg, rinfo) => {
    queries.push(rinfo.address);
    const res = answer(msg, zone);
    if (res) sock.send(res, rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => sock.close(() => r())));
  return { server: `127.0.0.1:${sock.address().port}`, queries };
}

function start(raw: Record<string, unknown>, server: string, timeoutMs = 500) {
  const h = harness();
  const mech = createDnsSd({ servers: [server], timeoutMs });
  const cfg = mech.read(raw, ['dns_sd_configs', 0], { configDir: '/tmp', jobName: 'job' });
  const done = mech.create(cfg, { configDir: '/tmp', jobName: 'job' }).run(h.ctx);
  return { ...h, stop: async () => { h.ac.abort(); await done; } };
}

test('validates dns_sd_configs as Prometheus 2.42 does', () => {
  const read = (raw: unknown) => dnsSd.read(raw, ['x'], { configDir: '/', jobName: 'j' });
  assert.deepEqual(read({ names: ['_x._tcp.example.com'] }), { names: ['_x._tcp.example.com'], type: 'SRV', port: 0, refreshInterval: 30_000 });
  assert.equal(read({ names: ['a'], type: 'aaaa', port: 80 }).type, 'AAAA');
  assert.equal(read({ names: ['a'], type: 'MX', port: 25 }).type, 'MX');
  assert.throws(() => read({ names: [] }), /at least one SRV record name/);
  assert.throws(() => read({ names: ['a'], type: 'A' }), /a port is required/);
  assert.throws(() => read({ names: ['a'], type: 'MX' }), /a port is required/);
  assert.throws(() => read({ names: ['a'], type: 'NS', port: 1 }), /invalid DNS-SD records type NS/);
  assert.throws(() => read({ names: ['a'], typo: 1 }), /field typo not found/);
});

test('formats IPv6 addresses as Go does', () => {
  assert.equal(formatIPv6('2001:0db8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(formatIPv6('::ffff:1.2.3.4'), '1.2.3.4');
  assert.equal(formatIPv6('1:0:0:2:0:0:0:3'), '1:0:0:2::3');
  assert.equal(formatIPv6('::1'), '::1');
});

test('SRV records: targets, meta labels, trailing dot trimmed in the address', async (t) => {
  const zone: Zone = new Map([['_node._tcp.example.com', [{ type: 'SRV', port: 9100, target: 'n1.example.com' }, { type: 'SRV', port: 9101, target: 'n2.example.com' }]]]);
  const { server, queries } = await fakeDns(t, zone);
  const d = start({ names: ['_node._tcp.example.com', 'absent.example.com'] }, server);
  try {
    await d.until(() => d.emits.length > 0, 'first emit');
    assert.deepEqual(d.fails, []);
    const meta = (addr: string, target: string, port: string) => ({
      __address__: addr, __meta_dns_name: '_node._tcp.example.com', __meta_dns_srv_record_target: target,
      __meta_dns_srv_record_port: port, __meta_dns_mx_record_target: '',
    });
    assert.deepEqual(d.emits[0], [
      { source: '_node._tcp.example.com', labels: {}, targets: [meta('n1.example.com:9100', 'n1.example.com.', '9100'), meta('n2.example.com:9101', 'n2.example.com.', '9101')] },
      { source: 'absent.example.com', labels: {}, targets: [] },
    ]);
    assert.ok(queries.length >= 2 && queries.every((a) => a === '127.0.0.1'));
  } finally {
    await d.stop();
  }
});

test('A, AAAA and MX records', async (t) => {
  const zone: Zone = new Map<string, Rr[]>([
    ['hosts.example.com', [{ type: 'A', ip: '10.0.0.1' }, { type: 'A', ip: '10.0.0.2' }, { type: 'AAAA', ip: '2001:db8::7' }]],
    ['mail.example.com', [{ type: 'MX', pref: 10, host: 'mx1.example.com' }]],
  ]);
  const { server } = await fakeDns(t, zone);
  const a = start({ names: ['hosts.example.com'], type: 'A', port: 9100 }, server);
  const aaaa = start({ names: ['hosts.example.com'], type: 'AAAA', port: 9100 }, server);
  const mx = start({ names: ['mail.example.com'], type: 'MX', port: 25 }, server);
  try {
    await a.until(() => a.emits.length > 0, 'A');
    await aaaa.until(() => aaaa.emits.length > 0, 'AAAA');
    await mx.until(() => mx.emits.length > 0, 'MX');
    assert.deepEqual(a.addresses(), ['10.0.0.1:9100', '10.0.0.2:9100']);
    assert.equal(a.emits[0]![0]!.targets[0]!.__meta_dns_name, 'hosts.example.com');
    assert.equal(a.emits[0]![0]!.targets[0]!.__meta_dns_srv_record_target, '');
    assert.deepEqual(aaaa.addresses(), ['[2001:db8::7]:9100']);
    assert.deepEqual(mx.emits[0]![0]!.targets, [{
      __address__: 'mx1.example.com:25', __meta_dns_name: 'mail.example.com', __meta_dns_srv_record_target: '',
      __meta_dns_srv_record_port: '', __meta_dns_mx_record_target: 'mx1.example.com.',
    }]);
  } finally {
    await Promise.all([a.stop(), aaaa.stop(), mx.stop()]);
  }
});

test('refresh picks up changes; a failing name keeps its last group and is reported', async (t) => {
  const zone: Zone = new Map<string, Rr[] | 'SERVFAIL'>([
    ['svc.example.com', [{ type: 'A', ip: '10.0.0.1' }]],
    ['other.example.com', [{ type: 'A', ip: '10.1.0.1' }]],
  ]);
  const { server } = await fakeDns(t, zone);
  const d = start({ names: ['svc.example.com', 'other.example.com'], type: 'A', port: 80, refresh_interval: '50ms' }, server);
  try {
    await d.until(() => d.addresses().join() === '10.0.0.1:80,10.1.0.1:80', 'initial');
    zone.set('svc.example.com', [{ type: 'A', ip: '10.0.0.1' }, { type: 'A', ip: '10.0.0.3' }]);
    await d.until(() => d.addresses().join() === '10.0.0.1:80,10.0.0.3:80,10.1.0.1:80', 'added record');
    zone.set('svc.example.com', 'SERVFAIL');
    zone.set('other.example.com', [{ type: 'A', ip: '10.1.0.2' }]);
    await d.until(() => d.fails.length > 0 && d.addresses().includes('10.1.0.2:80'), 'failure report and other name updated');
    assert.match(d.fails[0]!.message, /svc\.example\.com/);
    assert.deepEqual(d.addresses(), ['10.0.0.1:80', '10.0.0.3:80', '10.1.0.2:80']);
    zone.delete('svc.example.com'); // NXDOMAIN: no targets, not an error
    await d.until(() => d.addresses().join() === '10.1.0.2:80', 'NXDOMAIN clears the group');
  } finally {
    await d.stop();
  }
});

test('a server that never answers is reported; the initial (empty) set is emitted', async (t) => {
  const { server } = await fakeDns(t, new Map([['slow.example.com', 'DROP']]));
  const d = start({ names: ['slow.example.com'], type: 'A', port: 80, refresh_interval: '1h' }, server, 200);
  try {
    await d.until(() => d.fails.length > 0, 'timeout report');
    assert.match(d.fails[0]!.message, /slow\.example\.com.*ETIMEOUT|timeout/i);
    assert.deepEqual(d.emits, [[]]);
  } finally {
    await d.stop();
  }
});

test('KVASS_DNS_SERVER points the default mechanism at a server', async (t) => {
  const { server } = await fakeDns(t, new Map([['env.example.com', [{ type: 'A', ip: '192.0.2.1' }]]]));
  const saved = process.env.KVASS_DNS_SERVER;
  process.env.KVASS_DNS_SERVER = server;
  t.after(() => {
    if (saved === undefined) delete process.env.KVASS_DNS_SERVER;
    else process.env.KVASS_DNS_SERVER = saved;
  });
  const h = harness();
  const cfg = dnsSd.read({ names: ['env.example.com'], type: 'A', port: 1 }, [], { configDir: '/', jobName: 'j' });
  const done = dnsSd.create(cfg, { configDir: '/', jobName: 'j' }).run(h.ctx);
  try {
    await h.until(() => h.emits.length > 0, 'emit');
    assert.deepEqual(h.addresses(), ['192.0.2.1:1']);
  } finally {
    h.ac.abort();
    await done;
  }
});
