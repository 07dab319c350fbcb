/**
 * Readiness and the drain gate of one route, in front of a route that answers `passed`.
 */
import assert from "node:assert/strict";
import { Hono } from "../../../../src/deps.ts";
import { guarded } from "../../../../src/server/guards/check.ts";
import { drainGate, readiness } from "../../../../src/server/scale/drain.ts";
import type { McpRoute, ReceivedEnv } from "../../../../src/server/scale/posted_state.ts";
import { INITIALIZE, MCP_HEADERS } from "../../../support/raw_http.ts";

Deno.test("ready while every server runs and the instance is not draining", () => {
  const servers = [{ name: "default", state: "running" as const }];
  assert.deepEqual(readiness(servers, false), { ready: true });
  assert.deepEqual(readiness([], false), { ready: true });
  assert.deepEqual(readiness(servers, true), { ready: false, reason: "draining: shutting down" });
  assert.deepEqual(
    readiness(
      [...servers, { name: "a", state: "starting" }, { name: "b", state: "failed" }],
      false,
    ),
    { ready: false, reason: "server 'a' is starting; server 'b' has failed" },
  );
});

/** The gate of `route` before a route answering `passed` (and the body it got). */
function gated(route: McpRoute, draining: boolean, instanceId?: string) {
  const app = new Hono<ReceivedEnv>();
  const gate = drainGate({ draining: () => draining, instanceId, maxBodyBytes: 1_000 }, route);
  app.all("*", guarded([gate], (c) => c.json({ passed: c.env.bodyText ?? null })));
  return async (init: RequestInit, readAhead = true) => {
    const request = new Request("http://127.0.0.1/x", init);
    const bodyText = readAhead && init.body !== undefined ? await request.text() : undefined;
    const response = await app.fetch(request, { request, bodyText });
    const body = init.method === "HEAD" ? null : await response.json();
    return { status: response.status, headers: response.headers, body };
  };
}

const retryOf = (requestState: string) =>
  JSON.stringify({ jsonrpc: "2.0", id: 4, method: "tools/call", params: { requestState } });

Deno.test("draining, what would start something new gets 503 with Retry-After", async () => {
  const mcp = gated("mcp", true, "a");
  for (const body of [JSON.stringify(INITIALIZE), retryOf("b.AAAA.BBBB")]) {
    const answer = await mcp({ method: "POST", headers: MCP_HEADERS, body });
    assert.equal(answer.status, 503);
    assert.equal(answer.headers.get("retry-after"), "1");
    assert.equal(answer.body.error.code, -32000);
    assert.match(answer.body.error.message, /shutting down/);
  }
  const sse = gated("sse", true, "a");
  assert.equal((await sse({ method: "GET" })).status, 503);
  assert.equal((await sse({ method: "HEAD" })).status, 200, "HEAD opens nothing");
});

Deno.test("draining, open sessions and retries of this instance's parked calls pass", async () => {
  const mcp = gated("mcp", true, "a");
  const own = retryOf("a.AAAA.BBBB");
  const passed = await mcp({ method: "POST", headers: MCP_HEADERS, body: own }, false);
  assert.deepEqual([passed.status, passed.body], [200, { passed: own }]);
  const session = { ...MCP_HEADERS, "mcp-session-id": "a.1" };
  assert.equal((await mcp({ method: "POST", headers: session, body: "{}" })).status, 200);
  assert.equal((await mcp({ method: "DELETE", headers: session })).status, 200);
  const messages = drainGate({ draining: () => true, maxBodyBytes: 1_000 }, "messages");
  assert.equal(messages, undefined, "a message belongs to an open SSE session");
  const alone = gated("mcp", true);
  assert.equal((await alone({ method: "POST", body: retryOf("AAAA.BBBB") })).status, 200);
});

Deno.test("not draining, everything passes", async () => {
  const mcp = gated("mcp", false, "a");
  assert.equal(
    (await mcp({ method: "POST", headers: MCP_HEADERS, body: JSON.stringify(INITIALIZE) })).status,
    200,
  );
  assert.equal((await gated("sse", false)({ method: "GET" })).status, 200);
});
