/**
 * The HTTP side of server mode in-process, against a fake shared server: what needs a look
 * inside (multiplexer sessions opened and ended, server states, keep-alive timing, body
 * limits, shutdown). Route rules and CORS are tested on the real process in
 * server_routes_test.ts and server_named_test.ts.
 */
import assert from "node:assert/strict";
import { DEFAULT_MAX_BODY_BYTES } from "../../../src/config.ts";
import {
  type AppOptions,
  createProxyApp,
  type MountedServer,
  type ProxyApp,
} from "../../../src/server/app.ts";
import { SseSessions } from "../../../src/server/http/sse_server.ts";
import { FakeSharedServer } from "../../support/fake_shared_server.ts";
import { type ClientTransportKind, connectClient } from "../../support/mcp_client.ts";
import { INITIALIZE, post, SseReader } from "../../support/raw_http.ts";

interface Served {
  base: string;
  app: ProxyApp;
  servers: FakeSharedServer[];
  [Symbol.asyncDispose](): Promise<void>;
}

async function serve(
  options: Partial<AppOptions> = {},
  mounts: (MountedServer & { server: FakeSharedServer })[] = [
    { server: new FakeSharedServer(), pathPrefix: "" },
  ],
): Promise<Served> {
  const servers = mounts.map(({ server }) => server);
  const app = createProxyApp(mounts, {
    stateless: false,
    allowOrigins: [],
    exposeHeaders: ["mcp-session-id"],
    host: "127.0.0.1",
    apiKeys: [],
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    ...options,
  });
  const { promise, resolve } = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => resolve(port) },
    (request) => app.handle({ request }),
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
    if (kind === "sse") {
      // The client hung up: its stream is cancelled and its multiplexer session ends.
      for (let i = 0; i < 100 && s.servers[0].sessions > 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(s.servers[0].sessions, 0);
    }
  });
}

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

Deno.test("legacy SSE: a client that stops reading is dropped, not buffered without bound", async () => {
  const server = new FakeSharedServer();
  const sessions = new SseSessions(server, {
    maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
    maxUnreadBytes: 1 << 20,
    keepAliveMs: 0,
  });
  const events = new SseReader(
    sessions.open("/messages/", new Request("http://127.0.0.1/sse")).body!,
  );
  assert.equal((await events.next())?.event, "endpoint");
  const big = {
    jsonrpc: "2.0" as const,
    method: "notifications/message",
    params: { data: "x".repeat(100_000) },
  };
  for (let i = 0; i < 20; i++) await server.sinks[0].send(big);
  assert.equal(server.sessions, 0, "the session ended once 1 MiB was left unread");
  // What was left unread is dropped with the stream.
  await assert.rejects(async () => {
    while (await events.next());
  }, /client not reading/);
});

Deno.test("legacy SSE: HEAD /sse opens no session", async () => {
  await using s = await serve();
  const head = await fetch(`${s.base}/sse`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-type"), "text/event-stream");
  assert.equal(s.servers[0].sessions, 0);
});

Deno.test("Streamable HTTP: a multiplexer session per initialized session, ended by DELETE", async () => {
  await using s = await serve();
  const noSession = await post(`${s.base}/mcp`, { jsonrpc: "2.0", id: 4, method: "ping" });
  assert.equal(noSession.status, 400);
  await noSession.body?.cancel();
  assert.equal(s.servers[0].sessions, 0, "no session for a request without initialize");

  const init = await post(`${s.base}/mcp`, INITIALIZE);
  await init.body?.cancel();
  assert.equal(s.servers[0].sessions, 1);
  const del = await fetch(`${s.base}/mcp`, {
    method: "DELETE",
    headers: { "mcp-session-id": init.headers.get("mcp-session-id")! },
  });
  assert.equal(del.status, 200);
  await del.body?.cancel();
  assert.equal(s.servers[0].sessions, 0);
});

Deno.test("/status reports each server's state, and activity on /mcp requests", async () => {
  const named = new FakeSharedServer("other");
  named.state = "restarting";
  await using s = await serve({}, [
    { server: new FakeSharedServer(), pathPrefix: "" },
    { server: named, pathPrefix: "/servers/other" },
  ]);
  const before = await (await fetch(`${s.base}/status`)).json();
  assert.deepEqual(before.server_instances, { default: "running", other: "restarting" });
  assert.match(before.api_last_activity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  named.state = "stopped";
  await new Promise((resolve) => setTimeout(resolve, 5));
  const r = await post(`${s.base}/servers/other/mcp`, { jsonrpc: "2.0", id: 1, method: "ping" });
  await r.body?.cancel();
  const after = await (await fetch(`${s.base}/status`)).json();
  assert.equal(after.server_instances.other, "stopped");
  assert.ok(after.api_last_activity > before.api_last_activity);
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

Deno.test("body over the limit is 413 on both transports", async () => {
  await using s = await serve();
  const big = JSON.stringify({ jsonrpc: "2.0", method: "x", params: { p: "x".repeat(5 << 20) } });
  const r = await post(`${s.base}/mcp`, big);
  assert.equal(r.status, 413);
  await r.body?.cancel();
  const events = new SseReader((await fetch(`${s.base}/sse`)).body!);
  try {
    const endpoint = await events.next();
    const r2 = await post(new URL(endpoint!.data, s.base).href, big);
    assert.equal(r2.status, 413);
    await r2.body?.cancel();
  } finally {
    await events.cancel();
  }
});

Deno.test("legacy SSE: session_id as written, hyphenated or upper-case reaches its session; others 400 or 404", async () => {
  await using s = await serve();
  const events = new SseReader((await fetch(`${s.base}/sse`)).body!);
  try {
    const endpoint = new URL((await events.next())!.data, s.base);
    const id = endpoint.searchParams.get("session_id")!;
    assert.match(id, /^[0-9a-f]{32}$/);
    const hyphenated = [8, 12, 16, 20].reduceRight(
      (text, at) => `${text.slice(0, at)}-${text.slice(at)}`,
      id,
    );
    const ping = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
    const statusFor = async (sessionId: string) => {
      const response = await post(`${s.base}/messages/?session_id=${sessionId}`, ping);
      await response.body?.cancel();
      return response.status;
    };
    assert.deepEqual(
      [
        await statusFor(id),
        await statusFor(hyphenated),
        await statusFor(id.toUpperCase()),
        await statusFor("not-a-session"),
        await statusFor("0".repeat(32)),
      ],
      [202, 202, 202, 400, 404],
    );
  } finally {
    await events.cancel();
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
    const events = new SseReader((await fetch(`${s.base}/sse`)).body!);
    assert.equal((await events.next())?.event, "endpoint");
    const client = await connectClient(`${s.base}/mcp`, "mcp");
    assert.equal(s.servers[0].sessions, 2);
    await s.app.close();
    assert.equal(s.servers[0].sessions, 0);
    assert.equal(await events.next(), undefined);
    const r = await fetch(`${s.base}/status`);
    assert.equal(r.status, 503);
    await r.body?.cancel();
    await client.close();
  } finally {
    await s[Symbol.asyncDispose]();
  }
});
