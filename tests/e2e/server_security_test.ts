/**
 * Server-mode security on the real process: DNS-rebinding protection (Host and Origin) on
 * loopback binds, none on other binds, and inbound API keys (`--api-key`, `MCP_PROXY_API_KEY`).
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { INITIALIZE, MCP_HEADERS, post, rawExchange, rawGet } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const FIXTURE_ARGS = ["--", "node", FIXTURE];

Deno.test("loopback bind: a Host that is not loopback nor an --allow-origin host gets 403", async () => {
  await using proxy = await startServerProxy([
    "--allow-origin",
    "https://mcp.example.com",
    ...FIXTURE_ARGS,
  ]);
  const port = new URL(proxy.base).port;
  const cases: [string, number][] = [
    [`127.0.0.1:${port}`, 200],
    ["localhost:1", 200],
    ["LOCALHOST", 200],
    ["[::1]:9", 200],
    ["127.5.6.7", 200],
    ["mcp.example.com", 200],
    ["mcp.example.com:8443", 200],
    [`rebound.example:${port}`, 403],
    [`127.0.0.1.rebound.example:${port}`, 403],
    ["localhost.rebound.example", 403],
    ["example.com", 403],
  ];
  for (const [host, expected] of cases) {
    const answer = await rawExchange(proxy.base, rawGet("/status", { host }));
    assert.equal(answer.status, expected, `Host: ${host}`);
  }
  // A rebound page's same-origin requests carry no Origin: /sse and /mcp are refused too.
  const foreign = { host: `rebound.example:${port}` };
  assert.equal((await rawExchange(proxy.base, rawGet("/sse", foreign))).status, 403);
  assert.equal((await rawExchange(proxy.base, rawGet("/mcp", foreign))).status, 403);
});

Deno.test("loopback bind: an Origin on a name that merely starts with 127. gets 403", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  for (
    const [origin, expected] of [
      ["http://127.0.0.1.rebound.example", 403],
      ["http://127.0.0.1:3000", 200],
      ["http://[::1]:3000", 200],
    ] as const
  ) {
    const response = await fetch(`${proxy.base}/status`, { headers: { origin } });
    await response.body?.cancel();
    assert.equal(response.status, expected, origin);
  }
});

Deno.test("non-loopback bind: any Host passes, and a warning says the endpoints are open", async () => {
  await using proxy = await startServerProxy(["--host", "0.0.0.0", ...FIXTURE_ARGS]);
  const base = proxy.base.replace("0.0.0.0", "127.0.0.1");
  const answer = await rawExchange(base, rawGet("/status", { host: "mcp.example.com" }));
  assert.equal(answer.status, 200);
  assert.match(proxy.process.stderr, /\[W .*Listening on 0\.0\.0\.0 without --api-key/);
});

Deno.test("--api-key: MCP endpoints need the key as Bearer or X-API-Key; /status and preflights stay open", async () => {
  const keys = ["first-secret-key", "second-secret-key"];
  await using proxy = await startServerProxy([
    "--debug",
    "--api-key",
    keys[0],
    "--api-key",
    keys[1],
    "--allow-origin",
    "http://app.example",
    "--named-server",
    "other",
    `node ${FIXTURE}`,
    ...FIXTURE_ARGS,
  ]);
  const { base } = proxy;
  const refused = async (url: string, init: RequestInit = {}) => {
    const response = await fetch(url, init);
    assert.equal(response.status, 401, `${init.method ?? "GET"} ${url}`);
    assert.equal(response.headers.get("www-authenticate"), "Bearer");
    const body = await response.json();
    assert.equal(body.jsonrpc, "2.0");
    assert.equal(body.error.code, -32000);
    return response;
  };
  const session = "0".repeat(32);
  for (const path of ["/sse", "/servers/other/sse", "/mcp", "/mcp/", "/servers/other/mcp"]) {
    await refused(`${base}${path}`);
  }
  for (const path of ["/messages/", "/servers/other/messages/"]) {
    await refused(`${base}${path}?session_id=${session}`, { method: "POST", body: "{}" });
  }
  const initialize = { method: "POST", body: JSON.stringify(INITIALIZE) };
  for (
    const headers of [
      { authorization: "Bearer wrong-key" },
      { "x-api-key": "wrong-key" },
      { authorization: `Basic ${btoa(`user:${keys[0]}`)}` },
      { authorization: keys[0] },
      { "x-api-key": keys[0].slice(0, -1) },
    ] as Record<string, string>[]
  ) {
    await refused(`${base}/mcp`, { ...initialize, headers: { ...MCP_HEADERS, ...headers } });
  }
  // The browser reads the 401 only with CORS headers on it.
  const cors = await refused(`${base}/mcp`, { headers: { origin: "http://app.example" } });
  assert.equal(cors.headers.get("access-control-allow-origin"), "http://app.example");

  for (
    const headers of [
      { authorization: `Bearer ${keys[0]}` },
      { authorization: `bearer ${keys[1]}` },
      { "x-api-key": keys[1] },
    ] as Record<string, string>[]
  ) {
    const response = await post(`${base}/mcp`, INITIALIZE, { ...MCP_HEADERS, ...headers });
    assert.equal(response.status, 200, JSON.stringify(headers));
    await response.body?.cancel();
  }
  const status = await fetch(`${base}/status`);
  assert.equal(status.status, 200);
  await status.body?.cancel();
  const preflight = await fetch(`${base}/mcp`, {
    method: "OPTIONS",
    headers: {
      origin: "http://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization, content-type",
    },
  });
  assert.equal(preflight.status, 204);
  await preflight.body?.cancel();

  for (const kind of ["mcp", "sse"] as const) {
    const client = await connectClient(proxy[kind].other, kind, {
      headers: { authorization: `Bearer ${keys[0]}` },
    });
    try {
      const result = await client.callTool({ name: "alpha", arguments: {} });
      assert.deepEqual(result.content, [{ type: "text", text: "called alpha" }]);
    } finally {
      await client.close();
    }
  }
  assert.match(proxy.process.stderr, /API key required on the MCP endpoints \(2 key\(s\)/);
  for (const key of keys) assert.ok(!proxy.process.stderr.includes(key), "a key was logged");
});

Deno.test("MCP_PROXY_API_KEY sets a key; a non-loopback bind with a key gives no warning", async () => {
  const key = "key-from-the-environment";
  await using proxy = await startServerProxy(["--host", "0.0.0.0", ...FIXTURE_ARGS], {
    env: { MCP_PROXY_API_KEY: key },
  });
  const base = proxy.base.replace("0.0.0.0", "127.0.0.1");
  const without = await post(`${base}/mcp`, INITIALIZE);
  assert.equal(without.status, 401);
  await without.body?.cancel();
  const withKey = await post(`${base}/mcp`, INITIALIZE, { ...MCP_HEADERS, "x-api-key": key });
  assert.equal(withKey.status, 200);
  await withKey.body?.cancel();
  assert.doesNotMatch(proxy.process.stderr, /without --api-key/);
  assert.ok(!proxy.process.stderr.includes(key));
});
