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
  const reader = stream.getReader();
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
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        break; // Cancelled, or the pipe broke: what was read is all there is.
      }
      if (chunk.done) break;
      decoder.push(chunk.value, handle);
    }
    decoder.end(handle);
  })();
  return { done, cancel: () => void reader.cancel().catch(() => {}) };
}
