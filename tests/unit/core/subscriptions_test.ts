/**
 * Subscriptions: the per-session bound, and what leaving frees.
 * @module
 */
import assert from "node:assert/strict";
import { MAX_SUBSCRIPTIONS_PER_SESSION, Subscriptions } from "../../../src/core/subscriptions.ts";

Deno.test("a session is admitted up to MAX_SUBSCRIPTIONS_PER_SESSION URIs, and again once it let some go", () => {
  const subscriptions = new Subscriptions<string>();
  for (let i = 0; i < MAX_SUBSCRIPTIONS_PER_SESSION; i++) {
    assert.ok(subscriptions.admits("a", `r://${i}`));
    subscriptions.add("a", `r://${i}`);
  }
  assert.equal(subscriptions.admits("a", "r://one-more"), false);
  assert.ok(subscriptions.admits("a", "r://0"), "one it holds already");
  assert.ok(subscriptions.admits("b", "r://one-more"), "another session's count is its own");
  subscriptions.remove("a", "r://0");
  assert.ok(subscriptions.admits("a", "r://one-more"));
});
