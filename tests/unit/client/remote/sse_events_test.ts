/**
 * The event-stream reader of client mode: line ends of every kind wherever chunks split them,
 * events as data lines joined, and the bound on one event.
 */
import assert from "node:assert/strict";
import { EventTooLargeError, readEventData } from "../../../../src/client/remote/sse_events.ts";

const encoder = new TextEncoder();

/** A body of `chunks`, each text encoded as it is. */
function body(chunks: readonly (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(
    chunks.map((chunk) => typeof chunk === "string" ? encoder.encode(chunk) : chunk),
  );
}

async function events(chunks: readonly (string | Uint8Array)[], max?: number): Promise<string[]> {
  const seen: string[] = [];
  await readEventData(body(chunks), (data) => seen.push(data), max);
  return seen;
}

Deno.test("events: data lines joined, comments and other fields skipped, every line end", async () => {
  const text = ": comment\nevent: message\ndata: a\ndata:b\r\n\r\nid: 7\rdata: c\r\rdata: d\n\n";
  const expected = ["a\nb", "c", "d"];
  assert.deepEqual(await events([text]), expected);
  // Split at every byte: a CR and its LF in two chunks are still one line end.
  const bytes = encoder.encode(text);
  assert.deepEqual(await events([...bytes].map((byte) => new Uint8Array([byte]))), expected);
});

Deno.test("events: a character split between chunks, and a last event without its blank line", async () => {
  const bytes = encoder.encode("data: é€\n\ndata: last");
  const split = bytes.indexOf(0xe2) + 1;
  assert.deepEqual(await events([bytes.subarray(0, split), bytes.subarray(split)]), [
    "é€",
    "last",
  ]);
});

Deno.test("events: an event or a line past the bound rejects and cancels the body", async (t) => {
  const cases = {
    "one long line": ["data: ", "x".repeat(60), "x".repeat(60)],
    "data lines that never end the event": Array(10).fill(`data: ${"x".repeat(20)}\n`),
    "a long comment": [`: ${"x".repeat(200)}`],
  };
  for (const [name, chunks] of Object.entries(cases)) {
    await t.step(name, async () => {
      let cancelled = false;
      const source = body(chunks).getReader();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await source.read();
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel() {
          cancelled = true;
        },
      });
      await assert.rejects(readEventData(stream, () => {}, 100), EventTooLargeError);
      assert.ok(cancelled);
    });
  }
  // Events under the bound pass, however many there are.
  const small = Array(50).fill(`data: ${"x".repeat(40)}\n\n`);
  assert.equal((await events(small, 100)).length, 50);
});
