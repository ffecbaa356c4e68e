/**
 * Text written in large pieces to a stream that may ask to wait (a slow client, a slow pipe): for answers made item
 * by item that are too large to be one string (V8 caps a string at about 512 MB). Pieces are kept in a list and
 * joined once per chunk: one long `+=` chain is a deep rope that costs more to flatten.
 */

/** What the text goes to: an HTTP response, a socket, process.stdout. */
export interface TextSink {
  write(chunk: string): boolean;
  on(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
  readonly destroyed?: boolean;
}

/** Waits until the sink can take more or is gone, leaving no listener behind (bodies drain thousands of times). */
export function drainOrClose(sink: Omit<TextSink, 'write'>): Promise<void> {
  if (sink.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}

/** About 1 MB of text per write. */
const CHUNK = 1 << 20;

export class ChunkedText {
  private pieces: string[] = [];
  private size = 0;

  constructor(private readonly sink: TextSink) {}

  add(s: string): void {
    this.pieces.push(s);
    this.size += s.length;
  }

  /** Whether a chunk's worth is held: time to flush. */
  get full(): boolean {
    return this.size >= CHUNK;
  }

  /** Writes what is held, waiting if the sink asks to; false when the sink is gone (a client that went away). */
  async flush(): Promise<boolean> {
    const s = this.pieces.join('');
    this.pieces = [];
    this.size = 0;
    if (s !== '' && !this.sink.write(s)) await drainOrClose(this.sink);
    return !this.sink.destroyed;
  }
}
