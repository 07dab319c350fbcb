/**
 * Hostile clients on the real process (issue 16), against the relay fixture as the child:
 * requests that reuse ids in flight, clients that vanish before their answer, stateless
 * clients that cannot answer a server-to-client request, and notifications that must reach
 * only the session they belong to.
 */
import assert from "node:assert/strict";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../support/raw_http.ts";
import { FIXTURE_SERVER } from "../support/relay_servers.ts";
import { startProxy } from "../support/process.ts";
import { type ServedProxy, startServerProxy } from "../support/server_proxy.ts";

/** The proxy's arguments that make the relay fixture the default server. */
const FIXTURE_ARGS = ["--", Deno.execPath(), "run", "--quiet", "--no-check", FIXTURE_SERVER];

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };

/** A `tools/call` request of the fixture's tool `name`. */
function call(id: number, name: string, args: Record<string, unknown> = {}) {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
}

/** Opens a Streamable HTTP session; returns the headers of its later requests. */
async function mcpSession(url: string): Promise<Record<string, string>> {
  const init = await post(url, INITIALIZE);
  await init.body?.cancel();
  const headers = {
    ...MCP_HEADERS,
    "mcp-session-id": init.headers.get("mcp-session-id")!,
    "mcp-protocol-version": "2025-06-18",
  };
  const initialized = await post(url, INITIALIZED, headers);
  await initialized.body?.cancel();
  return headers;
}

/** A legacy SSE session: POSTs messages, reads what its stream carries. */
interface SseSession {
  /** The URL its messages are POSTed to. */
  readonly messages: string;
  send(message: unknown): Promise<void>;
  next(): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Opens an SSE session and initialises it. */
async function sseSession(proxy: ServedProxy): Promise<SseSession> {
  const events = new SseReader((await fetch(proxy.sse.default)).body!);
  const messages = new URL((await events.next())!.data, proxy.base).href;
  const session: SseSession = {
    messages,
    async send(message) {
      const response = await post(messages, message, { "content-type": "application/json" });
      await response.body?.cancel();
      assert.equal(response.status, 202);
    },
    next: () => events.nextMessage(),
    close: () => events.cancel(),
  };
  await session.send(INITIALIZE);
  assert.equal((await session.next()).id, INITIALIZE.id);
  await session.send(INITIALIZED);
  return session;
}

/** The fixture's record of what it saw (its `stats` tool). */
async function fixtureStats(
  url: string,
): Promise<{ requestIds: unknown[]; cancelled: unknown[]; unsubscribed: string[] }> {
  const headers = await mcpSession(url);
  const answer = await (await post(url, call(1, "stats"), headers)).json();
  return JSON.parse(answer.result.content[0].text);
}

Deno.test("a request id still in flight, or repeated in a batch, is refused with -32600 (/mcp and /sse)", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  const waiting = new AbortController();
  const first = fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(call(5, "wait")),
    signal: waiting.signal,
  }).catch(() => undefined);
  // The fixture saw the first request once the stats call (after it on stdin) is answered.
  await fixtureStats(url);

  const again = await post(url, call(5, "echo"), headers);
  assert.equal(again.status, 400);
  const refusal = await again.json();
  assert.equal(refusal.id, 5);
  assert.equal(refusal.error.code, -32600);

  const batch = await post(url, [call(7, "echo"), call(7, "echo")], headers);
  assert.equal(batch.status, 400);
  assert.equal((await batch.json()).error.code, -32600);
  waiting.abort();
  await first;

  const sse = await sseSession(proxy);
  await sse.send(call(5, "wait"));
  await sse.send(call(5, "echo"));
  const answer = await sse.next();
  assert.equal(answer.id, 5);
  assert.equal((answer.error as { code: number }).code, -32600);
  await sse.close();
});

Deno.test("an answer reaches the client as the child wrote it, only its id changed (/mcp JSON, batch, /sse)", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  // The fixture writes "caf\u00e9": serialized again, it would read "café".
  const escaped = "caf\\u00e9";
  for (const last of [false, true]) {
    const text = await (await post(url, call(41, "escaped", { last }), headers)).text();
    assert.ok(
      text.includes(escaped),
      `the child's text is passed on (id ${last ? "last" : "first"})`,
    );
    const answer = JSON.parse(text);
    assert.equal(answer.id, 41);
    assert.equal(answer.result.content[0].text, "café");
  }
  const batch = [call(42, "escaped"), call(43, "escaped", { last: true })];
  const text = await (await post(url, batch, headers)).text();
  assert.equal(text.split(escaped).length, 3, "both answers as the child wrote them");
  assert.deepEqual(JSON.parse(text).map((answer: { id: number }) => answer.id).sort(), [42, 43]);

  const events = new SseReader((await fetch(proxy.sse.default)).body!);
  const messages = new URL((await events.next())!.data, proxy.base).href;
  for (const message of [INITIALIZE, INITIALIZED, call(44, "escaped")]) {
    await (await post(messages, message, { "content-type": "application/json" })).body?.cancel();
  }
  assert.equal(JSON.parse((await events.next())!.data).id, INITIALIZE.id);
  const event = (await events.next())!.data;
  assert.ok(event.includes(escaped));
  assert.equal(JSON.parse(event).id, 44);
  await events.cancel();
});

Deno.test("an answer whose id the child wrote twice reaches the client with only the client's id", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  for (const last of [false, true]) {
    const text = await (await post(url, call(51, "escaped", { last, repeat: true }), headers))
      .text();
    // Rewriting only the id at one end would leave the child's (the proxy's) id at the other,
    // where a parser keeping that key would read it.
    assert.equal(text.split('"id"').length, 2, `one id member (id ${last ? "last" : "first"})`);
    assert.ok(!text.includes("\\u00"), "serialized again");
    assert.equal(JSON.parse(text).id, 51);
  }
});

Deno.test("a request reaches the child as the client wrote it, only its id changed (/mcp, /sse)", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  // An escape JSON.stringify would not write, and an integer a parse would round.
  const args = '{"path":"a\\/b","big":12345678901234567890}';
  /** The line the fixture read for a `line` call written as `body`. */
  const lineRead = async (response: Response) =>
    JSON.parse(await response.text()).result.content[0].text as string;
  const lead =
    `{"jsonrpc":"2.0","id":51,"method":"tools/call","params":{"name":"line","arguments":${args}}}`;
  const tail =
    `{"method":"tools/call","params":{"name":"line","arguments":${args}},"jsonrpc":"2.0","id":52}`;
  for (const body of [lead, tail]) {
    const line = await lineRead(await post(url, body, headers));
    const id = JSON.parse(line).id;
    assert.equal(typeof id, "number");
    assert.equal(
      line,
      body.replace(/"id":5\d/, `"id":${id}`),
      "the client's bytes, the proxy's id",
    );
  }
  // Pretty-printed (line breaks between tokens): the child still gets one line, serialized again.
  const pretty = JSON.stringify(JSON.parse(lead.replace('"id":51', '"id":53')), null, 2);
  const line = await lineRead(await post(url, pretty, headers));
  assert.ok(!line.includes("\n") && line.includes('"path":"a/b"'), line);
  // A repeated method: the proxy routes by the last, as its parser keeps; the child must get
  // that one alone, not a text a parser keeping the first would read as initialize.
  const twoMethods = '{"jsonrpc":"2.0","id":55,"method":"initialize",' +
    '"params":{"name":"line","arguments":{}},"method":"tools/call"}';
  const routed = await lineRead(await post(url, twoMethods, headers));
  assert.equal(routed.split('"method"').length, 2, routed);
  assert.equal(JSON.parse(routed).method, "tools/call");

  const sse = await sseSession(proxy);
  await sse.send(INITIALIZE);
  await sse.next();
  await sse.send(tail.replace('"id":52', '"id":54'));
  const answer = await sse.next();
  assert.equal(answer.id, 54);
  const sseLine = (answer.result as { content: { text: string }[] }).content[0].text;
  assert.ok(sseLine.includes(args), sseLine);
  await sse.close();
});

Deno.test("--stateless: a server-to-client request is refused to the child at once, so the call ends", async () => {
  await using proxy = await startServerProxy(["--stateless", ...FIXTURE_ARGS]);
  const url = proxy.mcp.default;
  const init = await post(url, INITIALIZE);
  await init.body?.cancel();
  // The fixture's "sample" asks the client for a message and answers with what it got. Bounded:
  // before the fix the answer never came.
  const response = await fetch(url, {
    method: "POST",
    headers: { ...MCP_HEADERS, "mcp-protocol-version": "2025-06-18" },
    body: JSON.stringify(call(2, "sample")),
    signal: AbortSignal.timeout(15_000),
  });
  assert.equal(response.headers.get("content-type"), "application/json");
  const answer = await response.json();
  const sampled = JSON.parse(answer.result.content[0].text);
  assert.equal(sampled.error.code, -32603);
  assert.match(sampled.error.message, /sampling\/createMessage.*stateless/);
});

/** A `tools/call` of the fixture's "notify": it writes `method` with `params`, then answers. */
function notifyCall(id: number, method: string, params: Record<string, unknown> = {}) {
  return call(id, "notify", { method, params });
}

Deno.test("a log message or an unknown notification during A's call reaches A only; list_changed reaches all", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const [a, b] = [await sseSession(proxy), await sseSession(proxy)];
  await a.send(notifyCall(2, "notifications/message", { level: "info", data: "A-only" }));
  assert.equal((await a.next()).method, "notifications/message");
  assert.equal((await a.next()).id, 2);
  await a.send(notifyCall(3, "notifications/custom", { data: "A-only" }));
  assert.equal((await a.next()).method, "notifications/custom");
  assert.equal((await a.next()).id, 3);
  await a.send(notifyCall(4, "notifications/tools/list_changed"));
  // B's first message after its initialize: what was A's alone came before it, if anything.
  assert.equal((await b.next()).method, "notifications/tools/list_changed");
  await Promise.all([a.close(), b.close()]);
});

Deno.test("resources/unsubscribe of a URI the session never subscribed leaves another's subscription upstream", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const [a, b] = [await sseSession(proxy), await sseSession(proxy)];
  const uri = "file:///b-only";
  await b.send({ jsonrpc: "2.0", id: 2, method: "resources/subscribe", params: { uri } });
  assert.deepEqual((await b.next()).result, {});
  await a.send({ jsonrpc: "2.0", id: 2, method: "resources/unsubscribe", params: { uri } });
  assert.deepEqual((await a.next()).result, {});
  assert.deepEqual((await fixtureStats(proxy.mcp.default)).unsubscribed, []);
  await Promise.all([a.close(), b.close()]);
});

/** How many TCP connections to `port` sit in CLOSE-WAIT (Linux: /proc/net/tcp and tcp6). */
async function closeWaitCount(port: number): Promise<number> {
  const local = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  let count = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const table = await Deno.readTextFile(file).catch(() => "");
    for (const line of table.split("\n").slice(1)) {
      const [, localAddress, , state] = line.trim().split(/\s+/);
      if (localAddress?.endsWith(local) && state === "08") count++;
    }
  }
  return count;
}

/** Polls `attempt` every 20 ms until it returns true; false after `timeoutMs`. */
async function eventually(attempt: () => Promise<boolean>, timeoutMs = 5_000): Promise<boolean> {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    if (await attempt()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}

Deno.test("a /mcp client that disconnects before its answer: socket closed, exchange freed, child told", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = new URL(proxy.mcp.default);
  const headers = await mcpSession(url.href);
  const body = JSON.stringify(call(9, "wait"));
  const before = (await fixtureStats(url.href)).requestIds.length;
  const conn = await Deno.connect({ hostname: url.hostname, port: Number(url.port) });
  const head = Object.entries({ ...headers, host: url.host, "content-length": body.length })
    .map(([name, value]) => `${name}: ${value}\r\n`).join("");
  await conn.write(new TextEncoder().encode(`POST ${url.pathname} HTTP/1.1\r\n${head}\r\n${body}`));
  // Each look at the stats is one request more: the call was forwarded once there is another.
  let looks = 0;
  assert.ok(
    await eventually(async () =>
      (await fixtureStats(url.href)).requestIds.length - ++looks > before
    ),
    "the call was never forwarded",
  );
  conn.close();

  assert.ok(
    await eventually(async () => (await fixtureStats(url.href)).cancelled.length === 1),
    "the child was never told of the cancellation",
  );
  assert.ok(
    await eventually(async () => await closeWaitCount(Number(url.port)) === 0),
    "the socket stayed in CLOSE-WAIT",
  );
  // The exchange was freed: the id is free to use again.
  const reused = await post(url.href, call(9, "echo"), headers);
  assert.equal(reused.status, 200);
  assert.equal((await reused.json()).id, 9);
  assert.doesNotMatch(proxy.process.stderr, /request\.signal/);
});

Deno.test("--request-timeout: a request unanswered in time gets -32001, and the child a cancellation", async () => {
  await using proxy = await startServerProxy(["--request-timeout", "1", ...FIXTURE_ARGS]);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: JSON.stringify(call(3, "wait")),
    signal: AbortSignal.timeout(15_000),
  });
  const answer = await response.json();
  assert.equal(answer.id, 3);
  assert.equal(answer.error.code, -32001);
  assert.match(answer.error.message, /--request-timeout/);
  assert.equal((await fixtureStats(url)).cancelled.length, 1);
});

Deno.test("params that are a string, an array or null, and a _meta that is no object, are refused at the edge with the id", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const headers = await mcpSession(url);
  const sse = await sseSession(proxy);
  const bad = [
    { params: "text", code: -32602 },
    { params: [1, 2], code: -32602 },
    { params: null, code: -32602 },
    { params: { _meta: "not an object" }, code: -32602 },
    { params: { _meta: [1] }, code: -32602 },
  ];
  for (const [i, { params, code }] of bad.entries()) {
    const request = { jsonrpc: "2.0", id: 100 + i, method: "tools/call", params };
    for (
      const [where, target, requestHeaders] of [["/mcp", url, headers], [
        "/messages/",
        sse.messages,
        { "content-type": "application/json" },
      ]] as const
    ) {
      const response = await post(target, request, requestHeaders);
      assert.equal(response.status, 400, `${where} ${JSON.stringify(params)}`);
      const error = await response.json();
      assert.deepEqual([error.id, error.error.code], [100 + i, code], where);
    }
  }
  const notRpc = await post(url, { jsonrpc: "1.0", id: 7, method: "tools/call" }, headers);
  assert.equal(notRpc.status, 400);
  assert.deepEqual(((await notRpc.json()) as { error: { code: number } }).error.code, -32600);
  await sse.close();
});

Deno.test("--session-timeout: an unused Streamable HTTP session ends; one with a GET stream open stays", async () => {
  await using proxy = await startServerProxy(["--session-timeout", "3", ...FIXTURE_ARGS]);
  const url = proxy.mcp.default;
  // A version the proxy does not speak is refused (400) before the session counts as used;
  // an ended session is not found (404).
  const probe = async (headers: Record<string, string>) => {
    const response = await post(url, call(1, "echo"), {
      ...headers,
      "mcp-protocol-version": "1999-01-01",
    });
    await response.body?.cancel();
    return response.status;
  };
  const unused = await mcpSession(url);
  assert.equal(await probe(unused), 400);
  const listening = await mcpSession(url);
  // Not awaited: some servers send a stream's headers only with its first bytes.
  const hangUp = new AbortController();
  const stream = fetch(url, {
    headers: { ...listening, accept: "text/event-stream" },
    signal: hangUp.signal,
  }).catch(() => undefined);
  assert.ok(await eventually(async () => await probe(unused) === 404, 15_000), "never ended");
  assert.equal(await probe(listening), 400, "a session with its GET stream open was ended");
  hangUp.abort();
  await stream;
});

/** Sends the head of a POST to `path` announcing `length` bytes, a few of them, and hangs up. */
async function abortedUpload(base: string, path: string, length = 100_000): Promise<void> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const head = `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\n` +
    `content-type: application/json\r\naccept: application/json, text/event-stream\r\n` +
    `content-length: ${length}\r\n\r\n{"jsonrpc":"2.0",`;
  await conn.write(new TextEncoder().encode(head));
  conn.close();
}

Deno.test("logs: an aborted upload is one line without a stack, session ids are masked, one line per event", async () => {
  await using proxy = await startServerProxy(["--debug", ...FIXTURE_ARGS]);
  const sse = await sseSession(proxy);
  const sseId = new URL(sse.messages).searchParams.get("session_id")!;
  const init = await post(proxy.mcp.default, INITIALIZE);
  await init.body?.cancel();
  const mcpId = init.headers.get("mcp-session-id")!;
  for (const path of ["/mcp", new URL(sse.messages).pathname + new URL(sse.messages).search]) {
    for (let i = 0; i < 3; i++) await abortedUpload(proxy.base, path);
  }
  // The proxy still serves, and has logged whatever it logs about the uploads by then.
  assert.equal((await fixtureStats(proxy.mcp.default)).unsubscribed.length, 0);
  await sse.close();
  await new Promise((resolve) => setTimeout(resolve, 200));
  const log = proxy.process.stderr;
  assert.doesNotMatch(log, /^\[E /m, "an ERROR line");
  assert.doesNotMatch(log, /^\s+at /m, "a stack trace");
  assert.ok(!log.includes(mcpId), "the /mcp session id is logged");
  assert.ok(!log.includes(sseId), "the /sse session id is logged");
  const lines = log.split("\n").filter((line) => line !== "");
  const stray = lines.filter((line) => !/^\[[DIWEC] \d{4}-|^\[default\] /.test(line));
  assert.deepEqual(stray, [], "every line is one event of the proxy's or the child's");
});

Deno.test("a server that never answers initialize does not keep the port closed: it shows starting", async () => {
  const proxy = startProxy(["--named-server", "silent", "sleep 600", ...FIXTURE_ARGS]);
  try {
    // Listening comes first (before, nothing listened until the silent child had failed its
    // 5 s probe and 60 s initialize).
    const [, base] = await proxy.waitForStderr(/Listening on (http:\S+);/);
    const status = await (await fetch(`${base}/status`)).json();
    assert.equal(status.server_instances.silent, "starting");
    const init = await post(`${base}/mcp`, INITIALIZE);
    assert.equal(init.status, 200);
    await init.body?.cancel();
  } finally {
    await proxy.stop();
  }
});
