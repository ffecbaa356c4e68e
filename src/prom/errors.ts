/** Where a value sits in the YAML document: keys and indexes from the root. */
export type YamlPath = ReadonlyArray<string | number>;

/**
 * A configuration error tied to a place in the document. The loader turns the path into
 * `file:line:col` and adds the job name, so every message says what is wrong and where.
 */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly path: YamlPath,
    /** Point at the key of the last path element (unknown or duplicate fields) rather than its value. */
    readonly atKey = false,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** A ConfigError after the loader resolved its place. */
export class LocatedConfigError extends Error {
  constructor(
    readonly reason: string,
    readonly file: string,
    readonly line: number,
    readonly col: number,
    readonly job?: string,
  ) {
    super(`${file}:${line}:${col}: ${job !== undefined ? `job ${JSON.stringify(job)}: ` : ''}${reason}`);
    this.name = 'LocatedConfigError';
  }
}
