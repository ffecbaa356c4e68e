import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/kvass.js';
import { tempDirSync } from '../helpers/tmp.js';

/**
 * Runs bin/kvass with a stand-in `node` first on PATH that prints the arguments and environment the launcher gives
 * it, so what the launcher passes to node is seen exactly as it is passed.
 */
function launch(args: string[], extraEnv: NodeJS.ProcessEnv = {}): { nodeArgs: string[]; arenaMax: string; mmapThreshold: string } {
  const dir = tempDirSync('kvass-launcher-');
  try {
    const fakeNode = join(dir, 'node');
    writeFileSync(fakeNode, '#!/bin/sh\necho "MALLOC_ARENA_MAX=$MALLOC_ARENA_MAX"\necho "MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_-unset}"\nfor a in "$@"; do echo "ARG=$a"; done\n');
    chmodSync(fakeNode, 0o755);
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
    delete env.MALLOC_ARENA_MAX;
    delete env.MALLOC_MMAP_THRESHOLD_;
    delete env.NODE_OPTIONS;
    Object.assign(env, extraEnv);
    const out = execFileSync(join(repoRoot(), 'bin', 'kvass'), args, { env, encoding: 'utf8' });
    const lines = out.trim().split('\n');
    return {
      nodeArgs: lines.filter((l) => l.startsWith('ARG=')).map((l) => l.slice(4)),
      arenaMax: lines.find((l) => l.startsWith('MALLOC_ARENA_MAX='))!.slice('MALLOC_ARENA_MAX='.length),
      mmapThreshold: lines.find((l) => l.startsWith('MALLOC_MMAP_THRESHOLD_='))!.slice('MALLOC_MMAP_THRESHOLD_='.length),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the launcher gives the coordinator commands (up, coordinator) a 128 MB semi-space and passes their flags on', () => {
  for (const cmd of ['up', 'coordinator']) {
    const { nodeArgs, arenaMax } = launch([cmd, '--web.listen-address=127.0.0.1:0']);
    assert.equal(nodeArgs[0], '--max-semi-space-size=128', cmd);
    assert.match(nodeArgs[1]!, /dist\/src\/cli\/main\.js$/, cmd);
    assert.deepEqual(nodeArgs.slice(2), [cmd, '--web.listen-address=127.0.0.1:0'], cmd);
    assert.equal(arenaMax, '2', cmd);
  }
});

test('the launcher gives other commands (sidecar, query, none) no node flags', () => {
  for (const args of [['sidecar', '--config.file=x'], ['query'], []]) {
    const { nodeArgs } = launch(args);
    assert.match(nodeArgs[0]!, /dist\/src\/cli\/main\.js$/, args.join(' '));
    assert.deepEqual(nodeArgs.slice(1), args);
  }
});

test('the launcher keeps a semi-space size given in NODE_OPTIONS (its own flag would override it)', () => {
  const { nodeArgs } = launch(['coordinator'], { NODE_OPTIONS: '--max-semi-space-size=16' });
  assert.match(nodeArgs[0]!, /dist\/src\/cli\/main\.js$/);
  assert.deepEqual(nodeArgs.slice(1), ['coordinator']);
  assert.equal(launch(['coordinator'], { NODE_OPTIONS: '--max-old-space-size=2048' }).nodeArgs[0], '--max-semi-space-size=128', 'other NODE_OPTIONS leave it');
});

test('the launcher fixes the mmap threshold for the commands that keep running, not for the one-shot targets', () => {
  for (const cmd of ['up', 'coordinator', 'sidecar', 'query', 'receive', 'fake-targets']) assert.equal(launch([cmd]).mmapThreshold, '131072', cmd);
  const targets = launch(['targets', '--config.file=x']);
  assert.equal(targets.mmapThreshold, 'unset');
  assert.equal(targets.arenaMax, '2');
  assert.deepEqual(targets.nodeArgs.slice(1), ['targets', '--config.file=x']);
  assert.equal(launch(['sidecar'], { MALLOC_MMAP_THRESHOLD_: '65536' }).mmapThreshold, '65536', 'a value given is kept');
});
