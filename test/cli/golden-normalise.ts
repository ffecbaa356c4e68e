/**
 * The comparable subset of `/api/v1/targets?state=any` data, in a deterministic order.
 * Keep identical to `normalise` in scripts/gen-golden.mjs, which wrote the golden files.
 */
import path from 'node:path';

export type LabelSet = Record<string, string>;

export interface NormalisedActiveTarget {
  discoveredLabels: LabelSet;
  labels: LabelSet;
  scrapePool: unknown;
  scrapeUrl: unknown;
  scrapeInterval: unknown;
  scrapeTimeout: unknown;
}

export interface NormalisedDroppedTarget {
  discoveredLabels: LabelSet;
}

export interface NormalisedTargets {
  activeTargets: NormalisedActiveTarget[];
  droppedTargets: NormalisedDroppedTarget[];
}

/** The case folder, as an absolute path, is replaced in label values (file SD's __meta_filepath) by this. */
export const CASE_DIR_TOKEN = '$CASE_DIR';

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sortLabels(labels: unknown, caseDir: string | undefined): LabelSet {
  const out: LabelSet = {};
  if (!isRecord(labels)) return out;
  for (const k of Object.keys(labels).sort()) {
    let v = String(labels[k]);
    if (caseDir && (v === caseDir || v.startsWith(caseDir + path.sep))) v = CASE_DIR_TOKEN + v.slice(caseDir.length);
    out[k] = v;
  }
  return out;
}

function byJson(a: unknown, b: unknown): number {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function list(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.map((e) => (isRecord(e) ? e : {})) : [];
}

export function normalise(data: unknown, caseDir?: string): NormalisedTargets {
  const d = isRecord(data) ? data : {};
  const activeTargets = list(d.activeTargets).map(
    (t): NormalisedActiveTarget => ({
      discoveredLabels: sortLabels(t.discoveredLabels, caseDir),
      labels: sortLabels(t.labels, caseDir),
      scrapePool: t.scrapePool,
      scrapeUrl: t.scrapeUrl,
      scrapeInterval: t.scrapeInterval,
      scrapeTimeout: t.scrapeTimeout,
    }),
  );
  const droppedTargets = list(d.droppedTargets).map(
    (t): NormalisedDroppedTarget => ({ discoveredLabels: sortLabels(t.discoveredLabels, caseDir) }),
  );
  activeTargets.sort(byJson);
  droppedTargets.sort(byJson);
  return { activeTargets, droppedTargets };
}
