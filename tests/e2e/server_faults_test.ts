/**
 * Faults on the real process: clients that vanish mid-stream free what they held, a client that
 * stops reading its SSE stream is dropped without stalling the others, and junk on a child's
 * stdout never ends the proxy.
 */
import assert from "node:assert/strict";
import { type Client, connectClient } from "../support/mcp_client.ts";
import { stalledSseClient } from "../support/raw_connections.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../support/raw_http.ts";
import { EVERYTHING_ARGS, FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };

/** Polls `attempt` every 20 ms until it returns true; false after `timeoutMs`. */
async function eventually(attempt: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (await attempt()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

async function statusOfPost(url: string, body: unknown, headers?: Record<string, string>) {
  const response = await post(url, body, headers);
  await response.body?.cancel();
  return response.status;
}

Deno.test("a client that vanishes mid-stream frees its SSE session and its /mcp GET stream", async () => {
  await using proxy = await startServerProxy(["--", "node", FIXTURE]);
  const abort = new AbortController();
  const events = new SseReader((await fetch(proxy.sse.default, { signal: abort.signal })).body!);
  const messages = new URL((await events.next())!.data, proxy.base).href;
  assert.equal(await statusOfPost(messages, INITIALIZE), 202);
  abort.abort();
  assert.ok(
    await eventually(async () => await statusOfPost(messages, INITIALIZE) === 404),
    "the SSE session outlived its client",
  );

  const init = await post(proxy.mcp.default, INITIALIZE);
  await init.body?.cancel();
  const headers = {
    ...MCP_HEADERS,
    "mcp-session-id": init.headers.get("mcp-session-id")!,
    "mcp-protocol-version": "2025-06-18",
  };
  assert.equal(await statusOfPost(proxy.mcp.default, INITIALIZED, headers), 202);
  const openGet = async (signal?: AbortSignal) => {
    const response = await fetch(proxy.mcp.default, {
      headers: { ...headers, accept: "text/event-stream" },
      signal,
    });
    return response;
  };
  const getAbort = new AbortController();
  const first = await openGet(getAbort.signal);
  assert.equal(first.status, 200);
  getAbort.abort();
  // One GET stream per session: a second is refused (409) until the first is freed.
  assert.ok(
    await eventually(async () => {
      const again = await openGet();
      await again.body?.cancel();
      return again.status === 200;
    }),
    "the vanished GET stream was never freed",
  );
});

async function echoes(client: Client, label: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const result = await client.callTool({ name: "echo", arguments: { message: `${label}${i}` } });
    assert.deepEqual(result.content, [{ type: "text", text: `Echo: ${label}${i}` }]);
  }
}

Deno.test("a client that stops reading its SSE stream is dropped; the others keep getting answers", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const others = await Promise.all([
    connectClient(proxy.mcp.default, "mcp"),
    connectClient(proxy.sse.default, "sse"),
  ]);
  const stalled = await stalledSseClient(proxy.base);
  try {
    assert.equal(await statusOfPost(stalled.messages, INITIALIZE), 202);
    assert.equal(await statusOfPost(stalled.messages, INITIALIZED), 202);
    // 48 MiB of answers, far over the 16 MiB a client may leave unread plus socket buffers.
    const big = "x".repeat(1 << 20);
    const flood = (async () => {
      for (let id = 2; id < 50; id++) {
        const status = await statusOfPost(stalled.messages, {
          jsonrpc: "2.0",
          id,
          method: "tools/call",
          params: { name: "echo", arguments: { message: big } },
        });
        if (status === 404) return; // Dropped already.
        assert.equal(status, 202);
      }
    })();
    // Meanwhile, and after, the others are answered.
    await Promise.all([flood, ...others.map((client, i) => echoes(client, `other${i}-`, 50))]);
    assert.ok(
      await eventually(
        async () =>
          await statusOfPost(stalled.messages, { jsonrpc: "2.0", id: 99, method: "ping" }) === 404,
        10_000,
      ),
      "the stalled session was never dropped",
    );
    assert.match(proxy.process.stderr, /client is not reading its stream; dropping it/);
    await Promise.all(others.map((client, i) => echoes(client, `after${i}-`, 5)));
  } finally {
    stalled.conn.close();
    await Promise.all(others.map((client) => client.close()));
  }
});

Deno.test("junk on a child's stdout is skipped; the proxy keeps serving", async () => {
  await using proxy = await startServerProxy(["--", "node", FIXTURE, "--noisy"]);
  for (const kind of ["mcp", "sse"] as const) {
    const client = await connectClient(proxy[kind].default, kind);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((tool) => tool.name), ["alpha", "beta"]);
      const result = await client.callTool({ name: "beta", arguments: {} });
      assert.deepEqual(result.content, [{ type: "text", text: "called beta" }]);
    } finally {
      await client.close();
    }
  }
  const status = await (await fetch(`${proxy.base}/status`)).json();
  assert.equal(status.server_instances.default, "running");
});
