/** The stop-signal wait every long-running kvass command shares. */

/** Resolves with the signal that asked the process to stop (SIGINT, as Ctrl-C, or SIGTERM). */
export function waitForStop(): Promise<string> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
}
