/**
 * Newline framing of a byte stream into text lines: a child's stdout and stderr in server mode,
 * stdin in client mode.
 * @module
 */

/**
 * Splits UTF-8 bytes into lines without the `\n` (or `\r\n`) terminator.
 *
 * Only the newly decoded text is searched for a newline and partial lines are kept as parts
 * joined once, so a large message arriving in many chunks costs linear time.
 */
export class LineDecoder {
  #decoder = new TextDecoder();
  #parts: string[] = [];

  /** Decodes `chunk` and calls `onLine` for every line it completes. */
  push(chunk: Uint8Array, onLine: (line: string) => void): void {
    const text = this.#decoder.decode(chunk, { stream: true });
    let start = 0;
    let newline = text.indexOf("\n");
    while (newline !== -1) {
      let line = text.slice(start, newline);
      if (this.#parts.length > 0) {
        this.#parts.push(line);
        line = this.#parts.join("");
        this.#parts.length = 0;
      }
      onLine(line.endsWith("\r") ? line.slice(0, -1) : line);
      start = newline + 1;
      newline = text.indexOf("\n", start);
    }
    if (start < text.length) this.#parts.push(start === 0 ? text : text.slice(start));
  }

  /** Flushes a last line that had no terminator. */
  end(onLine: (line: string) => void): void {
    const rest = this.#parts.join("") + this.#decoder.decode();
    this.#parts.length = 0;
    if (rest) onLine(rest);
  }
}

/** A stream being read line by line. */
export interface LineReader {
  /** Settles once the stream has ended (or was cancelled) and every line was delivered. */
  readonly done: Promise<void>;
  /** Stops reading and releases the stream. */
  cancel(): void;
}

/** Size of the buffer a byte stream is read into, reused from one read to the next. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Reads the chunks of a stream; `undefined` once it has ended. */
type ChunkReader = {
  read(): Promise<Uint8Array | undefined>;
  cancel(): Promise<void>;
};

/**
 * A reader of `stream`'s chunks. A byte stream (a child's pipe under Deno) is read into one
 * buffer that is handed back and forth: its default reader would allocate a fresh 64 KiB
 * buffer for every read, which is most of the garbage a relay makes per message. Other
 * streams are read as they come.
 */
function chunkReader(stream: ReadableStream<Uint8Array>): ChunkReader {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = stream.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream.
  }
  if (!byob) {
    const reader = stream.getReader();
    return {
      read: async () => {
        const { done, value } = await reader.read();
        return done ? undefined : value;
      },
      cancel: () => reader.cancel(),
    };
  }
  const reader = byob;
  let buffer: ArrayBuffer = new ArrayBuffer(READ_BUFFER_BYTES);
  return {
    read: async () => {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || !value) return undefined;
      // The buffer came back (transferred) with the bytes read; the next read reuses it, so
      // each chunk must be consumed before the next read, as the line decoder does.
      buffer = value.buffer as ArrayBuffer;
      return value;
    },
    cancel: () => reader.cancel(),
  };
}

/**
 * Reads `stream` to its end, calling `onLine` for each line.
 *
 * Only a failed read ends the reader: an exception thrown by `onLine` goes to `onLineError`
 * with that one line dropped, and reading goes on.
 */
export function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
  onLineError: (error: unknown, line: string) => void,
): LineReader {
  const reader = chunkReader(stream);
  const decoder = new LineDecoder();
  const handle = (line: string) => {
    try {
      onLine(line);
    } catch (error) {
      onLineError(error, line);
    }
  };
  const done = (async () => {
    while (true) {
      let chunk: Uint8Array | undefined;
      try {
        chunk = await reader.read();
      } catch {
        break; // Cancelled, or the pipe broke: what was read is all there is.
      }
      if (chunk === undefined) break;
      decoder.push(chunk, handle);
    }
    decoder.end(handle);
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}
