/** Prometheus durations (common/model.Duration), held as whole milliseconds. */

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const UNIT_MS = [365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1];
// Go's time.Duration is an int64 of nanoseconds: larger durations overflow there, so they are refused here too.
const MAX_MS = 9_223_372_036_854;

/** Parses `1h30m`, `15s`, `0`; throws with Prometheus's wording on anything else. */
export function parseDuration(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new Error('empty duration string');
  const m = DURATION_RE.exec(text);
  if (!m) throw new Error(`not a valid duration string: ${JSON.stringify(text)}`);
  let ms = 0;
  for (let i = 0; i < UNIT_MS.length; i++) {
    const part = m[i + 1];
    if (part === undefined) continue;
    ms += Number(part) * UNIT_MS[i]!;
    if (!Number.isSafeInteger(ms) || ms > MAX_MS) throw new Error(`duration out of range: ${JSON.stringify(text)}`);
  }
  return ms;
}

/**
 * parseDuration, remembered: a job's interval and timeout repeat across its targets, so each text is parsed once
 * (the milliseconds, or why it is not a duration). Bounded: past 1,000 texts the memory starts over.
 */
const parsed = new Map<string, number | string>();

export function parseDurationMemo(text: string): number | string {
  let d = parsed.get(text);
  if (d === undefined) {
    try {
      d = parseDuration(text);
    } catch (e) {
      d = (e as Error).message;
    }
    if (parsed.size >= 1000) parsed.clear();
    parsed.set(text, d);
  }
  return d;
}

/** Formats as Prometheus does: `1m30s`, `2h`, `1w` (years and weeks only when exact), `0s` for zero. */
export function formatDuration(totalMs: number): string {
  if (totalMs === 0) return '0s';
  let ms = totalMs;
  let out = '';
  const units: Array<[string, number, boolean]> = [
    ['y', UNIT_MS[0]!, true], ['w', UNIT_MS[1]!, true], ['d', UNIT_MS[2]!, false], ['h', UNIT_MS[3]!, false],
    ['m', UNIT_MS[4]!, false], ['s', UNIT_MS[5]!, false], ['ms', 1, false],
  ];
  for (const [unit, mult, exact] of units) {
    if (exact && ms % mult !== 0) continue;
    const v = Math.floor(ms / mult);
    if (v > 0) {
      out += `${v}${unit}`;
      ms -= v * mult;
    }
  }
  return out;
}
