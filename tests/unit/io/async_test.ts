/**
 * The async toolkit: deadline, settlesWithin, the cancellable sleep and the backoff.
 */
import assert from "node:assert/strict";
import { Backoff, deadline, DeadlineError, settlesWithin, sleep } from "../../../src/io/async.ts";

const never = new Promise<never>(() => {});

Deno.test("deadline: the promise's outcome, or a DeadlineError with the message", async () => {
  assert.equal(await deadline(Promise.resolve(7), 1_000, "slow"), 7);
  await assert.rejects(deadline(Promise.reject(new Error("own")), 1_000, "slow"), /own/);
  await assert.rejects(deadline(never, 1, "took too long"), (error: Error) => {
    assert.ok(error instanceof DeadlineError);
    assert.equal(error.message, "took too long");
    return true;
  });
});

Deno.test("settlesWithin: a rejection counts as settling", async () => {
  assert.equal(await settlesWithin(Promise.resolve(), 1_000), true);
  assert.equal(await settlesWithin(Promise.reject(new Error("x")), 1_000), true);
  assert.equal(await settlesWithin(never, 1), false);
});

Deno.test("sleep: an abort ends it early; an aborted signal does not wait at all", async () => {
  const controller = new AbortController();
  const slept = sleep(60_000, controller.signal);
  controller.abort();
  await slept; // would keep the test waiting (and leak a timer) if the abort were ignored
  await sleep(60_000, AbortSignal.abort());
  await sleep(1);
});

Deno.test("Backoff doubles up to the cap and starts over after a stable run", () => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1_000, stableMs: 5_000 });
  assert.deepEqual([0, 0, 0, 0, 0, 0].map(() => backoff.next(0)), [100, 200, 400, 800, 1000, 1000]);
  assert.equal(backoff.next(4_999), 1000);
  assert.equal(backoff.next(5_000), 100);
  assert.equal(backoff.next(), 200);
});
