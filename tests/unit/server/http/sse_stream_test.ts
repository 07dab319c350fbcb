/**
 * SseStream: the events of one turn reach the client as one chunk, in order, and closing
 * delivers what was written before it.
 */
import assert from "node:assert/strict";
import { SseStream } from "../../../../src/server/http/sse_stream.ts";

const decoder = new TextDecoder();

/** The next chunk the HTTP server would take from `reader`, as text. */
async function nextChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return value === undefined ? "" : decoder.decode(value);
}

Deno.test("SseStream: the events of one turn go out as one chunk, a later one on its own", async () => {
  const stream = new SseStream(() => {});
  const reader = stream.body.getReader();
  stream.sendText('{"id":1}');
  stream.sendText('{"id":2}');
  stream.event("endpoint", "/messages/");
  assert.equal(
    await nextChunk(reader),
    'event: message\ndata: {"id":1}\n\nevent: message\ndata: {"id":2}\n\n' +
      "event: endpoint\ndata: /messages/\n\n",
  );
  stream.sendText('{"id":3}');
  assert.equal(await nextChunk(reader), 'event: message\ndata: {"id":3}\n\n');
  stream.close();
  assert.deepEqual(await reader.read(), { done: true, value: undefined });
});

Deno.test("SseStream: close delivers the events written before it, then ends", async () => {
  const stream = new SseStream(() => {});
  stream.sendText('{"id":1}');
  stream.close();
  assert.equal(stream.sendText('{"id":2}'), false, "nothing is taken once closed");
  const text = await new Response(stream.body).text();
  assert.equal(text, 'event: message\ndata: {"id":1}\n\n');
});

Deno.test("SseStream: events not yet handed over count as unread, and a cancel lets them go", async () => {
  const ends: string[] = [];
  const stream = new SseStream((reason) => ends.push(reason));
  stream.sendText("x".repeat(1000));
  assert.ok(stream.unreadBytes >= 1000);
  await stream.body.cancel();
  assert.deepEqual(ends, ["cancelled"]);
  assert.equal(stream.unreadBytes, 0);
});
