/**
 * MessageWriter: newline-delimited JSON-RPC to a child's stdin or client mode's stdout, batched
 * under load.
 */
import assert from "node:assert/strict";
import { MAX_WRITE_CHARS, MessageWriter } from "../../../src/io/message_writer.ts";

/** A stream that records each write it is given, as text, and whether it was closed. */
function recordingStream() {
  const recorded = { writes: [] as string[], closed: false };
  const decoder = new TextDecoder();
  const stream = new WritableStream<Uint8Array>({
    write: (chunk) => void recorded.writes.push(decoder.decode(chunk)),
    close: () => void (recorded.closed = true),
  });
  return {
    stream,
    ...recorded,
    get closed() {
      return recorded.closed;
    },
  };
}

const message = (id: number) => ({ jsonrpc: "2.0" as const, id, method: "ping" });
const line = (id: number) => JSON.stringify(message(id)) + "\n";

Deno.test("MessageWriter: a lone message goes out at once; those behind a write share the next one, in order", async () => {
  const { stream, writes } = recordingStream();
  const writer = new MessageWriter(stream, (error) => assert.fail(String(error)));
  writer.write(message(1));
  writer.write(message(2));
  writer.write(message(3));
  await writer.flush();
  assert.deepEqual(writes, [line(1), line(2) + line(3)]);

  // Once that write is done, the writer is idle again: the next message goes alone.
  await new Promise((resolve) => setTimeout(resolve, 10));
  writer.write(message(4));
  await writer.flush();
  assert.deepEqual(writes.at(-1), line(4));
  await writer.close();
});

Deno.test("MessageWriter: messages that wait go out at the end of the turn without a flush", async () => {
  const { stream, writes } = recordingStream();
  const writer = new MessageWriter(stream, (error) => assert.fail(String(error)));
  for (let id = 1; id <= 5; id++) writer.write(message(id));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(writes, [line(1), line(2) + line(3) + line(4) + line(5)]);
  await writer.close();
});

Deno.test("MessageWriter: while the owner is busy, even the first message waits for the end of the turn", async () => {
  const { stream, writes } = recordingStream();
  let busy = true;
  const writer = new MessageWriter(stream, (error) => assert.fail(String(error)), () => busy);
  writer.write(message(1));
  writer.write(message(2));
  assert.deepEqual(writes, []);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(writes, [line(1) + line(2)]);
  busy = false;
  writer.write(message(3));
  await writer.flush();
  assert.deepEqual(writes.at(-1), line(3));
  await writer.close();
});

Deno.test("MessageWriter: close writes what waits, then closes the stream", async () => {
  const recorded = recordingStream();
  const writer = new MessageWriter(recorded.stream, (e) => assert.fail(String(e)), () => true);
  writer.write(message(1));
  assert.equal(recorded.closed, false);
  await writer.close();
  assert.deepEqual(recorded.writes, [line(1)]);
  assert.equal(recorded.closed, true);
});

Deno.test("MessageWriter: a failed write is reported, not thrown, and so is every later one", async () => {
  const writes: string[] = [];
  const errors: string[] = [];
  let fail = true;
  const stream = new WritableStream<Uint8Array>({
    write(chunk) {
      if (fail) {
        fail = false;
        throw new Error("pipe broke");
      }
      writes.push(new TextDecoder().decode(chunk));
    },
  });
  const writer = new MessageWriter(stream, (error) => errors.push((error as Error).message));
  writer.write(message(1));
  await writer.flush();
  assert.deepEqual(errors, ["pipe broke"]);
  // A stream whose sink threw is errored for good: the next write is reported too, not thrown.
  writer.write(message(2));
  await writer.flush();
  assert.equal(errors.length, 2);
  assert.deepEqual(writes, []);
});

Deno.test("MessageWriter: a turn's lines go out in writes of at most MAX_WRITE_CHARS, in order; a longer line alone", async () => {
  const { stream, writes } = recordingStream();
  const writer = new MessageWriter(stream, (error) => assert.fail(String(error)), () => true);
  const padded = (id: number, chars: number) => ({
    ...message(id),
    params: { pad: "x".repeat(chars) },
  });
  const sent = [
    ...Array.from({ length: 40 }, (_, i) => padded(i, MAX_WRITE_CHARS / 10)),
    padded(40, MAX_WRITE_CHARS * 2),
    padded(41, 10),
  ];
  for (const m of sent) writer.write(m);
  await writer.flush();
  assert.equal(writes.join(""), sent.map((m) => JSON.stringify(m) + "\n").join(""));
  assert.ok(writes.length >= 6);
  const long = writes.findIndex((text) => text.length > MAX_WRITE_CHARS);
  assert.deepEqual(writes[long], JSON.stringify(sent[40]) + "\n");
  assert.ok(writes.every((text, i) => i === long || text.length <= MAX_WRITE_CHARS));
  await writer.close();
});
