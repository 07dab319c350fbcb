/**
 * Bad input over HTTP on the real process: JSON-RPC error bodies for malformed, unknown-session
 * and oversized requests, and hundreds of random requests that leave the proxy serving.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { INITIALIZE, MCP_HEADERS, post, rawExchange, SseReader } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const FIXTURE_ARGS = ["--", "node", FIXTURE];
const PING = { jsonrpc: "2.0", id: 7, method: "ping" };

async function jsonRpcError(response: Response, status: number, code: number): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get("content-type"), "application/json");
  const body = await response.json();
  assert.equal(body.jsonrpc, "2.0");
  assert.equal(body.id, null);
  assert.equal(body.error.code, code, body.error.message);
}

/** Opens `/sse` and returns its events and the session's POST URL. */
async function openSse(base: string, signal?: AbortSignal) {
  const events = new SseReader((await fetch(`${base}/sse`, { signal })).body!);
  const endpoint = await events.next();
  return { events, messages: new URL(endpoint!.data, base).href };
}

Deno.test("/messages/: malformed JSON 400 -32700, not JSON-RPC 400 -32600, unknown or ended session 404", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const { events, messages } = await openSse(proxy.base);
  await jsonRpcError(await post(messages, "{not json"), 400, -32700);
  await jsonRpcError(await post(messages, { hello: "world" }), 400, -32600);
  await jsonRpcError(await post(messages, [PING]), 400, -32600);
  await jsonRpcError(await post(`${proxy.base}/messages/`, PING), 400, -32000);
  const unknown = messages.replace(/session_id=\w+/, `session_id=${"a".repeat(32)}`);
  await jsonRpcError(await post(unknown, PING), 404, -32001);
  // The client hangs up: its session ends, and its id is unknown from then on.
  await events.cancel();
  let status = 202;
  for (let i = 0; i < 100 && status !== 404; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    const response = await post(messages, PING);
    status = response.status;
    if (status === 404) await jsonRpcError(response, 404, -32001);
    else await response.body?.cancel();
  }
  assert.equal(status, 404, "the ended session is gone");
});

Deno.test("--max-body-size: larger bodies get 413 on /messages/ (sized or chunked) and /mcp", async () => {
  await using proxy = await startServerProxy(["--max-body-size", "2000", ...FIXTURE_ARGS]);
  const { events, messages } = await openSse(proxy.base);
  try {
    const big = JSON.stringify({ ...PING, params: { pad: "x".repeat(3000) } });
    await jsonRpcError(await post(messages, big), 413, -32000);
    const chunked = new Blob([big]).stream();
    await jsonRpcError(
      await fetch(messages, { method: "POST", body: chunked, headers: MCP_HEADERS }),
      413,
      -32000,
    );
    const mcp = await post(proxy.mcp.default, big);
    assert.equal(mcp.status, 413);
    await mcp.body?.cancel();
    // Under the limit, the session still works.
    const ok = await post(messages, { ...PING, params: { pad: "x".repeat(1000) } });
    assert.equal(ok.status, 202);
    await ok.body?.cancel();
    assert.equal((await events.nextMessage()).id, PING.id);
  } finally {
    await events.cancel();
  }
});

/** A deterministic generator (xorshift32), so that a failing run can be repeated. */
function random(seed: number) {
  let state = seed || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const bytes = (max: number) =>
    Uint8Array.from({ length: Math.floor(next() * max) }, () => Math.floor(next() * 256));
  return { next, pick, bytes };
}

/** One random request: random bytes outright, or HTTP framing around random parts. */
function randomRequest(rng: ReturnType<typeof random>, paths: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  if (rng.next() < 0.2) return rng.bytes(4096);
  const body = rng.next() < 0.5
    ? rng.bytes(8192)
    : encoder.encode(rng.pick(['{"jsonrpc":"2.0","id":1,"method":"ping"}', "{", "[]", "null"]));
  const method = rng.pick(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"]);
  const headers = [
    "host: 127.0.0.1",
    rng.pick(["content-type: application/json", "content-type: text/plain", ""]),
    rng.pick(["accept: application/json, text/event-stream", "accept: */*", ""]),
    rng.pick(["mcp-session-id: nope", `mcp-session-id: ${crypto.randomUUID()}`, ""]),
    rng.pick(["mcp-protocol-version: 1999-01-01", "origin: http://evil.example", ""]),
    rng.pick([
      `content-length: ${body.length}`,
      `content-length: ${Math.floor(rng.next() * 20_000)}`,
      "content-length: -1",
      "transfer-encoding: chunked",
      "",
    ]),
    new TextDecoder().decode(rng.bytes(40)).replace(/[\r\n]/g, ""),
  ].filter((line) => line !== "");
  const head = `${method} ${rng.pick(paths)} HTTP/1.1\r\n${headers.join("\r\n")}\r\n\r\n`;
  return new Uint8Array([...encoder.encode(head), ...body]);
}

Deno.test("hundreds of random requests against /mcp, /messages/, /sse leave the proxy serving", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const { events, messages } = await openSse(proxy.base);
  try {
    const live = new URL(messages);
    const paths = [
      "/mcp",
      "/mcp/",
      "/sse",
      `${live.pathname}${live.search}`,
      "/messages/?session_id=zz",
      "/status",
      "/%ff%00",
      "*",
      "/" + "a".repeat(5000),
    ];
    const rng = random(Number(Deno.env.get("FUZZ_SEED") ?? 20240601));
    const requests = Array.from({ length: 400 }, () => randomRequest(rng, paths));
    const statuses = new Map<number, number>();
    for (let i = 0; i < requests.length; i += 25) {
      const answers = await Promise.all(
        requests.slice(i, i + 25).map((request) => rawExchange(proxy.base, request, 1_000)),
      );
      for (const { status } of answers) statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    assert.ok(!statuses.has(500), `internal errors: ${[...statuses]}`);

    // Still serving: the process, /status, new clients on both transports, the open session.
    const status = await fetch(`${proxy.base}/status`);
    assert.equal(status.status, 200);
    await status.body?.cancel();
    for (const kind of ["mcp", "sse"] as const) {
      const client = await connectClient(proxy[kind].default, kind);
      try {
        assert.equal((await client.listTools()).tools.length, 2);
      } finally {
        await client.close();
      }
    }
    const ping = await post(messages, { ...PING, id: "after-fuzz" });
    assert.equal(ping.status, 202);
    await ping.body?.cancel();
    let reply;
    do reply = await events.nextMessage(); while (reply.id !== "after-fuzz");
    const init = await post(proxy.mcp.default, INITIALIZE);
    assert.equal(init.status, 200);
    await init.body?.cancel();
  } finally {
    await events.cancel();
  }
});
