/**
 * Line framing of byte streams (child stdout and stderr, client stdin).
 */
import assert from "node:assert/strict";
import { LineDecoder, readLines } from "../../../src/io/lines.ts";

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
  await readLines(stream, (l) => lines.push(l), (error) => {
    throw error;
  }).done;
  assert.deepEqual(lines, ["one", "two", "three"]);
});

Deno.test("readLines: a line handler that throws loses that line only; only a failed read ends it", async () => {
  const lines: string[] = [];
  const failures: string[] = [];
  const stream = ReadableStream.from([bytes("one\nboom\ntwo\n"), bytes("boom\nthree\n")]);
  const reader = readLines(stream, (line) => {
    if (line === "boom") throw new TypeError("handler bug");
    lines.push(line);
  }, (error, line) => failures.push(`${line}: ${(error as Error).message}`));
  await reader.done;
  assert.deepEqual(lines, ["one", "two", "three"]);
  assert.deepEqual(failures, ["boom: handler bug", "boom: handler bug"]);

  let pulls = 0;
  const broken = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulls++ === 0) controller.enqueue(bytes("a\nb"));
      else controller.error(new Error("pipe broke"));
    },
  });
  const seen: string[] = [];
  await readLines(broken, (line) => seen.push(line), () => {}).done;
  assert.deepEqual(seen, ["a", "b"], "what was read before the failure is delivered");
});

Deno.test("readLines over byte streams: a real pipe and a one-byte-per-read stream, lines across reads, multi-byte characters", async () => {
  // A real pipe, as a child's stdout is.
  const long = "x".repeat(200_000);
  const text = `{"a":"é€😀"}\n${long}\nlast`;
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const text = '{"a":"é€😀"}\\n' + "x".repeat(${long.length}) + "\\nlast";
      const bytes = new TextEncoder().encode(text);
      for (let i = 0; i < bytes.length;) i += await Deno.stdout.write(bytes.subarray(i, i + 50_000));`,
    ],
    stdout: "piped",
  }).spawn();
  const lines: string[] = [];
  await readLines(child.stdout, (l) => lines.push(l), (error) => {
    throw error;
  }).done;
  await child.status;
  assert.deepEqual(lines, ['{"a":"é€😀"}', long, "last"]);

  // The same through a hand-made byte stream that delivers one byte per read.
  const all = bytes(text);
  let offset = 0;
  const trickle = new ReadableStream({
    type: "bytes",
    // So that a default reader gets a view to fill as well.
    autoAllocateChunkSize: 16,
    pull(controller) {
      const request = controller.byobRequest!;
      if (offset === all.length) {
        controller.close();
        request.respond(0);
        return;
      }
      request.view!.set(all.subarray(offset, offset + 1) as unknown as ArrayLike<number>);
      offset++;
      request.respond(1);
    },
  });
  const trickled: string[] = [];
  await readLines(trickle, (l) => trickled.push(l), (error) => {
    throw error;
  }).done;
  assert.deepEqual(trickled, lines);
});
