/**
 * The elements of a top-level JSON array read from a file in pieces, parsed a batch at a time: a file_sd file of
 * 100,000 pods is ≈200 MB, and reading it whole meant that file as a Buffer and then as a string, both alive
 * while JSON.parse built the groups (more than the groups themselves). Here only a few MB of the file are held
 * at a time.
 *
 * Batches are cut without scanning every byte (a JavaScript loop over 200 MB cost a second): a cut is tried where
 * the text looks like the end of one object element and the start of the next (`}`, a comma, `{`, spaces
 * allowed), and JSON.parse of `[` + batch + `]` is the check that it was one. A cut inside a string leaves that
 * string unterminated and a cut inside an element leaves a bracket open, so a wrong cut never parses. A few
 * failed cuts in a row, or anything but a well-formed array (another value, a byte-order mark, bad JSON), return
 * false: the caller then reads the file whole as before, so every error keeps its message.
 */
import { isAscii } from 'node:buffer';
import type { FileHandle } from 'node:fs/promises';

const READ_CHUNK = 1 << 20;
/** Elements are handed to JSON.parse in batches of at least this many bytes. */
const BATCH = 4 << 20;
/** Cuts tried in one batch before giving up on pieces (label values may contain `},{`). */
const MAX_BAD_CUTS = 4;
/** Held bytes without a cut beyond which pieces are given up (one huge element, or elements that are not objects). */
const MAX_HELD = 64 << 20;

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const OPEN_SQUARE = 0x5b;
const OPEN_CURLY = 0x7b;
const CLOSE_CURLY = 0x7d;

function isSpace(b: number | undefined): boolean {
  return b === SPACE || b === LF || b === CR || b === TAB;
}

/** The offset of the next `}` ws* `,` ws* `{` at or after `from` (the offset of its comma), -1 if none. */
function nextCut(buf: Buffer, from: number): number {
  for (let i = buf.indexOf(CLOSE_CURLY, from); i >= 0; i = buf.indexOf(CLOSE_CURLY, i + 1)) {
    let j = i + 1;
    while (isSpace(buf[j])) j++;
    if (buf[j] !== COMMA) continue;
    const comma = j++;
    while (isSpace(buf[j])) j++;
    if (buf[j] === OPEN_CURLY) return comma;
  }
  return -1;
}

/**
 * The text of bytes that are UTF-8. ASCII bytes, nearly all of a file_sd file, are the same text read as Latin-1,
 * which is a copy, where UTF-8 decoding goes byte by byte: 0.06 s instead of 0.6 s for a 205 MB file.
 */
function text(buf: Buffer, from: number, to: number): string {
  const bytes = buf.subarray(from, to);
  return isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
}

/** JSON.parse of `[` + bytes + `]`, or null when that is not JSON. */
function parseBatch(buf: Buffer, from: number, to: number, close: string): unknown[] | null {
  try {
    return JSON.parse('[' + text(buf, from, to) + close) as unknown[];
  } catch {
    return null;
  }
}

/**
 * Calls `each` with every element of the JSON array in `file`, in order, with its index. False when the file is
 * not a well-formed array or could not be cut (`each` may then have seen some elements: the caller starts over).
 */
export async function forEachJsonArrayElement(file: FileHandle, each: (value: unknown, index: number) => void): Promise<boolean> {
  // One buffer, read into and parsed in place: bytes read and not parsed yet are buf[0, held), from an element's start
  // (or the array's end). What follows a batch's cut moves to the front. (A buffer per read and one joined per batch
  // copied the whole file once more, and each is a fresh mapping when a server's mmap threshold is low: bin/kvass.)
  // Sized for the file when it is small (most file_sd files are): a batch's worth of memory is for large ones.
  const { size } = await file.stat();
  let buf = Buffer.allocUnsafe(Math.min(size + 1, BATCH + 2 * READ_CHUNK));
  let read = 0;
  let held = 0;
  let started = false;
  let index = 0;
  let eof = false;
  while (!eof) {
    // Room for a full read, unless less is left of the file (as its size was when opened; one that grew finds no room).
    const room = buf.length - held;
    if (room === 0 || (room < READ_CHUNK && room <= size - read)) {
      const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, held + READ_CHUNK));
      buf.copy(bigger, 0, 0, held);
      buf = bigger;
    }
    const { bytesRead } = await file.read(buf, held, Math.min(READ_CHUNK, buf.length - held), null);
    read += bytesRead;
    eof = bytesRead === 0;
    if (!eof) {
      if (!started) {
        let i = 0; // nothing is held before the opening bracket
        while (i < bytesRead && isSpace(buf[i])) i++;
        if (i === bytesRead) continue;
        if (buf[i] !== OPEN_SQUARE) return false;
        started = true;
        buf.copyWithin(0, i + 1, bytesRead);
        held = bytesRead - i - 1;
      } else held += bytesRead;
      if (held < BATCH + READ_CHUNK) continue;
    } else if (!started) {
      return false; // an empty file, or only spaces
    }
    let from = 0;
    if (eof) {
      // The rest holds the last elements, the closing bracket and nothing else: JSON.parse checks all of it.
      const values = parseBatch(buf, 0, held, '');
      if (values === null) return false;
      for (const v of values) each(v, index++);
      return true;
    }
    let bad = 0;
    const batch = buf.subarray(0, held);
    for (let cut = nextCut(batch, BATCH); cut >= 0; cut = nextCut(batch, cut + 1)) {
      const values = parseBatch(buf, from, cut, ']');
      if (values === null) {
        if (++bad >= MAX_BAD_CUTS) return false;
        continue;
      }
      for (const v of values) each(v, index++);
      from = cut + 1;
      break;
    }
    if (from === 0 && held > MAX_HELD) return false;
    // Keep what follows the cut (or everything, when no cut was found yet).
    buf.copyWithin(0, from, held);
    held -= from;
  }
  return false;
}
