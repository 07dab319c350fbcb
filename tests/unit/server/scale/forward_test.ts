/**
 * Forwarding to the instance a request names, over real HTTP on loopback: a peer that records
 * what reaches it, and the forwarder in front of a route that answers `local`.
 */
import assert from "node:assert/strict";
import { Hono } from "../../../../src/deps.ts";
import { credentialOf, RequestStateSealer } from "../../../../src/protocol/request_state.ts";
import {
  ForwardedCalls,
  PEER_CONNECT_TIMEOUT_MS,
  peerForwarder,
} from "../../../../src/server/scale/forward.ts";
import type { McpRoute, ReceivedEnv } from "../../../../src/server/scale/posted_state.ts";
import { eventually } from "../../../support/eventually.ts";
import { freePort } from "../../../support/ports.ts";
import { MCP_HEADERS, post, SseReader } from "../../../support/raw_http.ts";
import { guarded } from "../../../../src/server/guards/check.ts";

const KEY = "the key every instance of the test shares";

/** What reached the peer. */
interface Seen {
  method: string;
  url: string;
  headers: Headers;
  body: string;
}

/**
 * A peer instance: POSTs answered 201 with what they carried, GETs (and POSTs with
 * `x-stream`) with an event stream.
 */
function startPeer() {
  const seen: Seen[] = [];
  const events = new TransformStream<string, string>();
  const writer = events.writable.getWriter();
  let cancelled = false;
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening.resolve(port) },
    async (request) => {
      seen.push({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: await request.text(),
      });
      if (request.method === "GET" || request.headers.has("x-stream")) {
        const body = events.readable.pipeThrough(new TextEncoderStream()).pipeThrough(
          new TransformStream({ flush: () => {}, cancel: () => void (cancelled = true) }),
        );
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      }
      return Response.json({ peer: true }, { status: 201, headers: { "x-peer": "yes" } });
    },
  );
  return {
    seen,
    port: listening.promise,
    event: (data: string) => writer.write(`event: message\ndata: ${data}\n\n`),
    get cancelled() {
      return cancelled;
    },
    close: async () => {
      await writer.close().catch(() => {});
      await server.shutdown();
    },
  };
}

/**
 * The forwarder of `route` (this instance is `self`) before a route answering `local` with
 * the body it got, served on loopback; `readAhead` as Deno's server does, or not (Bun).
 */
function startForwarder(
  route: McpRoute,
  options: { stateKey?: string; sealsStates?: boolean; readAhead?: boolean } = {},
) {
  const app = new Hono<ReceivedEnv>();
  const calls = new ForwardedCalls();
  const forward = peerForwarder({
    calls,
    instanceId: "self",
    peerUrl: "http://127.0.0.1:{instance}/",
    stateKey: options.stateKey,
    maxBodyBytes: 1_000_000,
    sealsStates: () => options.sealsStates ?? true,
  }, route)!;
  app.all("*", guarded([forward], (c) => c.json({ local: c.env.bodyText ?? null })));
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening.resolve(port) },
    async (request) => {
      const bodyText = options.readAhead === false || request.method === "GET"
        ? undefined
        : await request.text();
      return app.fetch(request, { request, bodyText });
    },
  );
  return {
    calls,
    base: listening.promise.then((port) => `http://127.0.0.1:${port}`),
    close: () => server.shutdown(),
  };
}

Deno.test("a request of another instance's session goes there and its answer comes back as it was", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp");
  try {
    const port = await peer.port;
    const answer = await post(`${await forwarder.base}/mcp?x=1`, { jsonrpc: "2.0", id: 1 }, {
      ...MCP_HEADERS,
      "mcp-session-id": `${port}.0d9f`,
      connection: "keep-alive, x-hop",
      "x-hop": "dropped",
      "keep-alive": "timeout=5",
      "x-api-key": "kept",
    });
    assert.equal(answer.status, 201);
    assert.equal(answer.headers.get("x-peer"), "yes");
    assert.deepEqual(await answer.json(), { peer: true });
    const [seen] = peer.seen;
    assert.equal(seen.method, "POST");
    assert.equal(new URL(seen.url).pathname + new URL(seen.url).search, "/mcp?x=1");
    assert.equal(seen.body, '{"jsonrpc":"2.0","id":1}');
    assert.equal(seen.headers.get("mcp-session-id"), `${port}.0d9f`);
    assert.equal(seen.headers.get("x-api-key"), "kept");
    assert.equal(seen.headers.get("x-mcp-proxy-forwarded-by"), "self");
    assert.equal(seen.headers.get("x-hop"), null);
    assert.equal(seen.headers.get("keep-alive"), null);
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

Deno.test("an event stream of another instance streams back event by event, and ends there when the client leaves", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp");
  try {
    const response = await fetch(`${await forwarder.base}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": `${await peer.port}.s1` },
    });
    assert.equal(response.headers.get("content-type"), "text/event-stream");
    const events = new SseReader(response.body!);
    await peer.event("one");
    assert.equal((await events.next())?.data, "one");
    await peer.event("two");
    assert.equal((await events.next())?.data, "two");
    assert.equal(forwarder.calls.open, 0, "a GET's stream is no call the drain waits for");
    await events.cancel();
    // The peer learns it on its next write, as a stream does with a direct client.
    await eventually(async () => {
      await peer.event("ping").catch(() => {});
      return peer.cancelled;
    }, "the peer's stream is cancelled");
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

Deno.test("a forwarded call counts for the drain until its answer has been passed on whole", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp");
  try {
    const response = await post(`${await forwarder.base}/mcp`, { jsonrpc: "2.0", id: 1 }, {
      ...MCP_HEADERS,
      "mcp-session-id": `${await peer.port}.s1`,
      "x-stream": "yes",
    });
    const events = new SseReader(response.body!);
    await peer.event("progress");
    assert.equal((await events.next())?.data, "progress");
    assert.equal(forwarder.calls.open, 1, "the answer is still streaming");
    await peer.close();
    assert.equal(await events.next(), undefined);
    await eventually(() => forwarder.calls.open === 0, "the call no longer counts");

    const json = await post(`${await forwarder.base}/mcp`, { jsonrpc: "2.0", id: 2 }, {
      ...MCP_HEADERS,
      "mcp-session-id": `${await peer.port}.s1`,
    });
    // The peer is gone: the answer is the lost session's, and nothing is left counted.
    assert.equal(json.status, 404);
    await json.body?.cancel();
    assert.equal(forwarder.calls.open, 0);
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

Deno.test("an SSE message names its instance in the query; one's own, none or an invalid id stay here", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("messages", { readAhead: false });
  try {
    const base = await forwarder.base;
    const port = await peer.port;
    const forwarded = await post(`${base}/messages/?session_id=ab&instance=${port}`, { n: 1 });
    assert.equal(forwarded.status, 201);
    await forwarded.body?.cancel();
    assert.equal(new URL(peer.seen[0].url).search, `?session_id=ab&instance=${port}`);
    assert.equal(peer.seen[0].body, '{"n":1}', "a body not read ahead is streamed on");
    for (const query of ["session_id=ab&instance=self", "session_id=ab", "instance=a.b%2Fc"]) {
      const local = await post(`${base}/messages/?${query}`, { n: 2 });
      assert.deepEqual(await local.json(), { local: null }, query);
    }
    assert.equal(peer.seen.length, 1);
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

Deno.test("forwarded once at most; an unreachable or impossible instance is a lost session", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp");
  try {
    const base = await forwarder.base;
    const cases: Record<string, string>[] = [
      { "mcp-session-id": `${await peer.port}.s1`, "x-mcp-proxy-forwarded-by": "other" },
      { "mcp-session-id": `${freePort()}.s1` },
      { "mcp-session-id": "nosuch.s1" },
    ];
    for (const headers of cases) {
      const answer = await post(`${base}/mcp`, {}, { ...MCP_HEADERS, ...headers });
      assert.equal(answer.status, 404, JSON.stringify(headers));
      assert.deepEqual(await answer.json(), {
        jsonrpc: "2.0",
        id: null,
        error: { code: -32001, message: "Session not found" },
      });
    }
    assert.equal(peer.seen.length, 0);
    const own = await post(`${base}/mcp`, {}, { ...MCP_HEADERS, "mcp-session-id": "self.s1" });
    assert.deepEqual(await own.json(), { local: "{}" });
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

/**
 * A port that takes no more connections, as an address that drops packets: a listener that
 * never accepts, its queue (of one) filled by `held`. Connecting to it waits for the system's
 * own timeout, minutes.
 */
async function silentPort() {
  const listener = new Deno.Command("python3", {
    args: [
      "-c",
      "import socket, sys\n" +
      "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)\n" +
      "print(s.getsockname()[1], flush=True); sys.stdin.read()",
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const reader = listener.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const port = Number((await reader.read()).value);
  const held = await Deno.connect({ hostname: "127.0.0.1", port });
  return {
    port,
    async [Symbol.asyncDispose]() {
      held.close();
      await listener.stdin.close();
      await reader.cancel();
      await listener.status;
    },
  };
}

Deno.test("an instance that takes no connection gets the lost-session answer after the connect timeout", async () => {
  await using silent = await silentPort();
  const forwarder = startForwarder("mcp");
  try {
    const started = performance.now();
    const answer = await post(`${await forwarder.base}/mcp`, {}, {
      ...MCP_HEADERS,
      "mcp-session-id": `${silent.port}.s1`,
    });
    assert.equal(answer.status, 404);
    assert.deepEqual((await answer.json()).error, { code: -32001, message: "Session not found" });
    // Not a timing assertion: what is checked is which timeout ended the wait (the system's is
    // minutes), with a wide margin either way.
    const waited = performance.now() - started;
    assert.ok(waited >= PEER_CONNECT_TIMEOUT_MS - 500, `answered after ${waited} ms`);
    assert.ok(waited < 60_000, `answered after ${waited} ms`);
  } finally {
    await forwarder.close();
  }
});

Deno.test("a retry with another instance's request state goes there if the shared key opens it", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp", { stateKey: KEY, readAhead: false });
  try {
    const base = await forwarder.base;
    const port = String(await peer.port);
    const headers = { ...MCP_HEADERS, authorization: "Bearer alice" };
    const sealer = new RequestStateSealer(Date.now, { instanceId: port, key: KEY });
    const ref = { parkedId: "p", method: "tools/call", round: 1 };
    const state = await sealer.seal(ref, credentialOf(new Headers(headers)), 60_000);
    const retry = (requestState: string, id = 7) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "ask", requestState },
    });

    const forwarded = await post(`${base}/mcp`, retry(state), headers);
    assert.equal(forwarded.status, 201);
    await forwarded.body?.cancel();
    assert.equal(peer.seen[0].body, JSON.stringify(retry(state)));

    const forged = `${port}.${state.split(".")[1]}.AAAA`;
    const stolen = await post(`${base}/mcp`, retry(state, 8), MCP_HEADERS);
    for (
      const [answer, id] of [[await post(`${base}/mcp`, retry(forged), headers), 7], [
        stolen,
        8,
      ]] as const
    ) {
      assert.equal(answer.status, 200);
      const body = await answer.json();
      assert.equal(body.id, id);
      assert.equal(body.error.code, -32602);
      assert.match(body.error.message, /^Invalid requestState/);
    }
    assert.equal(peer.seen.length, 1, "a state that does not open is not forwarded");

    const own = await post(`${base}/mcp`, retry("self.AAAA.BBBB"), headers);
    assert.deepEqual(await own.json(), { local: JSON.stringify(retry("self.AAAA.BBBB")) });
  } finally {
    await forwarder.close();
    await peer.close();
  }
});

Deno.test("a modern child's own request states are never taken for an instance's", async () => {
  const peer = startPeer();
  const forwarder = startForwarder("mcp", { sealsStates: false });
  try {
    const port = await peer.port;
    const body = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { requestState: `${port}.a.b` },
    };
    const answer = await post(`${await forwarder.base}/mcp`, body);
    assert.deepEqual(await answer.json(), { local: JSON.stringify(body) });
    assert.equal(peer.seen.length, 0);
  } finally {
    await forwarder.close();
    await peer.close();
  }
});
