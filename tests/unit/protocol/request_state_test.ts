/**
 * Request states of an instance among several: its id in front and under the HMAC, and a
 * shared key with which every instance opens the others' states (the single-process cases
 * are in tests/unit/core/modern_bridge_test.ts).
 */
import assert from "node:assert/strict";
import {
  credentialOf,
  isInstanceId,
  RequestStateSealer,
  stateInstance,
} from "../../../src/protocol/request_state.ts";

const REF = { parkedId: "p1", method: "tools/call", round: 1 };
const KEY = "a shared key of at least thirty-two characters";
const client = credentialOf(new Headers({ authorization: "Bearer alice" }));
const now = () => 1_000;

Deno.test("an instance's states start with its id, and only it opens them as its own", async () => {
  const a = new RequestStateSealer(now, { instanceId: "a-1", key: KEY });
  const state = await a.seal(REF, client, 100);
  assert.match(state, /^a-1\.[\w-]+\.[\w-]+$/);
  assert.equal(stateInstance(state), "a-1");
  assert.deepEqual(await a.open(state, client), REF);
  const b = new RequestStateSealer(now, { instanceId: "b", key: KEY });
  assert.equal(await b.open(state, client), undefined, "not b's own");
  assert.deepEqual(await b.open(state, client, "a-1"), REF, "b checks it with the shared key");
  assert.equal(await b.open(state, credentialOf(new Headers())), undefined, "another client");
});

Deno.test("the instance id is sealed in: a state moved to another instance's id does not open", async () => {
  const a = new RequestStateSealer(now, { instanceId: "a", key: KEY });
  const state = await a.seal(REF, client, 100);
  const moved = `b${state.slice(1)}`;
  const b = new RequestStateSealer(now, { instanceId: "b", key: KEY });
  assert.equal(await b.open(moved, client), undefined);
  assert.equal(await a.open(moved, client, "b"), undefined);
});

Deno.test("without the shared key, or with another one, an instance cannot open another's state", async () => {
  const state = await new RequestStateSealer(now, { instanceId: "a", key: KEY }).seal(
    REF,
    client,
    100,
  );
  const random = new RequestStateSealer(now, { instanceId: "b" });
  assert.equal(await random.open(state, client, "a"), undefined);
  const other = new RequestStateSealer(now, { instanceId: "b", key: `${KEY}!` });
  assert.equal(await other.open(state, client, "a"), undefined);
});

Deno.test("alone, a state carries no instance: as before, two parts", async () => {
  const alone = new RequestStateSealer(now);
  const state = await alone.seal(REF, client, 100);
  assert.equal(state.split(".").length, 2);
  assert.equal(stateInstance(state), undefined);
  assert.deepEqual(await alone.open(state, client), REF);
  const keyed = new RequestStateSealer(now, { key: KEY });
  assert.deepEqual(
    await new RequestStateSealer(now, { key: KEY }).open(
      await keyed.seal(REF, client, 100),
      client,
    ),
    REF,
    "two processes with one key",
  );
});

Deno.test("instance ids: letters, digits and '-', at most 64; anything else is no instance", () => {
  for (const id of ["a", "41231", "eu-west-1", "x".repeat(64)]) assert.ok(isInstanceId(id), id);
  for (const id of ["", "a.b", "a/b", "a:1", "évian", "x".repeat(65), "evil.com/x?"]) {
    assert.ok(!isInstanceId(id), id);
  }
  assert.equal(stateInstance("evil.com/x?.AAAA.BBBB"), undefined);
  assert.equal(stateInstance("a.b.c.d"), undefined);
});
