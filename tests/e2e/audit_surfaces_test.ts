/**
 * Bounds and checks at the proxy's edges, on the real process: HTTP/2 streams counted against
 * the connection cap, `Mcp-Name` and `Mcp-Param-*` headers that disagree with the body of a
 * modern call, two processes updating one token file, server names too long to route, and the
 * exit code of a bad server name.
 */
import assert from "node:assert/strict";
import { MAX_STREAMS_PER_CONNECTION } from "../../src/runtime/deno_http.ts";
import { openH2cStreams } from "../load/h2c_flood.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

/** The executables tested through MCP_PROXY_BIN are Bun builds, which speak HTTP/1.1 only. */
const BUN_BUILD = Deno.env.get("MCP_PROXY_BIN") !== undefined;

/** Polls `GET /status` until it is answered 200 (the proxy has room again). */
async function statusServed(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${base}/status`).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("/status was not answered 200 within 10 s");
}

Deno.test("h2c streams count against --max-connections, and at most 100 ride on one connection", async () => {
  const cap = MAX_STREAMS_PER_CONNECTION + 50;
  await using proxy = await startServerProxy([
    "--max-connections",
    String(cap),
    "--",
    "node",
    FIXTURE,
  ]);
  const first = await openH2cStreams(proxy.base, "/sse", MAX_STREAMS_PER_CONNECTION + 20);
  const second = await openH2cStreams(proxy.base, "/sse", 80);
  first.close();
  second.close();
  if (BUN_BUILD) {
    // Bun's server answers the HTTP/2 preface with a protocol error: no stream is served.
    assert.equal(first.held + second.held, 0);
    return;
  }
  assert.deepEqual(first.statuses, { "200": MAX_STREAMS_PER_CONNECTION, "503": 20 });
  assert.deepEqual(second.statuses, { "200": 50, "503": 30 });
  assert.match(proxy.process.stderr, /An HTTP\/2 connection has 100 exchanges in flight/);
  // Streams that end give their room back.
  await statusServed(proxy.base);
  const third = await openH2cStreams(proxy.base, "/sse", MAX_STREAMS_PER_CONNECTION);
  third.close();
  assert.deepEqual(third.statuses, { "200": MAX_STREAMS_PER_CONNECTION });
});
