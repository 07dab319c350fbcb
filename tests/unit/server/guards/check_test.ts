/**
 * `guarded`: a route's checks run in order before its handler, and the first refusal, at once
 * or after a check that had to wait, is the answer.
 */
import assert from "node:assert/strict";
import { Hono } from "../../../../src/deps.ts";
import { type Check, guarded } from "../../../../src/server/guards/check.ts";

/** A check that records its name in `seen` and refuses with `status` when given one. */
function recording(seen: string[], name: string, status?: number, later = false): Check {
  return () => {
    seen.push(name);
    const verdict = status === undefined ? undefined : new Response(name, { status });
    return later ? Promise.resolve(verdict) : verdict;
  };
}

/** The answer of a route guarded by `checks` to one GET, and what ran. */
async function run(checks: (seen: string[]) => (Check | undefined)[]) {
  const seen: string[] = [];
  const app = new Hono();
  app.get(
    "/x",
    guarded(checks(seen), () => {
      seen.push("handler");
      return new Response("handled");
    }),
  );
  const response = await app.request("/x");
  return { status: response.status, body: await response.text(), seen };
}

Deno.test("checks that let a request through run in order, then the handler", async () => {
  const answer = await run((seen) => [
    recording(seen, "a"),
    undefined,
    recording(seen, "b", undefined, true),
    recording(seen, "c"),
  ]);
  assert.deepEqual(answer, { status: 200, body: "handled", seen: ["a", "b", "c", "handler"] });
});

Deno.test("the first refusal is the answer; nothing after it runs", async () => {
  assert.deepEqual(
    await run((seen) => [recording(seen, "a"), recording(seen, "b", 403), recording(seen, "c")]),
    { status: 403, body: "b", seen: ["a", "b"] },
  );
  assert.deepEqual(
    await run((seen) => [
      recording(seen, "a", undefined, true),
      recording(seen, "b", 401, true),
      recording(seen, "c", 404),
    ]),
    { status: 401, body: "b", seen: ["a", "b"] },
  );
});

Deno.test("no checks: the handler answers", async () => {
  assert.deepEqual(await run(() => []), { status: 200, body: "handled", seen: ["handler"] });
});
