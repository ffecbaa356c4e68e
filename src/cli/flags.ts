/** Command-line flags in Prometheus's style: `--name=value` or `--name value`, `--bool` / `--no-bool`. */
import { parseDuration } from '../prom/duration.js';

export interface FlagSpec {
  name: string;
  help: string;
  default?: string;
  kind?: 'string' | 'bool' | 'duration' | 'int' | 'enum';
  choices?: readonly string[];
  required?: boolean;
  /** May be given several times (like Prometheus's repeated flags); read with flagList(). */
  repeatable?: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagValues = Map<string, string>;

export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[]): FlagValues {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: FlagValues = new Map();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf('=');
    let name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    let spec = byName.get(name);
    if (!spec && name.startsWith('no-') && byName.get(name.slice(3))?.kind === 'bool' && value === undefined) {
      name = name.slice(3);
      spec = byName.get(name);
      value = 'false';
    }
    if (!spec) throw new UsageError(`unknown flag --${name}`);
    if (value === undefined) {
      if (spec.kind === 'bool') value = 'true';
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new UsageError(`flag --${name} needs a value`);
    }
    out.set(name, spec.repeatable && out.has(name) ? `${out.get(name)}\n${value}` : value);
  }
  for (const s of specs) {
    const v = out.get(s.name) ?? s.default;
    if (v === undefined) {
      if (s.required) throw new UsageError(`required flag --${s.name} not provided`);
      continue;
    }
    out.set(s.name, v);
    const bad = (why: string) => new UsageError(`invalid value ${JSON.stringify(v)} for flag --${s.name}: ${why}`);
    if (s.repeatable) continue;
    if (s.kind === 'duration') {
      try { parseDuration(v); } catch (e) { throw bad((e as Error).message); }
    } else if (s.kind === 'int' && !/^-?\d+$/.test(v)) throw bad('expected an integer');
    else if (s.kind === 'bool' && v !== 'true' && v !== 'false') throw bad('expected true or false');
    else if (s.kind === 'enum' && !s.choices!.includes(v)) throw bad(`expected one of ${s.choices!.join(', ')}`);
  }
  return out;
}

export function usage(command: string, summary: string, specs: readonly FlagSpec[]): string {
  const lines = [`usage: kvass ${command} [<flags>]`, '', summary, '', 'Flags:'];
  const names = specs.map((s) => `  --${s.name}${s.kind === 'bool' ? '' : '=VALUE'}`);
  const width = Math.max(0, ...names.map((n) => n.length)) + 2; // the longest flag still leaves a gap
  specs.forEach((s, i) => {
    const dflt = s.default !== undefined ? ` (default: ${s.default})` : s.required ? ' (required)' : '';
    lines.push(names[i]!.padEnd(width) + `${s.help}${dflt}`);
  });
  return lines.join('\n');
}

/** The values of a repeatable flag, in the order given (its default when not given). */
export function flagList(f: FlagValues, name: string): string[] {
  const v = f.get(name);
  return v === undefined || v === '' ? [] : v.split('\n');
}
