/**
 * `file_sd_configs` (Prometheus 2.42 discovery/file): target groups from JSON and YAML files, found by path or by a
 * pattern in the last path element, re-read on changes in the files' folders and every `refresh_interval`.
 */
import { watch, type FSWatcher } from 'node:fs';
import { lstat, open, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../prom/errors.js';
import { readDuration, readMap, readStringList } from '../prom/decode.js';
import { errorMessage, GroupTracker, jsonGroup, parseTargetGroups, RefreshLoop, type RawGroup } from './refresh.js';
import { forEachJsonArrayElement } from './json-array.js';
import type { Discoverer, DiscoveryContext, SdMechanism, TargetGroup } from './types.js';

export { parseTargetGroups, type RawGroup } from './refresh.js';

export interface FileSdConfig {
  /** Paths or patterns, absolute (relative ones joined to the config folder). */
  files: string[];
  refreshInterval: number; // ms
}

// Prometheus's check on `files` entries: a `*` only in the last element, and a JSON or YAML extension.
const FILE_NAME_RE = /^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$/;
const WATCH_DEBOUNCE_MS = 50;
export const FILEPATH_LABEL = '__meta_filepath';

// ---- Go's filepath.Match and filepath.Glob (Unix) ----

type Token = { t: 'star' } | { t: 'any' } | { t: 'char'; c: number } | { t: 'class'; negated: boolean; ranges: Array<[number, number]> };

export class BadPatternError extends Error {
  readonly pattern: string;
  constructor(pattern: string) {
    super('syntax error in pattern');
    this.pattern = pattern;
  }
}

/** Compiles a filepath.Match pattern; throws BadPatternError where Go returns ErrBadPattern. */
function compile(pattern: string): Token[] {
  const cs = Array.from(pattern, (c) => c.codePointAt(0)!);
  const bad = () => new BadPatternError(pattern);
  const out: Token[] = [];
  let i = 0;
  const classChar = (): number => {
    if (i >= cs.length || cs[i] === 0x2d /* - */ || cs[i] === 0x5d /* ] */) throw bad();
    if (cs[i] === 0x5c /* \ */ && ++i >= cs.length) throw bad();
    const c = cs[i++]!;
    if (i >= cs.length) throw bad(); // the class is never closed
    return c;
  };
  while (i < cs.length) {
    const c = cs[i++]!;
    if (c === 0x2a /* * */) {
      if (out.at(-1)?.t !== 'star') out.push({ t: 'star' });
    } else if (c === 0x3f /* ? */) {
      out.push({ t: 'any' });
    } else if (c === 0x5c /* \ */) {
      if (i >= cs.length) throw bad();
      out.push({ t: 'char', c: cs[i++]! });
    } else if (c === 0x5b /* [ */) {
      const negated = cs[i] === 0x5e; /* ^ */
      if (negated) i++;
      const ranges: Array<[number, number]> = [];
      for (;;) {
        if (cs[i] === 0x5d && ranges.length > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (cs[i] === 0x2d) {
          i++;
          hi = classChar();
        }
        ranges.push([lo, hi]);
      }
      out.push({ t: 'class', negated, ranges });
    } else {
      out.push({ t: 'char', c });
    }
  }
  return out;
}

function matchTokens(toks: Token[], name: number[], ti: number, ni: number): boolean {
  for (; ti < toks.length; ti++, ni++) {
    const tok = toks[ti]!;
    if (tok.t === 'star') {
      for (let k = ni; k <= name.length && (k === ni || name[k - 1] !== 0x2f); k++) {
        if (matchTokens(toks, name, ti + 1, k)) return true;
      }
      return false;
    }
    const c = name[ni];
    if (c === undefined) return false;
    if (tok.t === 'any' && c === 0x2f) return false;
    if (tok.t === 'char' && tok.c !== c) return false;
    if (tok.t === 'class' && tok.ranges.some(([lo, hi]) => lo <= c && c <= hi) === tok.negated) return false;
  }
  return ni === name.length;
}

/** Go's filepath.Match: `*`, `?`, `[...]` (with `^`, ranges) and `\` escapes; throws on a malformed pattern. */
export function globMatch(pattern: string, name: string): boolean {
  return matchTokens(compile(pattern), Array.from(name, (c) => c.codePointAt(0)!), 0, 0);
}

export function hasMeta(path: string): boolean {
  return /[*?[\\]/.test(path);
}

async function globIn(dir: string, pattern: string): Promise<string[]> {
  try {
    if (!(await stat(dir)).isDirectory()) return [];
    const names = (await readdir(dir)).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    return names.filter((n) => globMatch(pattern, n)).map((n) => join(dir, n));
  } catch (e) {
    if (e instanceof BadPatternError) throw e;
    return []; // I/O errors are ignored, as Go's Glob does
  }
}

/** Go's filepath.Glob: matching paths in name order; a path without meta characters if it exists. */
export async function filepathGlob(pattern: string): Promise<string[]> {
  compile(pattern);
  if (!hasMeta(pattern)) {
    try {
      await lstat(pattern);
      return [pattern];
    } catch {
      return [];
    }
  }
  const cut = pattern.lastIndexOf('/') + 1;
  const file = pattern.slice(cut);
  let dir = pattern.slice(0, cut);
  dir = dir === '' ? '.' : dir === '/' ? dir : dir.slice(0, -1);
  if (!hasMeta(dir)) return globIn(dir, file);
  if (dir === pattern) throw new BadPatternError(pattern);
  const out: string[] = [];
  for (const d of await filepathGlob(dir)) out.push(...(await globIn(d, file)));
  return out;
}

// ---- the discoverer ----

function readErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory, not a file';
  if (code === 'EACCES') return 'permission denied';
  return errorMessage(e);
}

async function readGroups(file: string): Promise<TargetGroup[]> {
  const format = file.toLowerCase().endsWith('.json') ? 'json' : 'yaml';
  const raw = (format === 'json' ? await readJsonInPieces(file) : null) ?? parseTargetGroups(await readFile(file, 'utf8'), format);
  // The parsed groups are this call's own: the file's label is added in place rather than by copying each
  // group's labels (as Prometheus does, it replaces a `__meta_filepath` written in the file).
  return raw.map((g, i) => {
    g.labels[FILEPATH_LABEL] = file;
    return { source: `${file}:${i}`, targets: g.targets, labels: g.labels };
  });
}

/**
 * A JSON file's groups without holding the whole text (see json-array.ts); null when the file is anything but
 * a well-formed list of valid groups, so that reading it whole reports the same error as always.
 */
async function readJsonInPieces(file: string): Promise<RawGroup[] | null> {
  const fh = await open(file, 'r');
  try {
    const groups: RawGroup[] = [];
    const ok = await forEachJsonArrayElement(fh, (g, i) => groups.push(jsonGroup(g, i)));
    return ok ? groups : null;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== undefined) throw e; // I/O: reported as such
    return null; // bad JSON or a bad group: the whole-text path says which, as it always has
  } finally {
    await fh.close();
  }
}

export class FileDiscoverer implements Discoverer {
  constructor(readonly cfg: FileSdConfig) {}

  async run(ctx: DiscoveryContext): Promise<void> {
    const tracker = new GroupTracker();
    const loop = new RefreshLoop(ctx.signal, this.cfg.refreshInterval);
    const watchers = new Map<string, { watcher: FSWatcher; ino: number }>();
    const unwatchable = new Set<string>();
    let debounce: NodeJS.Timeout | undefined;
    const onChange = () => {
      debounce ??= setTimeout(() => {
        debounce = undefined;
        loop.kick();
      }, WATCH_DEBOUNCE_MS);
    };
    let lastGood = new Map<string, TargetGroup[]>();

    const refresh = async () => {
      const errors: Error[] = [];
      const files = new Set<string>();
      const missing: string[] = [];
      for (const p of this.cfg.files) {
        try {
          const matched = await filepathGlob(p);
          for (const f of matched) files.add(f);
          if (matched.length === 0 && !hasMeta(p)) missing.push(p);
        } catch (e) {
          errors.push(new Error(`file_sd: cannot expand ${p}: ${errorMessage(e)}`));
        }
      }
      const next = new Map<string, TargetGroup[]>();
      for (const f of files) {
        try {
          next.set(f, await readGroups(f));
        } catch (e) {
          const prev = lastGood.get(f);
          if (prev) next.set(f, prev);
          errors.push(new Error(`file_sd: error reading ${f}: ${readErrorText(e)}${prev ? '; keeping its previous targets' : ''}`));
        }
      }
      if (ctx.signal.aborted) return;
      lastGood = next;
      // Prometheus ignores a configured file that does not exist; kvass says so.
      for (const p of missing) errors.push(new Error(`file_sd: ${p}: no such file`));
      tracker.report(ctx, [...next.values()].flat(), errors);
      await this.watchDirs(ctx, watchers, unwatchable, onChange);
    };

    try {
      await loop.run(refresh);
    } finally {
      if (debounce) clearTimeout(debounce);
      for (const { watcher } of watchers.values()) watcher.close();
    }
  }

  /** Watches the folder of every configured path; re-adds watches whose folder was removed or replaced. */
  private async watchDirs(ctx: DiscoveryContext, watchers: Map<string, { watcher: FSWatcher; ino: number }>, unwatchable: Set<string>, onChange: () => void): Promise<void> {
    const dirs = new Set(this.cfg.files.map((p) => p.slice(0, p.lastIndexOf('/')) || '/'));
    for (const dir of dirs) {
      let ino: number;
      try {
        ino = (await stat(dir)).ino;
      } catch (e) {
        watchers.get(dir)?.watcher.close();
        watchers.delete(dir);
        if (!unwatchable.has(dir)) ctx.logger.warn({ dir, err: readErrorText(e) }, 'file_sd: cannot watch folder; relying on the periodic refresh');
        unwatchable.add(dir);
        continue;
      }
      const known = watchers.get(dir);
      if (known && known.ino === ino) continue;
      known?.watcher.close();
      if (ctx.signal.aborted) return;
      try {
        const watcher = watch(dir, { persistent: true }, onChange);
        watcher.on('error', () => {
          watcher.close();
          if (watchers.get(dir)?.watcher === watcher) watchers.delete(dir);
        });
        watchers.set(dir, { watcher, ino });
        unwatchable.delete(dir);
      } catch (e) {
        watchers.delete(dir);
        if (!unwatchable.has(dir)) ctx.logger.warn({ dir, err: readErrorText(e) }, 'file_sd: cannot watch folder; relying on the periodic refresh');
        unwatchable.add(dir);
      }
    }
  }
}

export const fileSd: SdMechanism<FileSdConfig> = {
  key: 'file_sd_configs',
  read(raw, path, ctx) {
    const m = readMap(raw, path, 'file_sd_config', ['files', 'refresh_interval']);
    const refreshInterval = readDuration(m.refresh_interval, [...path, 'refresh_interval'], 'refresh_interval', 5 * 60_000);
    const files = readStringList(m.files, [...path, 'files'], 'files');
    if (files.length === 0) throw new ConfigError('file service discovery config must contain at least one path name', path);
    files.forEach((f, i) => {
      if (!FILE_NAME_RE.test(f)) throw new ConfigError(`path name ${JSON.stringify(f)} is not valid for file discovery`, [...path, 'files', i]);
    });
    // Prometheus's config.JoinDir: relative paths are joined to the config folder, absolute ones kept as written.
    return { files: files.map((f) => (isAbsolute(f) ? f : join(ctx.configDir, f))), refreshInterval };
  },
  create(cfg) {
    return new FileDiscoverer(cfg);
  },
};
