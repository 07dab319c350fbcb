/**
 * Reduced load and soak runs for CI (the full ones: `deno task load`): concurrent sessions on
 * both transports lose, duplicate and misroute nothing, and the proxy's memory does not grow
 * with the number of sessions it has served.
 */
import assert from "node:assert/strict";
import { callLoad, sessionSoak, SOAK_PROXY_ENV } from "../load/scenarios.ts";
import { EVERYTHING_ARGS, startServerProxy } from "../support/server_proxy.ts";

Deno.test("20 concurrent sessions x 20 calls over /mcp and /sse: every answer reaches its caller", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const result = await callLoad(proxy, 20, 20);
  assert.deepEqual(
    { ok: result.ok, lost: result.lost, misrouted: result.misrouted, unmatched: result.unmatched },
    { ok: 400, lost: 0, misrouted: 0, unmatched: 0 },
  );
});

Deno.test("memory after 1,000 sessions opened and closed is within 20% of that after 200", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS, { env: { ...SOAK_PROXY_ENV } });
  const result = await sessionSoak(proxy, 1_000, 200);
  assert.ok(result.growth <= 0.2, JSON.stringify(result));
});
