/** Structured logging (pino): JSON lines on stderr, so command output on stdout stays clean. */
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string = process.env.KVASS_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination(2));
}

/** A logger that drops everything: for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
