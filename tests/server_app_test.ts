/**
 * The HTTP side of server mode in-process, against a fake shared server: routes, both
 * transports with the SDK client, stateless mode, /status, CORS, Origin checks, shutdown.
 */
import assert from "node:assert/strict";
import { type AppOptions, createProxyApp, type ProxyApp } from "../src/server/app.ts";
import { FakeSharedServer } from "./support/fake_shared_server.ts";
import { type ClientTransportKind, connectClient } from "./support/mcp_client.ts";

interface Served {
  base: string;
  app: ProxyApp;
  servers: FakeSharedServer[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function serve(
  options: Partial<AppOptions> = {},
  servers = [new FakeSharedServer()],
): Promise<Served> {
  const app = createProxyApp(servers, {
    stateless: false,
    allowOrigins: [],
    exposeHeaders: ["mcp-session-id"],
    host: "127.0.0.1",
    ...options,
  });
  const { promise, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => resolve(port) },
    app.fetch,
  );
  const base = `http://127.0.0.1:${await promise}`;
  return {
    base,
    app,
    servers,
    async [Symbol.asyncDispose]() {
      await app.close();
      await server.shutdown();
    },
  };
}

const INITIALIZE = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: {
    protocolVersion: "2025-06-18",
    capabilities: {},
    clientInfo: { name: "raw", version: "1" },
  },
};
const MCP_HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
};

function post(url: string, body: unknown, headers: Record<string, string> = MCP_HEADERS) {
  return fetch(url, {
    method: "POST",
    headers,
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Reads an SSE body until `count` events have arrived; returns them as `{event, data}`. */
async function readEvents(body: ReadableStream<Uint8Array>, count: number) {
  const events: { event: string; data: string }[] = [];
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  while (events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields = Object.fromEntries(
        block.split("\n").filter((l) => !l.startsWith(":")).map((l) => {
          const i = l.indexOf(":");
          return [l.slice(0, i), l.slice(i + 1).trimStart()];
        }),
      );
      if (fields.data !== undefined) {
        events.push({ event: fields.event ?? "message", data: fields.data });
      }
    }
  }
  return { events, reader };
}

for (const kind of ["mcp", "sse"] as ClientTransportKind[]) {
  Deno.test(`SDK client over /${kind}: tools, progress and logging reach their caller`, async () => {
    await using s = await serve();
    const client = await connectClient(`${s.base}/${kind}`, kind);
    try {
      const logs: unknown[] = [];
      client.fallbackNotificationHandler = (n) => {
        logs.push(n);
        return Promise.resolve();
      };
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ["echo"]);
      const progress: unknown[] = [];
      const result = await client.callTool({ name: "echo", arguments: { a: 1 } }, undefined, {
        onprogress: (p) => progress.push(p),
      });
      assert.deepEqual(result.content, [{ type: "text", text: '{"a":1}' }]);
      assert.deepEqual(progress, [{ progress: 1, total: 2 }]);
      assert.equal(
        (logs as { method: string }[]).filter((n) => n.method === "notifications/message").length,
        1,
      );
      assert.equal(s.servers[0].sessions, 1);
    } finally {
      await client.close();
    }
  });
}

Deno.test("legacy SSE: endpoint event, 202, and the POST error statuses", async () => {
  await using s = await serve({}, [new FakeSharedServer("named")]);
  const response = await fetch(`${s.base}/servers/named/sse`);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const { events, reader } = await readEvents(response.body!, 1);
  try {
    assert.equal(events[0].event, "endpoint");
    const match = events[0].data.match(/^\/servers\/named\/messages\/\?session_id=([0-9a-f]{32})$/);
    assert.ok(match, events[0].data);
    const endpoint = new URL(events[0].data, s.base).href;

    let r = await post(endpoint, INITIALIZE);
    assert.equal(r.status, 202);
    assert.equal(await r.text(), "Accepted");

    r = await post(`${s.base}/servers/named/messages/`, INITIALIZE);
    assert.equal(r.status, 400, "missing session_id");
    await r.body?.cancel();
    r = await post(`${s.base}/servers/named/messages/?session_id=xyz`, INITIALIZE);
    assert.equal(r.status, 400, "malformed session_id");
    await r.body?.cancel();
    r = await post(`${s.base}/servers/named/messages/?session_id=${"0".repeat(32)}`, INITIALIZE);
    assert.equal(r.status, 404, "unknown session");
    await r.body?.cancel();
    r = await post(endpoint, "{not json");
    assert.equal(r.status, 400, "unparsable body");
    await r.body?.cancel();
    r = await post(endpoint, { hello: "world" });
    assert.equal(r.status, 400, "not JSON-RPC");
    await r.body?.cancel();
    r = await post(endpoint.replace("/messages/", "/messages"), INITIALIZE);
    assert.equal(r.status, 404, "/messages without slash");
    await r.body?.cancel();
  } finally {
    await reader.cancel();
  }
});

Deno.test("legacy SSE: idle streams get keep-alive comments", async () => {
  await using s = await serve({ keepAliveMs: 50 });
  const response = await fetch(`${s.base}/sse`);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes(": ping")) text += (await reader.read()).value;
  } finally {
    await reader.cancel();
  }
});

Deno.test("Streamable HTTP: /mcp/ without redirect, session header, DELETE, unknown session", async () => {
  await using s = await serve();
  const init = await post(`${s.base}/mcp/`, INITIALIZE);
  assert.equal(init.status, 200);
  const sessionId = init.headers.get("mcp-session-id");
  assert.ok(sessionId && /^[\x21-\x7e]+$/.test(sessionId));
  const { events, reader } = await readEvents(init.body!, 1);
  await reader.cancel();
  assert.equal(JSON.parse(events[0].data).result.serverInfo.name, "fake");
  assert.equal(s.servers[0].sessions, 1);

  const headers = {
    ...MCP_HEADERS,
    "mcp-session-id": sessionId,
    "mcp-protocol-version": "2025-06-18",
  };
  const ping = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 2, method: "ping" }, headers);
  assert.equal(ping.status, 200);
  assert.deepEqual(JSON.parse((await readEvents(ping.body!, 1)).events[0].data), {
    jsonrpc: "2.0",
    id: 2,
    result: {},
  });

  const del = await fetch(`${s.base}/mcp`, { method: "DELETE", headers });
  assert.equal(del.status, 200);
  await del.body?.cancel();
  assert.equal(s.servers[0].sessions, 0);

  const after = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 3, method: "ping" }, headers);
  assert.equal(after.status, 404);
  assert.equal((await after.json()).error.message, "Session not found");

  const noSession = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 4, method: "ping" });
  assert.equal(noSession.status, 400);
  await noSession.body?.cancel();
  assert.equal(s.servers[0].sessions, 0);
});

Deno.test("Streamable HTTP --stateless: SDK client works, one mux session per request, all ended", async () => {
  await using s = await serve({ stateless: true });
  const client = await connectClient(`${s.base}/mcp`, "mcp");
  try {
    const progress: unknown[] = [];
    const result = await client.callTool({ name: "echo", arguments: { b: 2 } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    assert.deepEqual(result.content, [{ type: "text", text: '{"b":2}' }]);
    assert.equal(progress.length, 1);
  } finally {
    await client.close();
  }
  assert.equal(s.servers[0].sessions, 0);
  const get = await fetch(`${s.base}/mcp`, { headers: { accept: "text/event-stream" } });
  assert.equal(get.status, 405);
  await get.body?.cancel();
});

Deno.test("unknown paths are 404 without redirects; /status reports activity and states", async () => {
  const named = new FakeSharedServer("other");
  named.state = "restarting";
  await using s = await serve({}, [new FakeSharedServer(), named]);
  for (const path of ["/", "/sse/", "/mcpx", "/servers/other", "/servers/nope/sse", "/status/"]) {
    const r = await fetch(`${s.base}${path}`, { redirect: "manual" });
    assert.equal(r.status, 404, path);
    await r.body?.cancel();
  }
  const before = await (await fetch(`${s.base}/status`)).json();
  assert.deepEqual(before.server_instances, { default: "running", other: "restarting" });
  assert.match(before.api_last_activity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  await new Promise((r) => setTimeout(r, 5));
  const r = await post(`${s.base}/servers/other/mcp`, { jsonrpc: "2.0", id: 1, method: "ping" });
  await r.body?.cancel();
  const after = await (await fetch(`${s.base}/status`)).json();
  assert.ok(after.api_last_activity > before.api_last_activity);
});

Deno.test("body over the limit is 413 on both transports", async () => {
  await using s = await serve();
  const big = JSON.stringify({ jsonrpc: "2.0", method: "x", params: { p: "x".repeat(5 << 20) } });
  const r = await post(`${s.base}/mcp`, big);
  assert.equal(r.status, 413);
  await r.body?.cancel();
  const sse = await fetch(`${s.base}/sse`);
  const { events, reader } = await readEvents(sse.body!, 1);
  try {
    const r2 = await post(new URL(events[0].data, s.base).href, big);
    assert.equal(r2.status, 413);
    await r2.body?.cancel();
  } finally {
    await reader.cancel();
  }
});

Deno.test("CORS: preflight allowed and disallowed, response headers, expose headers", async () => {
  await using s = await serve({
    allowOrigins: ["http://app.example"],
    exposeHeaders: ["mcp-session-id", "x-custom"],
  });
  const preflight = await fetch(`${s.base}/mcp`, {
    method: "OPTIONS",
    headers: {
      origin: "http://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type, mcp-session-id, mcp-protocol-version",
    },
  });
  assert.equal(preflight.status, 204);
  assert.equal(preflight.headers.get("access-control-allow-origin"), "http://app.example");
  assert.equal(
    preflight.headers.get("access-control-allow-methods"),
    "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT",
  );
  assert.equal(
    preflight.headers.get("access-control-allow-headers"),
    "content-type,mcp-session-id,mcp-protocol-version",
  );
  assert.equal(preflight.headers.get("access-control-max-age"), "600");
  assert.match(preflight.headers.get("vary") ?? "", /Origin/);

  const denied = await fetch(`${s.base}/mcp`, {
    method: "OPTIONS",
    headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
  });
  assert.equal(denied.status, 400);
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  await denied.body?.cancel();

  const init = await fetch(`${s.base}/mcp`, {
    method: "POST",
    headers: { ...MCP_HEADERS, origin: "http://app.example" },
    body: JSON.stringify(INITIALIZE),
  });
  assert.equal(init.headers.get("access-control-allow-origin"), "http://app.example");
  assert.equal(init.headers.get("access-control-expose-headers"), "mcp-session-id,x-custom");
  assert.match(init.headers.get("vary") ?? "", /Origin/);
  await init.body?.cancel();
});

Deno.test("CORS with '*' answers '*'; without --allow-origin no CORS headers", async () => {
  {
    await using s = await serve({ allowOrigins: ["*"] });
    const r = await fetch(`${s.base}/status`, { headers: { origin: "http://any.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    assert.equal(r.headers.get("access-control-expose-headers"), "mcp-session-id");
    await r.body?.cancel();
  }
  {
    await using s = await serve();
    const r = await fetch(`${s.base}/status`, { headers: { origin: "http://localhost:3000" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    await r.body?.cancel();
  }
});

Deno.test("Origin check on a loopback bind: foreign origins 403, allowed and loopback ones pass", async () => {
  await using s = await serve({ allowOrigins: ["http://app.example"] });
  const cases: [string, number][] = [
    ["http://rebound.example:1234", 403],
    ["null", 403],
    ["http://app.example", 200],
    ["http://localhost:5173", 200],
    ["http://127.0.0.1:8080", 200],
  ];
  for (const [origin, expected] of cases) {
    const r = await fetch(`${s.base}/status`, { headers: { origin } });
    assert.equal(r.status, expected, origin);
    await r.body?.cancel();
  }
});

Deno.test("close(): open SSE streams end, sessions end, later requests get 503", async () => {
  const s = await serve();
  try {
    const sse = await fetch(`${s.base}/sse`);
    const { reader } = await readEvents(sse.body!, 1);
    const client = await connectClient(`${s.base}/mcp`, "mcp");
    assert.equal(s.servers[0].sessions, 2);
    await s.app.close();
    assert.equal(s.servers[0].sessions, 0);
    assert.equal((await reader.read()).done, true);
    const r = await fetch(`${s.base}/status`);
    assert.equal(r.status, 503);
    await r.body?.cancel();
    await client.close();
  } finally {
    await s[Symbol.asyncDispose]();
  }
});
