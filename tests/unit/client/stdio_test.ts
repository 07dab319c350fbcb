/**
 * Client mode's stdin framing: lines to sorted messages, bad lines answered, reading goes on.
 */
import assert from "node:assert/strict";
import { readMessages } from "../../../src/client/stdio.ts";
import type { Logger } from "../../../src/io/log.ts";
import type { Incoming, ResponseMessage } from "../../../src/protocol/jsonrpc.ts";

function streamOf(chunks: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => typeof c === "string" ? encoder.encode(c) : c));
}

/** Reads `chunks` as stdin; returns what was handed on, answered and logged. */
async function read(chunks: (string | Uint8Array)[], onMessage?: (incoming: Incoming) => void) {
  const messages: unknown[] = [];
  const errors: ResponseMessage[] = [];
  const warnings: string[] = [];
  const log: Logger = { debug() {}, info() {}, warning: (m) => warnings.push(m), error() {} };
  await readMessages(streamOf(chunks), {
    onMessage: (incoming) => {
      onMessage?.(incoming);
      messages.push(incoming.message);
    },
    onInvalid: (response) => errors.push(response),
    log,
  });
  return { messages, errors, warnings };
}

Deno.test("readMessages: lines split across chunks, CRLF, blank lines, no final newline", async () => {
  const euro = new TextEncoder().encode('{"jsonrpc":"2.0","method":"€"}\n');
  const { messages, errors } = await read([
    '{"jsonrpc":"2.0",',
    '"id":1,"method":"a"}\r\n\n   \n',
    euro.slice(0, 28), // splits the three bytes of "€"
    euro.slice(28),
    "oops\n",
    '{"jsonrpc":"2.0","id":2,"method":"b"}',
  ]);
  assert.deepEqual(messages, [
    { jsonrpc: "2.0", id: 1, method: "a" },
    { jsonrpc: "2.0", method: "€" },
    { jsonrpc: "2.0", id: 2, method: "b" },
  ]);
  assert.equal(errors.length, 1);
  assert.deepEqual(errors[0].error?.code, -32700);
});

Deno.test("readMessages: -32600 and -32602 answered with the request's id, a bad notification logged", async () => {
  const { messages, errors, warnings } = await read([
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}\n',
    '{"jsonrpc":"2.0","id":"x","method":"tools/call","params":{"_meta":7}}\n',
    '{"jsonrpc":"2.0","method":"notifications/progress","params":"no"}\n',
    '{"jsonrpc":"1.0","id":3,"method":"ping"}\n',
    "[1,2]\n",
    '{"jsonrpc":"2.0","method":"notifications/progress"}\n',
  ]);
  assert.deepEqual(errors.map((e) => [e.id, e.error?.code]), [
    [1, -32602],
    ["x", -32602],
    [3, -32600],
    [null, -32600],
  ]);
  assert.equal(warnings.length, 1);
  assert.deepEqual(messages, [{ jsonrpc: "2.0", method: "notifications/progress" }]);
});

Deno.test("readMessages: a handler that throws loses that message only, and reading goes on", async () => {
  const { messages, warnings } = await read([
    '{"jsonrpc":"2.0","id":1,"method":"boom"}\n',
    '{"jsonrpc":"2.0","id":2,"method":"ok"}\n',
  ], (incoming) => {
    if (incoming.message.method === "boom") throw new Error("handler failed");
  });
  assert.deepEqual(messages, [{ jsonrpc: "2.0", id: 2, method: "ok" }]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /handler failed/);
});
