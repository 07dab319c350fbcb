/**
 * Newline framing for the lean benchmark's readers.
 * @module
 */

/** Splits decoded text into lines across chunk boundaries (a trailing `\r` is dropped). */
export class LineSplitter {
  #partial = "";

  /** The complete lines in `text` (with whatever was left over from the previous chunk). */
  push(text: string): string[] {
    const lines = (this.#partial + text).split("\n");
    this.#partial = lines.pop()!;
    return lines.map((line) => line.endsWith("\r") ? line.slice(0, -1) : line);
  }
}
