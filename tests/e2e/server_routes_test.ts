/**
 * Route rules of server mode on the real process: the legacy SSE endpoints and their error
 * statuses, Streamable HTTP sessions on `/mcp` and `/mcp/`, unknown paths, `--stateless`.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader, statusOf } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const FIXTURE_ARGS = ["--", "node", FIXTURE];
const PING = { jsonrpc: "2.0", id: 7, method: "ping" };

Deno.test("legacy SSE: endpoint event, 202 Accepted, replies on the stream, POST errors", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  // --port 0 bound a real port.
  assert.notEqual(new URL(proxy.base).port, "0");
  const response = await fetch(proxy.sse.default);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const events = new SseReader(response.body!);
  try {
    const endpoint = await events.next();
    assert.equal(endpoint?.event, "endpoint");
    const [, sessionId] = endpoint!.data.match(/^\/messages\/\?session_id=([0-9a-f]{32})$/) ?? [];
    assert.ok(sessionId, endpoint!.data);
    const messages = `${proxy.base}/messages/`;

    const accepted = await post(`${messages}?session_id=${sessionId}`, INITIALIZE);
    assert.equal(accepted.status, 202);
    assert.equal(await accepted.text(), "Accepted");
    const reply = await events.nextMessage();
    assert.equal(reply.id, INITIALIZE.id);
    assert.equal(
      (reply.result as { serverInfo: { name: string } }).serverInfo.name,
      "server-mode-fixture",
    );

    const cases: [string, unknown, number][] = [
      [messages, PING, 400],
      [`${messages}?session_id=`, PING, 400],
      [`${messages}?session_id=not-hex`, PING, 400],
      [`${messages}?session_id=${"0".repeat(32)}`, PING, 404],
      [`${messages}?session_id=${sessionId}`, "{not json", 400],
      [`${messages}?session_id=${sessionId}`, { hello: "world" }, 400],
      [`${proxy.base}/messages?session_id=${sessionId}`, PING, 404],
    ];
    for (const [url, body, expected] of cases) {
      const r = await post(url, body);
      assert.equal(r.status, expected, `${url} ${JSON.stringify(body)}`);
      await r.body?.cancel();
    }
    // The session survived the bad requests.
    const ping = await post(`${messages}?session_id=${sessionId}`, PING);
    assert.equal(ping.status, 202);
    await ping.body?.cancel();
    assert.deepEqual(await events.nextMessage(), { jsonrpc: "2.0", id: 7, result: {} });
  } finally {
    await events.cancel();
  }
});

Deno.test("Streamable HTTP: /mcp/ and /mcp, session header, DELETE, unknown and missing session", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const init = await post(`${proxy.mcp.default}/`, INITIALIZE);
  assert.equal(init.status, 200, "/mcp/ answers without a redirect");
  const sessionId = init.headers.get("mcp-session-id");
  assert.match(sessionId ?? "", /^[\x21-\x7e]{16,}$/);
  // Nothing comes before the response: plain JSON, not an event stream.
  assert.equal(init.headers.get("content-type"), "application/json");
  assert.equal((await init.json()).id, INITIALIZE.id);

  const headers = {
    ...MCP_HEADERS,
    "mcp-session-id": sessionId!,
    "mcp-protocol-version": "2025-06-18",
  };
  const ping = await post(proxy.mcp.default, PING, headers);
  assert.equal(ping.status, 200);
  assert.deepEqual(await ping.json(), { jsonrpc: "2.0", id: 7, result: {} });

  const unknown = await post(proxy.mcp.default, PING, { ...headers, "mcp-session-id": "nope" });
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).error.message, "Session not found");
  assert.equal(
    await statusOf(proxy.mcp.default, {
      method: "POST",
      headers: MCP_HEADERS,
      body: JSON.stringify(PING),
    }),
    400,
    "no session header",
  );

  assert.equal(await statusOf(proxy.mcp.default, { method: "DELETE", headers }), 200);
  assert.equal(await statusOf(proxy.mcp.default, { method: "DELETE", headers }), 404);
  const after = await post(proxy.mcp.default, PING, headers);
  assert.equal(after.status, 404, "a deleted session is gone");
  await after.body?.cancel();
});

Deno.test("unknown paths are 404, without slash redirects", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  for (
    const path of ["/", "/sse/", "/mcpx", "/messages", "/status/", "/servers/default/sse", "/x"]
  ) {
    assert.equal(await statusOf(`${proxy.base}${path}`), 404, path);
  }
  assert.equal(await statusOf(`${proxy.base}/status`), 200);
});

Deno.test("--stateless: the SDK client works over /mcp without a session id", async () => {
  await using proxy = await startServerProxy(["--stateless", ...FIXTURE_ARGS]);
  const init = await post(proxy.mcp.default, INITIALIZE);
  assert.equal(init.status, 200);
  assert.equal(init.headers.get("mcp-session-id"), null);
  await init.body?.cancel();
  // Any request stands alone, without an initialize before it.
  const ping = await post(proxy.mcp.default, PING);
  assert.equal(ping.status, 200);
  assert.deepEqual(await ping.json(), { jsonrpc: "2.0", id: 7, result: {} });

  const client = await connectClient(proxy.mcp.default, "mcp");
  try {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((tool) => tool.name), ["alpha", "beta"]);
    const result = await client.callTool({ name: "gamma", arguments: {} });
    assert.deepEqual(result.content, [{ type: "text", text: "called gamma" }]);
  } finally {
    await client.close();
  }
});
