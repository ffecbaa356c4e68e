/**
 * Differential corpus: `kvass targets --output=json` must print what the real Prometheus 2.42 reports in
 * /api/v1/targets?state=any for the same configuration (test/corpus/<case>/golden.json, written by
 * scripts/gen-golden.mjs). One subtest per case.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalise, type NormalisedTargets } from './golden-normalise.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

const ROOT = repoRoot();
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const CORPUS = join(ROOT, 'test', 'corpus');

function cases(): string[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(CORPUS, e.name, 'prometheus.yml')))
    .map((e) => e.name)
    .sort();
}

function runTargets(configFile: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, 'targets', `--config.file=${configFile}`, '--output=json'],
      { cwd: ROOT, timeout: 30_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr: err && err.killed ? `${stderr}\n(killed: ${err.signal ?? 'timeout'})` : stderr });
      },
    );
  });
}

test('golden corpus: kvass targets matches Prometheus 2.42', { concurrency: 4 }, async (t) => {
  const names = cases();
  assert.ok(names.length >= 18, `expected the corpus under ${CORPUS}, found ${names.length} case(s)`);
  await Promise.all(
    names.map((name) =>
      t.test(name, async () => {
        const caseDir = join(CORPUS, name);
        const goldenFile = join(caseDir, 'golden.json');
        assert.ok(existsSync(goldenFile), `${goldenFile} is missing: run \`make golden\``);
        const golden = JSON.parse(readFileSync(goldenFile, 'utf8')) as NormalisedTargets;
        assert.ok(existsSync(MAIN), `${MAIN} is missing: build first (npx tsc -p tsconfig.json)`);

        const r = await runTargets(join(caseDir, 'prometheus.yml'));
        assert.equal(r.code, 0, `kvass targets exited with ${r.code}:\n${r.stderr}`);
        let data: unknown;
        try {
          data = JSON.parse(r.stdout);
        } catch (e) {
          assert.fail(`stdout is not JSON (${(e as Error).message}):\n${r.stdout.slice(0, 2000)}\nstderr:\n${r.stderr}`);
        }
        assert.deepEqual(normalise(data, caseDir), golden);
      }),
    ),
  );
});
