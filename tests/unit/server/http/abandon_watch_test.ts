/**
 * AbandonWatch: the signal of a request is read only once it has waited, a request whose
 * answer is done is let go, and a client that left before then is still noticed.
 */
import assert from "node:assert/strict";
import { AbandonWatch, WATCH_DELAY_MS } from "../../../../src/server/http/abandon_watch.ts";

/** An answer that records whether it was abandoned. */
function answer() {
  return {
    done: false,
    abandoned: Promise.withResolvers<void>(),
    abandon() {
      this.abandoned.resolve();
    },
  };
}

/** Longer than a request can wait before it is watched (one to two delays). */
const PAST_WATCH_MS = WATCH_DELAY_MS * 3;

/** A request whose `signal` getter counts its reads. */
function countingRequest(): { request: Request; reads: () => number } {
  const request = new Request("http://127.0.0.1/mcp", { method: "POST" });
  let reads = 0;
  const signal = request.signal;
  Object.defineProperty(request, "signal", {
    get: () => {
      reads++;
      return signal;
    },
  });
  return { request, reads: () => reads };
}

Deno.test("an answer done within the delay never reads its request's signal", async () => {
  const watch = new AbandonWatch();
  const { request, reads } = countingRequest();
  const quick = answer();
  watch.add(request, quick);
  quick.done = true;
  await new Promise((resolve) => setTimeout(resolve, PAST_WATCH_MS));
  assert.equal(reads(), 0);
  watch.close();
});

Deno.test("a forgotten answer is never watched, done or not", async () => {
  const watch = new AbandonWatch();
  const { request, reads } = countingRequest();
  const answered = answer();
  watch.add(request, answered);
  watch.forget(answered);
  const { request: later, reads: laterReads } = countingRequest();
  const second = answer();
  watch.add(later, second);
  // Forgotten after one tick, from the batch that comes due at the next.
  await new Promise((resolve) => setTimeout(resolve, WATCH_DELAY_MS * 1.5));
  watch.forget(second);
  await new Promise((resolve) => setTimeout(resolve, PAST_WATCH_MS));
  assert.equal(reads(), 0);
  assert.equal(laterReads(), 0);
  watch.close();
});

Deno.test("a slow answer is watched after the delay, one signal read", async () => {
  const watch = new AbandonWatch();
  const { request, reads } = countingRequest();
  watch.add(request, answer());
  assert.equal(reads(), 0);
  await new Promise((resolve) => setTimeout(resolve, PAST_WATCH_MS));
  assert.equal(reads(), 1);
  watch.close();
});

Deno.test("a client that left before its request was watched is noticed once it is", async () => {
  const watch = new AbandonWatch();
  const slow = answer();
  const received = Promise.withResolvers<void>();
  await using server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    watch.add(request, slow);
    received.resolve();
    return slow.abandoned.promise.then(() => new Response(null, { status: 499 }));
  });
  const client = new AbortController();
  const call = fetch(`http://127.0.0.1:${server.addr.port}/`, {
    method: "POST",
    body: "{}",
    signal: client.signal,
  }).catch((error) => error.name);
  await received.promise;
  client.abort();
  assert.equal(await call, "AbortError");
  // Abandoned by the watch, after the delay: the client had gone before it looked.
  await slow.abandoned.promise;
  watch.close();
});

Deno.test("close forgets the requests not yet watched", async () => {
  const watch = new AbandonWatch();
  const { request, reads } = countingRequest();
  watch.add(request, answer());
  watch.close();
  await new Promise((resolve) => setTimeout(resolve, PAST_WATCH_MS));
  assert.equal(reads(), 0);
});

Deno.test("a request whose signal is already aborted when read is abandoned (as Bun hands it)", async () => {
  const watch = new AbandonWatch();
  const request = new Request("http://127.0.0.1/mcp", { signal: AbortSignal.abort() });
  const gone = answer();
  watch.add(request, gone);
  await gone.abandoned.promise;
  watch.close();
});
