import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileSd, filepathGlob, globMatch, parseTargetGroups } from '../../src/discovery/file.js';
import { harness } from '../helpers/discovery.js';


async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kvass-file-sd-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function start(raw: unknown, configDir: string) {
  const h = harness();
  const cfg = fileSd.read(raw, ['file_sd_configs', 0], { configDir, jobName: 'job' });
  const done = fileSd.create(cfg, { configDir, jobName: 'job' }).run(h.ctx);
  const stop = async () => {
    h.ac.abort();
    await done;
  };
  return { ...h, cfg, stop };
}

test('validates file_sd_configs as Prometheus 2.42 does', () => {
  const read = (raw: unknown) => fileSd.read(raw, ['x'], { configDir: '/etc/prom', jobName: 'j' });
  assert.deepEqual(read({ files: ['a.json', '/abs/b.yml', 'sd/*.yaml'] }), {
    files: ['/etc/prom/a.json', '/abs/b.yml', '/etc/prom/sd/*.yaml'],
    refreshInterval: 300_000,
  });
  assert.equal(read({ files: ['a.JSON'], refresh_interval: '10s' }).refreshInterval, 10_000);
  assert.throws(() => read({}), /at least one path name/);
  assert.throws(() => read({ files: [] }), /at least one path name/);
  assert.throws(() => read({ files: ['a.txt'] }), /"a.txt" is not valid for file discovery/);
  assert.throws(() => read({ files: ['*/a.json'] }), /not valid for file discovery/);
  assert.throws(() => read({ files: ['a.Json'] }), /not valid/);
  assert.throws(() => read({ files: ['a.json'], refresh: '1m' }), /field refresh not found/);
  read({ files: ['dir/a*b*.yml', 'x?.json', '[ab].yaml'] });
});

test('filepath.Match semantics', () => {
  assert.ok(globMatch('*.json', 'a.json'));
  assert.ok(globMatch('*.json', '.hidden.json'));
  assert.ok(!globMatch('*.json', 'a.yml'));
  assert.ok(globMatch('a?c.json', 'abc.json'));
  assert.ok(globMatch('a?c', 'aéc'));
  assert.ok(globMatch('[a-c]x', 'bx'));
  assert.ok(!globMatch('[^a-c]x', 'bx'));
  assert.ok(globMatch('[^a-c]x', 'dx'));
  assert.ok(globMatch('\\*x', '*x'));
  assert.ok(!globMatch('\\*x', 'ax'));
  assert.ok(globMatch('[\\]]', ']'));
  assert.ok(globMatch('a*b*c', 'aXbYbZc'));
  assert.ok(!globMatch('a*', 'a/b'));
  for (const bad of ['[', '[]', '[a-]', '[-a]', 'a\\', '[^]', '[a']) assert.throws(() => globMatch(bad, 'a'), /syntax error in pattern/, bad);
});

test('filepath.Glob', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'd1'));
  await mkdir(join(dir, 'd2'));
  for (const f of ['d1/b.json', 'd1/a.json', 'd2/c.json', 'd1/x.yml']) await writeFile(join(dir, f), '[]');
  assert.deepEqual(await filepathGlob(join(dir, 'd1/*.json')), [join(dir, 'd1/a.json'), join(dir, 'd1/b.json')]);
  assert.deepEqual(await filepathGlob(join(dir, 'd?/*.json')), [join(dir, 'd1/a.json'), join(dir, 'd1/b.json'), join(dir, 'd2/c.json')]);
  assert.deepEqual(await filepathGlob(join(dir, 'd1/x.yml')), [join(dir, 'd1/x.yml')]);
  assert.deepEqual(await filepathGlob(join(dir, 'd1/none.yml')), []);
  assert.deepEqual(await filepathGlob(join(dir, 'nodir/*.yml')), []);
  await assert.rejects(filepathGlob(join(dir, 'd1/[.json')), /syntax error/);
});

test('parses JSON and YAML target groups strictly', () => {
  assert.deepEqual(parseTargetGroups('[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"Targets": []}]', 'json'), [
    { targets: [{ __address__: 'a:1' }, { __address__: 'b:2' }], labels: { env: 'prod' } },
    { targets: [], labels: {} },
  ]);
  assert.deepEqual(parseTargetGroups('null', 'json'), []);
  assert.throws(() => parseTargetGroups('[{"targets": ["a"], "foo": 1}]', 'json'), /unknown field "foo"/);
  assert.throws(() => parseTargetGroups('[{"targets": [1]}]', 'json'), /targets\[0\]: expected a string/);
  assert.throws(() => parseTargetGroups('[{"labels": {"1x": "v"}}]', 'json'), /"1x" is not a valid label name/);
  assert.throws(() => parseTargetGroups('[null]', 'json'), /target group 0 is null/);
  assert.throws(() => parseTargetGroups('{"targets": []}', 'json'), /expected a list of target groups/);
  assert.throws(() => parseTargetGroups('[{', 'json'), /invalid JSON/);

  assert.deepEqual(parseTargetGroups('- targets: [a:1, 10.0.0.1:9100]\n  labels: {n: 1.10, b: yes, e: }\n', 'yaml'), [
    { targets: [{ __address__: 'a:1' }, { __address__: '10.0.0.1:9100' }], labels: { n: '1.10', b: 'yes', e: '' } },
  ]);
  assert.deepEqual(parseTargetGroups('', 'yaml'), []);
  assert.throws(() => parseTargetGroups('- targets: [a]\n  job: x\n', 'yaml'), /line 2: field job not found/);
  assert.throws(() => parseTargetGroups('- targets: [a]\n  labels:\n    bad-name: x\n', 'yaml'), /line 3: "bad-name" is not a valid label name/);
  assert.throws(() => parseTargetGroups('- targets: [a]\n  targets: [b]\n', 'yaml'), /invalid YAML at line 1: Map keys must be unique/);
  assert.throws(() => parseTargetGroups('- targets: {a: b}\n', 'yaml'), /expected a list/);
});

test('reads JSON and YAML files, relative paths and patterns, with sources and __meta_filepath', async (t) => {
  const dir = await tempDir(t);
  await mkdir(join(dir, 'sd'));
  await writeFile(join(dir, 'targets.json'), JSON.stringify([{ targets: ['a:1'], labels: { env: 'prod' } }, { targets: ['b:2', 'c:3'] }]));
  await writeFile(join(dir, 'more.yaml'), '- targets: [d:4]\n  labels:\n    __meta_filepath: overwritten\n');
  await writeFile(join(dir, 'sd', 'x.json'), '[{"targets": ["e:5"]}]');
  await writeFile(join(dir, 'sd', 'y.json'), '[]');
  await writeFile(join(dir, 'sd', 'z.yml'), '- targets: [ignored:1]');
  const d = start({ files: ['targets.json', 'more.yaml', 'sd/*.json'] }, dir);
  try {
    await d.until(() => d.emits.length > 0, 'first emit');
    assert.deepEqual(d.fails, []);
    const json = join(dir, 'targets.json');
    assert.deepEqual(d.emits[0], [
      { source: `${json}:0`, targets: [{ __address__: 'a:1' }], labels: { env: 'prod', __meta_filepath: json } },
      { source: `${json}:1`, targets: [{ __address__: 'b:2' }, { __address__: 'c:3' }], labels: { __meta_filepath: json } },
      { source: `${join(dir, 'more.yaml')}:0`, targets: [{ __address__: 'd:4' }], labels: { __meta_filepath: join(dir, 'more.yaml') } },
      { source: `${join(dir, 'sd', 'x.json')}:0`, targets: [{ __address__: 'e:5' }], labels: { __meta_filepath: join(dir, 'sd', 'x.json') } },
    ]);
  } finally {
    await d.stop();
  }
});

test('watches files: edits, new files, deleted files and fewer groups', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'a.json');
  await writeFile(a, JSON.stringify([{ targets: ['a:1'] }, { targets: ['a:2'] }]));
  const d = start({ files: ['*.json'], refresh_interval: '1h' }, dir);
  try {
    await d.until(() => d.addresses().join() === 'a:1,a:2', 'initial targets');
    await writeFile(a, JSON.stringify([{ targets: ['a:3'] }, { targets: ['a:2'] }]));
    await d.until(() => d.addresses().join() === 'a:2,a:3', 'edit picked up');
    await writeFile(join(dir, 'b.json'), JSON.stringify([{ targets: ['b:1'] }]));
    await d.until(() => d.addresses().join() === 'a:2,a:3,b:1', 'new file picked up');
    await writeFile(a, JSON.stringify([{ targets: ['a:3'] }]));
    await d.until(() => d.addresses().join() === 'a:3,b:1', 'vanished group cleared');
    assert.ok(d.emits.some((e) => e.some((g) => g.source === `${a}:1` && g.targets.length === 0)));
    await unlink(a);
    await d.until(() => d.addresses().join() === 'b:1', 'deleted file cleared');
    assert.deepEqual(d.fails, []);
  } finally {
    await d.stop();
  }
});

test('the periodic refresh picks up changes without watches', async (t) => {
  const dir = await tempDir(t);
  const sub = join(dir, 'later');
  const d = start({ files: ['later/*.yml'], refresh_interval: '100ms' }, dir);
  try {
    await d.until(() => d.emits.length === 1, 'initial empty set');
    assert.deepEqual(d.emits[0], []);
    await mkdir(sub);
    await writeFile(join(sub, 't.yml'), '- targets: [x:1]\n');
    await d.until(() => d.addresses().join() === 'x:1', 'file in a folder created later');
  } finally {
    await d.stop();
  }
});

test('a bad file is reported and keeps its last good groups', async (t) => {
  const dir = await tempDir(t);
  const f = join(dir, 't.yml');
  await writeFile(f, '- targets: [a:1]\n');
  await writeFile(join(dir, 'ok.yml'), '- targets: [o:1]\n');
  const d = start({ files: ['t.yml', 'ok.yml'], refresh_interval: '1h' }, dir);
  try {
    await d.until(() => d.addresses().join() === 'a:1,o:1', 'initial targets');
    await writeFile(f, '- targets: [a:1]\n  labels: {"not valid": x}\n');
    await d.until(() => d.fails.length > 0, 'error report');
    assert.match(d.fails[0]!.message, new RegExp(`${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*"not valid" is not a valid label name`));
    assert.deepEqual(d.addresses(), ['a:1', 'o:1']);
    await writeFile(f, '- targets: [a:2]\n');
    await d.until(() => d.addresses().join() === 'a:2,o:1', 'fixed file picked up');
    await writeFile(f, '[[[');
    await d.until(() => d.fails.some((e) => /invalid YAML/.test(e.message)), 'YAML error report');
    assert.deepEqual(d.addresses(), ['a:2', 'o:1']);
  } finally {
    await d.stop();
  }
});

test('a missing file is reported with its path on each refresh; the initial set is still emitted', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'here.json'), '[{"targets": ["h:1"]}]');
  const d = start({ files: ['here.json', 'missing.json', 'nomatch/*.json'], refresh_interval: '50ms' }, dir);
  try {
    await d.until(() => d.emits.length > 0 && d.fails.length > 0, 'emit and report');
    assert.deepEqual(d.addresses(), ['h:1']);
    assert.equal(d.emits.length, 1);
    assert.match(d.fails[0]!.message, /missing\.json: no such file/);
    assert.ok(d.fails[0]!.message.includes(join(dir, 'missing.json')));
    assert.ok(d.fails.every((e) => /missing\.json/.test(e.message)), 'a pattern without matches is not an error');
    await d.until(() => d.fails.length >= 2, 'reported again while it stays missing');
    await writeFile(join(dir, 'missing.json'), '[{"targets": ["m:1"]}]');
    await d.until(() => d.addresses().join() === 'h:1,m:1', 'file appears');
  } finally {
    await d.stop();
  }
});

test('a dangling symlink is a read error, as in Prometheus', async (t) => {
  const dir = await tempDir(t);
  await symlink(join(dir, 'nowhere.json'), join(dir, 'link.json'));
  const d = start({ files: ['link.json'] }, dir);
  try {
    await d.until(() => d.emits.length > 0 && d.fails.length > 0, 'emit and report');
    assert.match(d.fails[0]!.message, /error reading .*link\.json: no such file/);
  } finally {
    await d.stop();
  }
});
