/**
 * The Streamable HTTP transport (`/mcp`) on raw HTTP, against a fake shared server: each
 * status code of the protocol checklist, JSON or event-stream answers, batches, the GET
 * stream, session ends and stateless mode.
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVING_LIMITS } from "../../../../src/config.ts";
import type { Incoming, WireMessage } from "../../../../src/protocol/jsonrpc.ts";
import type { ClientSink, SharedServer } from "../../../../src/core/types.ts";
import { StreamableHttpSessions } from "../../../../src/server/http/streamable_http.ts";
import { SseStream } from "../../../../src/server/http/sse_stream.ts";
import { FakeSharedServer } from "../../../support/fake_shared_server.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../../../support/raw_http.ts";

const MAX_BODY_BYTES = 1024;

interface Endpoint {
  url: string;
  server: FakeSharedServer;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves a session table over real HTTP. */
async function serve(
  options: { stateless?: boolean; keepAliveMs?: number } = {},
  server: SharedServer = new FakeSharedServer(),
): Promise<Endpoint> {
  const table = new StreamableHttpSessions(server, {
    stateless: options.stateless ?? false,
    maxBodyBytes: MAX_BODY_BYTES,
    keepAliveMs: options.keepAliveMs ?? 0,
  });
  const { promise, resolve } = Promise.withResolvers<number>();
  const http = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => resolve(port) },
    (request) => table.handle({ request }),
  );
  const url = `http://127.0.0.1:${await promise}/mcp`;
  return {
    url,
    server: server as FakeSharedServer,
    async [Symbol.asyncDispose]() {
      await table.closeAll();
      await http.shutdown();
    },
  };
}

/** Initialises a session; returns the headers of later requests in it. */
async function initialize(url: string): Promise<Record<string, string>> {
  const init = await post(url, INITIALIZE);
  assert.equal(init.status, 200);
  await init.body?.cancel();
  return {
    ...MCP_HEADERS,
    "mcp-session-id": init.headers.get("mcp-session-id")!,
    "mcp-protocol-version": "2025-06-18",
  };
}

/** The status and JSON-RPC error code of an error answer. */
async function errorOf(response: Response): Promise<[number, number]> {
  const body = await response.json();
  return [response.status, body.error?.code];
}

const ping = (id: number) => ({ jsonrpc: "2.0", id, method: "ping" });
const echoWithProgress = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "echo", arguments: { n: id }, _meta: { progressToken: `p${id}` } },
});

Deno.test("initialize answers JSON with a visible-ASCII session id; a fast call answers JSON", async () => {
  await using s = await serve();
  const init = await post(s.url, INITIALIZE);
  assert.equal(init.status, 200);
  assert.equal(init.headers.get("content-type"), "application/json");
  assert.match(init.headers.get("mcp-session-id") ?? "", /^[\x21-\x7e]{32,}$/);
  assert.equal((await init.json()).result.serverInfo.name, "fake");

  const headers = await initialize(s.url);
  const response = await post(s.url, ping(2), headers);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("mcp-session-id"), headers["mcp-session-id"]);
  assert.deepEqual(await response.json(), { jsonrpc: "2.0", id: 2, result: {} });
});

Deno.test("a call with progress answers an event stream: progress, log, then the result", async () => {
  await using s = await serve();
  const headers = await initialize(s.url);
  const response = await post(s.url, echoWithProgress(3), headers);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("content-type"), "text/event-stream");
  const events = new SseReader(response.body!);
  const progress = await events.nextMessage();
  assert.equal(progress.method, "notifications/progress");
  assert.equal((progress.params as { progressToken: string }).progressToken, "p3");
  assert.equal((await events.nextMessage()).method, "notifications/message");
  assert.equal((await events.nextMessage()).id, 3);
  assert.equal(await events.next(), undefined, "the stream ends after the response");
});

Deno.test("batches: responses only → JSON array; with progress → one event stream", async () => {
  await using s = await serve();
  const headers = await initialize(s.url);
  const plain = await post(
    s.url,
    [ping(4), { jsonrpc: "2.0", method: "x/note" }, ping(5)],
    headers,
  );
  assert.equal(plain.headers.get("content-type"), "application/json");
  const answers: { id: number }[] = await plain.json();
  assert.deepEqual(answers.map((a) => a.id).sort(), [4, 5]);

  const streamed = await post(s.url, [ping(6), echoWithProgress(7)], headers);
  assert.equal(streamed.headers.get("content-type"), "text/event-stream");
  const events = new SseReader(streamed.body!);
  const ids: unknown[] = [];
  for (let event = await events.next(); event; event = await events.next()) {
    const message = JSON.parse(event.data);
    if (message.id !== undefined) ids.push(message.id);
  }
  assert.deepEqual(ids.sort(), [6, 7]);
});

Deno.test("notifications and responses only → 202 Accepted, delivered", async () => {
  await using s = await serve();
  const headers = await initialize(s.url);
  const note = await post(s.url, { jsonrpc: "2.0", method: "notifications/initialized" }, headers);
  assert.equal(note.status, 202);
  await note.body?.cancel();
  const reply = await post(s.url, [{ jsonrpc: "2.0", id: 9, result: {} }], headers);
  assert.equal(reply.status, 202);
  await reply.body?.cancel();
  assert.deepEqual(s.server.received.slice(-2).map((m) => m.method), [
    "notifications/initialized",
    undefined,
  ]);
});

Deno.test("status codes: 400 406 415 413 404 405 and JSON-RPC error bodies", async () => {
  await using s = await serve();
  const headers = await initialize(s.url);
  const cases: [string, Response | Promise<Response>, number, number][] = [
    ["no session id", post(s.url, ping(1)), 400, -32000],
    ["unknown session", post(s.url, ping(1), { ...headers, "mcp-session-id": "x" }), 404, -32001],
    [
      "Accept without SSE",
      post(s.url, ping(1), { ...headers, accept: "application/json" }),
      406,
      -32000,
    ],
    ["no Accept", post(s.url, ping(1), { ...headers, accept: "" }), 406, -32000],
    ["text body", post(s.url, ping(1), { ...headers, "content-type": "text/plain" }), 415, -32000],
    ["malformed JSON", post(s.url, "{nope", headers), 400, -32700],
    ["not JSON-RPC", post(s.url, { hello: "world" }, headers), 400, -32600],
    ["empty batch", post(s.url, [], headers), 400, -32600],
    [
      "bad version",
      post(s.url, ping(1), { ...headers, "mcp-protocol-version": "1999-01-01" }),
      400,
      -32000,
    ],
    ["over the limit", post(s.url, "x".repeat(MAX_BODY_BYTES + 1), headers), 413, -32000],
    [
      "over the limit, chunked",
      fetch(s.url, {
        method: "POST",
        headers,
        body: ReadableStream.from([new TextEncoder().encode("x".repeat(MAX_BODY_BYTES + 1))]),
      }),
      413,
      -32000,
    ],
    [
      "GET without SSE",
      fetch(s.url, { headers: { ...headers, accept: "application/json" } }),
      406,
      -32000,
    ],
    [
      "GET without session",
      fetch(s.url, { headers: { accept: "text/event-stream" } }),
      400,
      -32000,
    ],
    ["PUT", fetch(s.url, { method: "PUT", headers, body: "{}" }), 405, -32000],
    ["initialize twice in a batch", post(s.url, [INITIALIZE, INITIALIZE]), 400, -32600],
  ];
  for (const [what, response, status, code] of cases) {
    assert.deepEqual(await errorOf(await response), [status, code], what);
  }
  // The session survived all that.
  assert.equal((await post(s.url, ping(2), headers)).status, 200);
});

Deno.test("GET stream: unrelated server messages, one stream per session (409), DELETE ends it", async () => {
  await using s = await serve();
  const headers = await initialize(s.url);
  const get = await fetch(s.url, { headers: { ...headers, accept: "text/event-stream" } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get("content-type"), "text/event-stream");
  const second = await fetch(s.url, { headers: { ...headers, accept: "text/event-stream" } });
  assert.equal(second.status, 409);
  await second.body?.cancel();

  const changed = { jsonrpc: "2.0", method: "notifications/tools/list_changed" } as const;
  await s.server.sinks[0].send(changed);
  const events = new SseReader(get.body!);
  assert.deepEqual(await events.nextMessage(), changed);

  const del = await fetch(s.url, { method: "DELETE", headers });
  assert.equal(del.status, 200);
  await del.body?.cancel();
  assert.equal(await events.next(), undefined, "the stream ends with the session");
  assert.equal(s.server.sessions, 0);
  const after = await post(s.url, ping(1), headers);
  assert.deepEqual(await errorOf(after), [404, -32001]);
});

Deno.test("GET stream: keep-alive comments while idle", async () => {
  await using s = await serve({ keepAliveMs: 30 });
  const headers = await initialize(s.url);
  const get = await fetch(s.url, { headers: { ...headers, accept: "text/event-stream" } });
  const reader = get.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes(": ping")) text += (await reader.read()).value;
  } finally {
    await reader.cancel();
  }
});

/** A stand-in shared server whose sessions hand each client message to `onMessage`. */
class StubServer implements SharedServer {
  readonly name = "stub";
  readonly limits = DEFAULT_SERVING_LIMITS;
  readonly state = "running";
  readonly era = "legacy" as const;
  readonly sinks: ClientSink[] = [];
  readonly received: WireMessage[] = [];
  sessions = 0;
  start = () => Promise.resolve();
  stop = () => Promise.resolve();
  onStateChange = () => () => {};
  constructor(readonly onMessage: (sink: ClientSink, message: WireMessage) => void) {}
  openSession(sink: ClientSink) {
    this.sinks.push(sink);
    this.sessions++;
    return {
      receive: ({ message }: Incoming) => {
        this.received.push(message);
        this.onMessage(sink, message);
      },
      close: () => void this.sessions--,
    };
  }
}

Deno.test("DELETE answers the session's requests in flight with an error, not a hang", async () => {
  // It never answers: requests stay in flight.
  const silent = new StubServer(() => {});
  await using s = await serve({}, silent);
  const init = post(s.url, INITIALIZE);
  // Answer the initialize by hand: the silent server does not.
  while (silent.sinks.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const result = { protocolVersion: "2025-06-18", capabilities: {}, serverInfo: { name: "s" } };
  await silent.sinks[0].send({ jsonrpc: "2.0", id: 1, result }, 1);
  const headers = {
    ...MCP_HEADERS,
    "mcp-session-id": (await init).headers.get("mcp-session-id")!,
  };
  const call = post(s.url, ping(2), headers);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const del = await fetch(s.url, { method: "DELETE", headers });
  assert.equal(del.status, 200);
  const answer = await (await call).json();
  assert.equal(answer.id, 2);
  assert.equal(answer.error.message, "Session ended");
  assert.equal(silent.sessions, 0);
});

Deno.test("--stateless: JSON answers, no session id, GET and DELETE 405, sessions all ended", async () => {
  await using s = await serve({ stateless: true });
  const response = await post(s.url, ping(1));
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.equal(response.headers.get("mcp-session-id"), null);
  assert.deepEqual(await response.json(), { jsonrpc: "2.0", id: 1, result: {} });
  const streamed = await post(s.url, echoWithProgress(2));
  assert.equal(streamed.headers.get("content-type"), "text/event-stream");
  await streamed.text();
  const note = await post(s.url, { jsonrpc: "2.0", method: "notifications/initialized" });
  assert.equal(note.status, 202);
  await note.body?.cancel();
  for (const method of ["GET", "DELETE"]) {
    const r = await fetch(s.url, { method, headers: { accept: "text/event-stream" } });
    assert.equal(r.status, 405, method);
    assert.equal(r.headers.get("allow"), "POST");
    await r.body?.cancel();
  }
  assert.equal(s.server.sessions, 0);
});

Deno.test("an event stream whose client stops reading is dropped, not buffered without bound", async () => {
  const ends: string[] = [];
  const stream = new SseStream((reason) => ends.push(reason), 1 << 20);
  const big = { jsonrpc: "2.0", method: "x", params: { data: "x".repeat(100_000) } } as const;
  let taken = 0;
  while (stream.send(big)) taken++;
  assert.ok(taken >= 10 && taken <= 12, `${taken} messages queued`);
  assert.deepEqual(ends, ["dropped"]);
  await assert.rejects(stream.body.getReader().read(), /client not reading/);
});

Deno.test("--stateless: a request answered at once leaves the rest of its batch delivered", async () => {
  // Answers requests synchronously, as the multiplexer does for ping and initialize.
  const eager = new StubServer((sink, { id, method }) => {
    if (id != null && method !== undefined) sink.send({ jsonrpc: "2.0", id, result: {} }, id);
  });
  await using s = await serve({ stateless: true }, eager);
  const batch = await post(s.url, [ping(3), { jsonrpc: "2.0", method: "x/after" }]);
  assert.deepEqual(await batch.json(), [{ jsonrpc: "2.0", id: 3, result: {} }]);
  assert.deepEqual(eager.received.map((m) => m.method), [
    "ping",
    "x/after",
  ]);
  assert.equal(eager.sessions, 0);
});
