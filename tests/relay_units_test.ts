/**
 * The relay's small parts on their own: line framing and the restart backoff.
 */
import assert from "node:assert/strict";
import { Backoff } from "../src/relay/backoff.ts";
import { LineDecoder, readLines } from "../src/relay/line_decoder.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

Deno.test("LineDecoder: lines split across chunks, several per chunk, CRLF, multi-byte characters", () => {
  const lines: string[] = [];
  const decoder = new LineDecoder();
  const all = bytes('{"a":1}\r\n{"b":"é€😀"}\n\nlast');
  // Feed one byte at a time: every boundary, including inside UTF-8 sequences.
  for (let i = 0; i < all.length; i++) decoder.push(all.subarray(i, i + 1), (l) => lines.push(l));
  assert.deepEqual(lines, ['{"a":1}', '{"b":"é€😀"}', ""]);
  decoder.end((l) => lines.push(l));
  assert.deepEqual(lines.at(-1), "last");

  const whole: string[] = [];
  const other = new LineDecoder();
  other.push(bytes("x\ny\nz"), (l) => whole.push(l));
  other.push(bytes("z\n"), (l) => whole.push(l));
  other.end((l) => whole.push(l));
  assert.deepEqual(whole, ["x", "y", "zz"]);
});

Deno.test("readLines reads a stream to its end, unterminated last line included", async () => {
  const lines: string[] = [];
  const stream = ReadableStream.from([bytes("one\ntw"), bytes("o\nthree")]);
  await readLines(stream, (l) => lines.push(l)).done;
  assert.deepEqual(lines, ["one", "two", "three"]);
});

Deno.test("Backoff doubles up to the cap and starts over after a stable run", () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, stableMs: 5_000 });
  assert.deepEqual([0, 0, 0, 0, 0, 0].map(() => backoff.next(0)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.next(4_999), 1000);
  assert.equal(backoff.next(5_000), 100);
  assert.equal(backoff.next(10), 200);
});
