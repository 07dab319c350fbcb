/** The stderr queue: texts written at once, deferred ones together a few ms later, in order. */
import assert from "node:assert/strict";
import { StderrQueue } from "../../../src/io/stderr_queue.ts";

/** A queue over a write that records each call (as text) and completes at once. */
function recorded(deferMs = 30) {
  const writes: string[] = [];
  const decoder = new TextDecoder();
  const queue = new StderrQueue(
    (bytes) => {
      writes.push(decoder.decode(bytes));
      return Promise.resolve(bytes.length);
    },
    () => {},
    1024,
    deferMs,
  );
  return { queue, writes };
}

const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("a text is written at once; deferred ones wait, then go together", async () => {
  const { queue, writes } = recorded();
  queue.write("now\n");
  assert.deepEqual(writes, ["now\n"], "written before write() returns");
  await later(0);
  queue.write("a\n", true);
  queue.write("b\n", true);
  await later(5);
  assert.deepEqual(writes, ["now\n"], "the deferred ones wait");
  await later(60);
  assert.deepEqual(writes, ["now\n", "a\nb\n"]);
});

Deno.test("a text that is not deferred takes the deferred ones along, in order", async () => {
  const { queue, writes } = recorded();
  queue.write("a\n", true);
  queue.write("b\n");
  await later(0);
  assert.deepEqual(writes, ["a\nb\n"]);
  await later(60);
  assert.deepEqual(writes, ["a\nb\n"], "nothing written twice");
});

Deno.test("flush writes the deferred texts at once", async () => {
  const { queue, writes } = recorded(10_000);
  queue.write("a\n", true);
  await queue.flush(1_000);
  assert.deepEqual(writes, ["a\n"]);
});

Deno.test("deferred texts that come during a write wait for the next", async () => {
  const writes: string[] = [];
  let finish: (() => void) | undefined;
  const queue = new StderrQueue(
    (bytes) => {
      writes.push(new TextDecoder().decode(bytes));
      return new Promise((resolve) => finish = () => resolve(bytes.length));
    },
    () => {},
    1024,
    30,
  );
  queue.write("first\n");
  queue.write("a\n", true);
  finish!();
  await later(5);
  assert.deepEqual(writes, ["first\n"], "not at once after the write");
  await later(60);
  assert.deepEqual(writes, ["first\n", "a\n"]);
  finish!();
  await queue.flush(1_000);
});
