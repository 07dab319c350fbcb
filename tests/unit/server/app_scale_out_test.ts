/**
 * The application as one instance of several, in-process against a fake shared server: the
 * instance id in session ids and the SSE endpoint, `/ready`, and the drain (process-level
 * forwarding and drains are in tests/e2e/scale_out_instances_test.ts).
 */
import assert from "node:assert/strict";
import type { ScaleOutSettings } from "../../../src/config.ts";
import { type AppOptions, createProxyApp, type ProxyApp } from "../../../src/server/app.ts";
import { DEFAULT_APP_OPTIONS } from "../../support/app_options.ts";
import { FakeSharedServer } from "../../support/fake_shared_server.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../../support/raw_http.ts";

/** The app serving one fake server at the root, on loopback. */
async function serve(options: Partial<AppOptions> = {}) {
  const server = new FakeSharedServer();
  const app: ProxyApp = createProxyApp([{ server, pathPrefix: "" }], {
    ...DEFAULT_APP_OPTIONS,
    ...options,
  });
  const listening = Promise.withResolvers<number>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening.resolve(port) },
    (request) => app.handle({ request }),
  );
  return {
    base: `http://127.0.0.1:${await listening.promise}`,
    app,
    server,
    async [Symbol.asyncDispose]() {
      await app.close();
      await http.shutdown();
    },
  };
}

const INSTANCE: ScaleOutSettings = { instanceId: "i-1" };

/** Opens a Streamable HTTP session; its id. */
async function initialize(base: string): Promise<string> {
  const answer = await post(`${base}/mcp`, INITIALIZE);
  await answer.body?.cancel();
  return answer.headers.get("mcp-session-id")!;
}

/** The `endpoint` event of a new `/sse` stream, and the stream. */
async function openSse(base: string): Promise<{ endpoint: string; events: SseReader }> {
  const events = new SseReader((await fetch(`${base}/sse`)).body!);
  return { endpoint: (await events.next())!.data, events };
}

Deno.test("an instance's session ids and SSE endpoints name it; its messages are served here", async () => {
  await using s = await serve({ scaleOut: INSTANCE });
  const sessionId = await initialize(s.base);
  assert.match(sessionId, /^i-1\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const used = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 2, method: "ping" }, {
    ...MCP_HEADERS,
    "mcp-session-id": sessionId,
  });
  assert.deepEqual((await used.json()).result, {});

  const { endpoint, events } = await openSse(s.base);
  assert.match(endpoint, /^\/messages\/\?session_id=[0-9a-f]{32}&instance=i-1$/);
  const accepted = await post(`${s.base}${endpoint}`, { jsonrpc: "2.0", id: 3, method: "ping" });
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();
  assert.deepEqual((await events.nextMessage()).id, 3);
  await events.cancel();
});

Deno.test("alone, session ids and SSE endpoints are as they always were", async () => {
  await using s = await serve();
  assert.match(
    await initialize(s.base),
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  const { endpoint, events } = await openSse(s.base);
  assert.match(endpoint, /^\/messages\/\?session_id=[0-9a-f]{32}$/);
  await events.cancel();
});

Deno.test("/ready: 200 while the server runs, 503 with the reason while it starts; no API key asked", async () => {
  await using s = await serve({ apiKeys: ["secret"] });
  const ready = await fetch(`${s.base}/ready`);
  assert.deepEqual([ready.status, await ready.json()], [200, { ready: true }]);
  s.server.state = "starting";
  const starting = await fetch(`${s.base}/ready`);
  assert.deepEqual([starting.status, await starting.json()], [503, {
    ready: false,
    reason: "server 'default' is starting",
  }]);
  const status = await fetch(`${s.base}/status`);
  assert.equal(status.status, 200, "/status stays 200");
  await status.body?.cancel();
});

Deno.test("a drain refuses new sessions, serves the open ones, and ends when none is left or at its timeout", async () => {
  await using s = await serve({ scaleOut: INSTANCE });
  const sessionId = await initialize(s.base);
  const session = { ...MCP_HEADERS, "mcp-session-id": sessionId };
  const timedOut = await s.app.drain(50);
  assert.deepEqual(timedOut, { sessions: 1, calls: 0 });

  const ready = await fetch(`${s.base}/ready`);
  assert.deepEqual([ready.status, await ready.json()], [503, {
    ready: false,
    reason: "draining: shutting down",
  }]);
  const refused = await post(`${s.base}/mcp`, INITIALIZE);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  await refused.body?.cancel();
  const served = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 2, method: "ping" }, session);
  assert.deepEqual((await served.json()).result, {});

  const drained = s.app.drain(60_000);
  const ended = await fetch(`${s.base}/mcp`, { method: "DELETE", headers: session });
  assert.equal(ended.status, 200);
  assert.deepEqual(await drained, { sessions: 0, calls: 0 });
});
