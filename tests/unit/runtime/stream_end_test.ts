import assert from "node:assert/strict";
import { type StreamEnd, withEnd } from "../../../src/runtime/stream_end.ts";

const bytes = (text: string) => new TextEncoder().encode(text);

/** `stream` passed through `withEnd`, and how it ended (each time it was told). */
function watched(stream: ReadableStream<Uint8Array>) {
  const ends: StreamEnd[] = [];
  return { stream: withEnd(stream, (how) => ends.push(how)), ends };
}

Deno.test("withEnd passes every chunk on and says once that the stream was read to its end", async () => {
  const { stream, ends } = watched(ReadableStream.from([bytes("a"), bytes("bc")]));
  assert.deepEqual(ends, []);
  assert.equal(await new Response(stream).text(), "abc");
  assert.deepEqual(ends, ["read"]);
});

Deno.test("withEnd says that a stream failed, or that its reader cancelled it", async () => {
  let pulls = 0;
  const failing = watched(
    new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(bytes("a"));
        else controller.error(new Error("gone"));
      },
    }),
  );
  await assert.rejects(new Response(failing.stream).text(), /gone/);
  assert.deepEqual(failing.ends, ["failed"]);

  let cancelledWith: unknown;
  const cancelled = watched(
    new ReadableStream<Uint8Array>({
      pull: (controller) => controller.enqueue(bytes("x")),
      cancel: (reason) => void (cancelledWith = reason),
    }),
  );
  const reader = cancelled.stream.getReader();
  await reader.read();
  await reader.cancel("left");
  assert.deepEqual(cancelled.ends, ["cancelled"]);
  assert.equal(cancelledWith, "left", "the source is cancelled with the reader's reason");
});
