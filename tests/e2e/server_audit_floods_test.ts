/**
 * Floods of subscriptions and of multi round-trip calls against the real process: what one
 * client can make the proxy (and its child) hold or send is bounded, a client past a bound gets
 * a JSON-RPC error, and the proxy keeps serving. Also: a `requestState` opens only the round it
 * was handed for, and only under the credential it was handed to.
 */
import assert from "node:assert/strict";
import { MAX_LISTEN_URIS } from "../../src/core/listen_stream.ts";
import { MAX_SUBSCRIPTIONS_PER_SESSION } from "../../src/core/subscriptions.ts";
import { MAX_CHILD_SUBSCRIPTIONS, URIS_PER_LISTEN_STREAM } from "../../src/core/modern_adapter.ts";
import { envelope, modernHeaders, modernPost } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../support/raw_http.ts";
import { startServerProxy } from "../support/server_proxy.ts";

/** A modern child that counts what its listen streams cost it. */
const MODERN_ARGS = ["--", "node", `${ROOT}tests/fixtures/modern_listen_server.mjs`];
/** A legacy child whose `ask` tool asks the client, naming the call by its progress token. */
const ASKING_ARGS = ["--", "node", `${ROOT}tests/fixtures/era_legacy_server.mjs`];

type Json = Record<string, unknown>;
// deno-lint-ignore no-explicit-any -- the tests read fields of loosely typed messages
type Any = any;

/** A modern `tools/call` of `name`'s answer; `extra` goes into its params. */
async function callTool(
  url: string,
  id: number,
  name: string,
  { args = {}, extra = {}, headers = {}, meta = {} }: {
    args?: Json;
    extra?: Json;
    headers?: Record<string, string>;
    meta?: Json;
  } = {},
): Promise<Any> {
  const params = {
    name,
    arguments: args,
    _meta: { ...envelope({ elicitation: {} }), ...meta },
    ...extra,
  };
  return (await modernPost(url, { id, method: "tools/call", params }, headers)).body;
}

/** What the modern fixture's listen streams cost it so far. */
async function childStats(url: string): Promise<
  { listens: number; urisReceived: number; open: number; openUris: number }
> {
  const answer = await callTool(url, 9_999, "stats");
  return JSON.parse(answer.result.content[0].text);
}

const urisUpTo = (count: number, prefix = "file:///data") =>
  Array.from({ length: count }, (_, i) => `${prefix}/resource-${i}.txt`);

/** A `subscriptions/listen` request for `uris`. */
function listen(id: number, uris: string[]): Json {
  return {
    jsonrpc: "2.0",
    id,
    method: "subscriptions/listen",
    params: { notifications: { resourceSubscriptions: uris }, _meta: envelope() },
  };
}

Deno.test("a subscriptions/listen naming 8,500 URIs gets -32602, and the proxy keeps serving", async () => {
  await using proxy = await startServerProxy(MODERN_ARGS);
  const url = proxy.mcp.default;
  const refused: Any = (await modernPost(url, listen(1, urisUpTo(8_500)))).body;
  assert.deepEqual(refused.id, 1);
  assert.deepEqual(refused.error.code, -32602);
  assert.deepEqual(refused.error.data, { maxResourceSubscriptions: MAX_LISTEN_URIS });
  assert.match(refused.error.message, /at most 1000 resource URIs; this one names 8500/);
  // Nothing of it reached the child; the proxy answers the next request.
  assert.deepEqual((await childStats(url)).urisReceived, 0);
});

Deno.test("a listen at the cap sends the child each URI once, and its updates arrive", async () => {
  await using proxy = await startServerProxy(MODERN_ARGS);
  const url = proxy.mcp.default;
  const uris = urisUpTo(MAX_LISTEN_URIS);
  const request = listen(7, uris);
  const response = await post(url, request, modernHeaders(request));
  const events = new SseReader(response.body!);
  try {
    const acknowledged = await events.nextMessage() as Any;
    assert.deepEqual(acknowledged.method, "notifications/subscriptions/acknowledged");
    assert.deepEqual(acknowledged.params.notifications.resourceSubscriptions.length, uris.length);
    const stats = await childStats(url);
    // One stream for list changes, and streams of at most URIS_PER_LISTEN_STREAM URIs.
    assert.deepEqual(stats.urisReceived, uris.length, "each URI sent once (was N²/2)");
    assert.deepEqual(stats.openUris, uris.length);
    assert.ok(stats.listens <= 1 + Math.ceil(uris.length / URIS_PER_LISTEN_STREAM));
    await callTool(url, 2, "touch", { args: { uri: uris.at(-1) } });
    const updated = await events.nextMessage() as Any;
    assert.deepEqual(updated.method, "notifications/resources/updated");
    assert.deepEqual(updated.params.uri, uris.at(-1));
    assert.deepEqual(updated.params._meta["io.modelcontextprotocol/subscriptionId"], 7);
  } finally {
    await events.cancel();
  }
});

/** Opens a legacy Streamable HTTP session; returns the headers of its later requests. */
async function legacySession(url: string): Promise<Record<string, string>> {
  const init = await post(url, INITIALIZE);
  await init.body?.cancel();
  return {
    ...MCP_HEADERS,
    "mcp-session-id": init.headers.get("mcp-session-id")!,
    "mcp-protocol-version": "2025-06-18",
  };
}

const subscribe = (id: number, uri: string) => ({
  jsonrpc: "2.0",
  id,
  method: "resources/subscribe",
  params: { uri },
});

/** The messages of a legacy POST's answer (one, or a batch's). */
async function legacyAnswers(response: Response): Promise<Any[]> {
  const text = await response.text();
  if (!response.headers.get("content-type")?.startsWith("text/event-stream")) {
    return [JSON.parse(text)].flat();
  }
  return text.split("\n").filter((line) => line.startsWith("data: ")).map((line) =>
    JSON.parse(line.slice(6))
  ).flat();
}

Deno.test("legacy subscriptions one by one cost the child one stream each; a child holds at most 10,000", async () => {
  await using proxy = await startServerProxy(MODERN_ARGS);
  const url = proxy.mcp.default;
  const single = await legacySession(url);
  const oneByOne = 300;
  for (let i = 0; i < oneByOne; i++) {
    const [answer] = await legacyAnswers(await post(url, subscribe(i, `file:///one/${i}`), single));
    assert.deepEqual(answer.result, {});
  }
  const { urisReceived } = await childStats(url);
  // Each change re-sends its own stream only (was every URI subscribed so far: 45,150).
  assert.ok(urisReceived <= oneByOne * URIS_PER_LISTEN_STREAM, `${urisReceived} URIs sent`);

  // Sessions of 1,000 each, in batches of 100, up to the child's cap; one more is refused.
  const perSession = 1_000;
  const perBatch = 100;
  for (let held = oneByOne; held < MAX_CHILD_SUBSCRIPTIONS; held += perSession) {
    const count = Math.min(perSession, MAX_CHILD_SUBSCRIPTIONS - held);
    const requests = urisUpTo(count, `file:///batch-${held}`).map((uri, i) => subscribe(i, uri));
    const session = await legacySession(url);
    for (let start = 0; start < count; start += perBatch) {
      const batch = requests.slice(start, start + perBatch);
      const answers = await legacyAnswers(await post(url, batch, session));
      assert.ok(answers.every((answer) => answer.error === undefined), JSON.stringify(answers[0]));
    }
  }
  const [refused] = await legacyAnswers(
    await post(url, subscribe(1, "file:///one-too-many"), await legacySession(url)),
  );
  assert.deepEqual(refused.error.code, -32603);
  assert.match(refused.error.message, /at most 10000 resources of one server/);
  const stats = await childStats(url);
  assert.deepEqual(stats.openUris, MAX_CHILD_SUBSCRIPTIONS);
});

Deno.test("calls waiting for input are capped per client: the 101st of one API key gets -32603, another key's still waits", async () => {
  await using proxy = await startServerProxy([
    "--api-key",
    "alice-key",
    "--api-key",
    "bob-key",
    ...ASKING_ARGS,
  ]);
  const url = proxy.mcp.default;
  const perClient = 100;
  const keys = [...Array(perClient + 1).fill("alice-key"), "bob-key"];
  // The child asks once every call reached it: each question names its call.
  const answers = await Promise.all(keys.map((key, i) =>
    callTool(url, i + 1, "ask", {
      args: { together: keys.length },
      headers: { "x-api-key": key },
      meta: { progressToken: `p${i + 1}` },
    })
  ));
  const outcome = (answer: Any) => answer.result?.resultType ?? answer.error.code;
  const alice = answers.slice(0, -1).map(outcome);
  assert.deepEqual(alice.filter((o) => o === "input_required").length, perClient);
  const refused = answers.slice(0, -1).find((answer) => answer.error);
  assert.deepEqual(refused.error.code, -32603);
  assert.match(refused.error.message, /this client already has 100 calls waiting for its input/);
  assert.deepEqual(outcome(answers.at(-1)), "input_required", "bob's call is not alice's");
});

/** Proxy arguments: two API keys in front of the asking child. */
const TWO_KEYS = ["--api-key", "alice-key", "--api-key", "bob-key", ...ASKING_ARGS];

Deno.test("a requestState of round 1 is refused once round 2 was asked", async () => {
  await using proxy = await startServerProxy(TWO_KEYS);
  const url = proxy.mcp.default;
  const headers = { authorization: "Bearer alice-key" };
  const accept = (key: string) => ({ [key]: { action: "accept", content: { name: "A" } } });
  const first = await callTool(url, 1, "ask", { args: { rounds: 2 }, headers });
  const round1 = first.result;
  const [key1] = Object.keys(round1.inputRequests);
  const second = await callTool(url, 2, "ask", {
    args: { rounds: 2 },
    headers,
    extra: { requestState: round1.requestState, inputResponses: accept(key1) },
  });
  const round2 = second.result;
  assert.deepEqual(round2.resultType, "input_required");
  const replayed = await callTool(url, 3, "ask", {
    args: { rounds: 2 },
    headers,
    extra: { requestState: round1.requestState, inputResponses: accept(key1) },
  });
  assert.deepEqual([replayed.id, replayed.error?.code], [3, -32602]);
  const [key2] = Object.keys(round2.inputRequests);
  const done = await callTool(url, 4, "ask", {
    args: { rounds: 2 },
    headers,
    extra: { requestState: round2.requestState, inputResponses: accept(key2) },
  });
  assert.deepEqual(done.result.resultType, "complete");
});

Deno.test("a requestState handed to one API key is refused under another", async () => {
  await using proxy = await startServerProxy(TWO_KEYS);
  const url = proxy.mcp.default;
  const first = await callTool(url, 1, "ask", { headers: { "x-api-key": "alice-key" } });
  const { requestState, inputRequests } = first.result;
  const [key] = Object.keys(inputRequests);
  const extra = {
    requestState,
    inputResponses: { [key]: { action: "accept", content: { name: "A" } } },
  };
  const stolen = await callTool(url, 2, "ask", { headers: { "x-api-key": "bob-key" }, extra });
  assert.deepEqual([stolen.id, stolen.error?.code], [2, -32602]);
  // The call still waits for its own client.
  const done = await callTool(url, 3, "ask", { headers: { "x-api-key": "alice-key" }, extra });
  assert.deepEqual(done.result.resultType, "complete");
  assert.match(done.result.content[0].text, /"name":"A"/);
});

Deno.test("one legacy session holds at most 1,000 subscriptions: the next gets -32602, another session's still go", async () => {
  await using proxy = await startServerProxy(MODERN_ARGS);
  const url = proxy.mcp.default;
  const session = await legacySession(url);
  const requests = urisUpTo(MAX_SUBSCRIPTIONS_PER_SESSION, "file:///mine").map((uri, i) =>
    subscribe(i, uri)
  );
  for (let start = 0; start < requests.length; start += 100) {
    const answers = await legacyAnswers(
      await post(url, requests.slice(start, start + 100), session),
    );
    assert.ok(answers.every((answer) => answer.error === undefined), JSON.stringify(answers[0]));
  }
  const [refused] = await legacyAnswers(await post(url, subscribe(1, "file:///one-more"), session));
  assert.deepEqual(refused.error.code, -32602);
  assert.match(refused.error.message, /a session may subscribe to at most 1000 resources/);
  // One it holds already is no new subscription; another session is not held back.
  const [again] = await legacyAnswers(
    await post(url, subscribe(2, "file:///mine/resource-0.txt"), session),
  );
  assert.deepEqual(again.result, {});
  const [other] = await legacyAnswers(
    await post(url, subscribe(3, "file:///one-more"), await legacySession(url)),
  );
  assert.deepEqual(other.result, {});
});
