/**
 * The multiplexer in-process, against a fake upstream that records what it is sent and for
 * which session: its state machine (waiting, refusing, open), the handshake record each
 * forwarded request carries, and odd messages from the upstream.
 */
import assert from "node:assert/strict";
import type { Logger } from "../../../src/io/log.ts";
import type { SessionContext } from "../../../src/protocol/handshake.ts";
import { Multiplexer, type Upstream } from "../../../src/core/multiplexer.ts";
import type { MuxSession } from "../../../src/core/types.ts";
import type { RequestId, WireMessage } from "../../../src/protocol/jsonrpc.ts";
import { classify, type Incoming } from "../../../src/protocol/jsonrpc.ts";
import { incoming } from "../../support/messages.ts";

/** What the fake upstream was sent: a message, the session it was sent for, its text if kept. */
interface Sent {
  message: WireMessage;
  session: SessionContext | undefined;
  text: string | undefined;
}

/** Records every message, the session it was sent for and the text it came with. */
class FakeUpstream implements Upstream {
  readonly sent: Sent[] = [];
  send(message: WireMessage, session?: SessionContext, text?: string): void {
    this.sent.push({ message: structuredClone(message), session, text });
  }
  /** The last message sent with `method`. */
  last(method: string): Sent {
    const found = this.sent.findLast(({ message }) => message.method === method);
    assert.ok(found, `nothing sent with method ${method}`);
    return found;
  }
}

/** A client session that records what it receives. */
function client(mux: Multiplexer) {
  const received: {
    message: WireMessage;
    related: RequestId | undefined;
    text: string | undefined;
  }[] = [];
  const session: MuxSession = mux.openSession({
    send: (message, related, text) => {
      received.push({ message: structuredClone(message), related, text });
    },
  });
  const send = (value: object) => session.receive(incoming({ jsonrpc: "2.0", ...value }));
  const response = (id: RequestId) => received.find((r) => r.message.id === id)?.message;
  return { session, received, send, response };
}

const warnings: string[] = [];
const log: Logger = { debug() {}, info() {}, warning: (m) => warnings.push(m), error() {} };

const CHILD_RESULT = {
  protocolVersion: "2025-11-25",
  capabilities: { logging: {}, resources: { subscribe: true } },
  serverInfo: { name: "child", version: "1" },
};

/** A multiplexer whose fake upstream has answered the proxy's initialize. */
async function opened(
  requestTimeoutMs = 0,
  turnPatienceMs?: number,
): Promise<{ mux: Multiplexer; upstream: FakeUpstream }> {
  const mux = new Multiplexer("t", log, { requestTimeoutMs, turnPatienceMs });
  const upstream = new FakeUpstream();
  mux.attach(upstream);
  const initialize = mux.request("initialize", { protocolVersion: "2025-11-25" });
  const id = upstream.last("initialize").message.id;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id, result: CHILD_RESULT }));
  mux.open(await initialize);
  return { mux, upstream };
}

Deno.test("each forwarded request names its session, with that session's handshake and log level", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  a.send({
    id: 1,
    method: "initialize",
    params: {
      protocolVersion: "2025-06-18",
      capabilities: { sampling: {} },
      clientInfo: { name: "a", version: "2" },
    },
  });
  assert.equal(
    (a.response(1)?.result as { protocolVersion: string }).protocolVersion,
    "2025-06-18",
  );
  a.send({ id: 2, method: "logging/setLevel", params: { level: "warning" } });
  assert.deepEqual(upstream.last("logging/setLevel").message.params, { level: "warning" });
  a.send({ id: 3, method: "tools/list" });
  b.send({ id: 3, method: "tools/list" });
  const [fromA, fromB] = upstream.sent.filter(({ message }) => message.method === "tools/list");
  assert.deepEqual(fromA.session?.handshake, {
    protocolVersion: "2025-06-18",
    capabilities: { sampling: {} },
    clientInfo: { name: "a", version: "2" },
  });
  assert.equal(fromA.session?.logLevel, "warning");
  assert.equal(fromB.session?.handshake, undefined);
  assert.notEqual(fromA.session?.id, fromB.session?.id);
  assert.notEqual(fromA.message.id, fromB.message.id, "ids are made unique upstream");
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: fromB.message.id, result: { tools: [] } }));
  assert.deepEqual(b.response(3), { jsonrpc: "2.0", id: 3, result: { tools: [] } });
  assert.equal(a.response(3), undefined);
});

Deno.test("waiting queues client traffic until open; refusing answers it with the reason", async () => {
  const mux = new Multiplexer("t", log);
  const upstream = new FakeUpstream();
  const early = client(mux);
  early.send({ id: "q", method: "tools/list" });
  early.send({ id: "p", method: "ping" });
  assert.deepEqual(early.response("p"), { jsonrpc: "2.0", id: "p", result: {} }, "ping at once");
  mux.attach(upstream);
  assert.equal(upstream.sent.length, 0, "nothing reaches an upstream that is not open");
  mux.open(CHILD_RESULT);
  assert.equal(upstream.last("tools/list").session !== undefined, true, "sent at open");

  mux.detach("gone");
  const id = upstream.last("tools/list").message.id;
  assert.equal(early.response("q")?.error?.code, -32000, "in flight when detached");
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id, result: {} })); // too late: dropped
  early.send({ id: "r", method: "tools/list" });
  mux.refuse("not running: crashed");
  assert.deepEqual(early.response("r")?.error, { code: -32000, message: "not running: crashed" });
  early.send({ id: "s", method: "tools/list" });
  assert.equal(early.response("s")?.error?.message, "not running: crashed");
  await mux.request("x").then(
    () => assert.fail("no upstream"),
    (e) => assert.match(e.message, /not running/),
  );
});

Deno.test("odd messages from the upstream: missing params, unknown ids, duplicates, odd server requests", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  a.send({ id: 1, method: "initialize", params: {} });
  a.send({ id: 2, method: "tools/call", params: { _meta: { progressToken: "t" } } });
  const call = upstream.last("tools/call").message;
  const odd = [
    { method: "notifications/progress" },
    { method: "notifications/cancelled" },
    { method: "notifications/message" },
    { method: "notifications/resources/updated" },
    { method: "notifications/progress", params: { progressToken: 9999 } },
    { method: "notifications/cancelled", params: { requestId: "nope" } },
    { id: 424242, result: {} },
    { id: "str", error: { code: 1, message: "x" } },
    { id: 7, method: "sampling/createMessage" },
    { id: "odd id", method: "roots/list" },
  ];
  for (const value of odd) mux.fromUpstream(incoming({ jsonrpc: "2.0", ...value }));
  // The one busy session gets the server requests; their ids are the proxy's own.
  const asked = a.received.filter((r) =>
    r.message.method?.endsWith("/list") || r.message.method === "sampling/createMessage"
  );
  assert.equal(asked.length, 2);
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: call.id, result: { content: [] } }));
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: call.id, result: { duplicate: true } }));
  const answers = a.received.filter((r) => r.message.id === 2);
  assert.deepEqual(answers.map((r) => r.message.result), [{ content: [] }], "one answer only");
  // The log notification without params reached the initialised session as it was.
  assert.ok(a.received.some((r) => r.message.method === "notifications/message"));
});

Deno.test("roots/list before any client asked anything: answered with no roots, quietly", async () => {
  const { mux, upstream } = await opened();
  warnings.length = 0;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: "r1", method: "roots/list" }));
  assert.deepEqual(upstream.sent.at(-1)?.message, {
    jsonrpc: "2.0",
    id: "r1",
    result: { roots: [] },
  });
  assert.deepEqual(warnings, []);
  // Other server requests still need a client to route to.
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s1", method: "sampling/createMessage", params: {} }),
  );
  assert.equal(upstream.sent.at(-1)?.message.error?.code, -32603);
  assert.equal(warnings.length, 1);
});

Deno.test("subscriptions: one upstream subscription per URI, dropped with its last subscriber", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  for (const c of [a, b]) c.send({ id: 1, method: "initialize", params: {} });
  a.send({ id: 2, method: "resources/subscribe", params: { uri: "u" } });
  const subscribe = upstream.last("resources/subscribe").message;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: subscribe.id, result: {} }));
  b.send({ id: 2, method: "resources/subscribe", params: { uri: "u" } });
  assert.equal(upstream.sent.filter((s) => s.message.method === "resources/subscribe").length, 1);
  assert.deepEqual(b.response(2)?.result, {});
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "u" } }),
  );
  for (const c of [a, b]) {
    assert.equal(
      c.received.filter((r) => r.message.method === "notifications/resources/updated").length,
      1,
    );
  }
  a.session.close();
  assert.equal(upstream.sent.filter((s) => s.message.method === "resources/unsubscribe").length, 0);
  b.session.close();
  assert.equal(upstream.sent.filter((s) => s.message.method === "resources/unsubscribe").length, 1);
});

Deno.test("a server request never goes to a guess: one still waiting on its client is not a reason to pick another", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  a.send({ id: 1, method: "tools/call", params: { name: "ask" } });
  // The child asks the only busy session; its client has not answered yet.
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s1", method: "elicitation/create", params: {} }),
  );
  assert.equal(a.received.at(-1)?.message.method, "elicitation/create");
  // b's call now waits for a's turn to end: it does not reach the child.
  b.send({ id: 1, method: "tools/call", params: { name: "other" } });
  assert.equal(upstream.sent.filter((s) => s.message.method === "tools/call").length, 1);
  // a's handler asks again (with a's data): only a can be its source.
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s2", method: "sampling/createMessage", params: {} }),
  );
  assert.equal(a.received.at(-1)?.message.method, "sampling/createMessage");
  assert.equal(b.received.length, 0);
  // Requests that cannot ask still flow for b meanwhile.
  b.send({ id: 2, method: "tools/list", params: {} });
  assert.equal(upstream.last("tools/list").session?.id, 2);
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: upstream.last("tools/list").message.id, result: { tools: [] } }),
  );
  // a's call ends: b's turn; its call reaches the child, and the next question goes to b.
  const aCall = upstream.last("tools/call").message;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: aCall.id, result: { content: [] } }));
  assert.deepEqual(a.response(1)?.result, { content: [] });
  assert.equal(upstream.last("tools/call").session?.id, 2);
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: "s3", method: "roots/list", params: {} }));
  assert.equal(b.received.at(-1)?.message.method, "roots/list");
  assert.equal(a.received.filter((r) => r.message.method === "roots/list").length, 0);
});

Deno.test("a turn held by a client that does not answer its question: past the patience its call is cancelled and the turn passes", async () => {
  const { mux, upstream } = await opened(0, 30);
  const a = client(mux);
  const b = client(mux);
  a.send({ id: 1, method: "tools/call", params: { name: "ask" } });
  const aCall = upstream.last("tools/call").message;
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s1", method: "elicitation/create", params: {} }),
  );
  const question = a.received.at(-1)!.message;
  b.send({ id: 1, method: "tools/call", params: { name: "other" } });
  assert.equal(upstream.sent.filter((s) => s.message.method === "tools/call").length, 1);
  await new Promise((resolve) => setTimeout(resolve, 80));
  // a did not answer: its question is withdrawn, its call cancelled, and b's call went on.
  assert.equal(a.response(1)?.error?.code, -32001);
  assert.match(a.response(1)!.error!.message, /waited 0.03 s for this client's answer/);
  const withdrawn = a.received.find((r) => r.message.method === "notifications/cancelled");
  assert.equal((withdrawn?.message.params as { requestId: unknown }).requestId, question.id);
  const toChild = upstream.sent.find((s) => s.message.id === "s1")!.message;
  assert.equal(toChild.error?.code, -32603);
  const cancel = upstream.last("notifications/cancelled").message;
  assert.equal((cancel.params as { requestId: unknown }).requestId, aCall.id);
  assert.equal(upstream.last("tools/call").session?.id, 2);
  // The next question can only be b's.
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s2", method: "sampling/createMessage", params: {} }),
  );
  assert.equal(b.received.at(-1)?.message.method, "sampling/createMessage");
  const bQuestion = b.received.at(-1)!.message;
  b.send({ id: bQuestion.id, result: { role: "assistant" } });
  const bCall = upstream.last("tools/call").message;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: bCall.id, result: {} }));
  // A turn whose holder answers in time is not passed on.
  const c = client(mux);
  c.send({ id: 3, method: "tools/call", params: { name: "ask" } });
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s3", method: "elicitation/create", params: {} }),
  );
  const cQuestion = c.received.at(-1)!.message;
  b.send({ id: 4, method: "tools/call", params: { name: "held" } });
  await new Promise((resolve) => setTimeout(resolve, 10));
  c.send({ jsonrpc: "2.0", id: cQuestion.id, result: { action: "decline" } });
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.equal(upstream.last("tools/call").session?.id, 3, "b still waits for c's call");
  c.session.close();
  assert.equal(upstream.last("tools/call").session?.id, 2);
  b.session.close();
});

Deno.test("before the child is known to ask, two sessions with calls in flight: its question is refused", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  a.send({ id: 1, method: "tools/call", params: { name: "slow" } });
  b.send({ id: 1, method: "tools/call", params: { name: "ask" } });
  warnings.length = 0;
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s1", method: "sampling/createMessage", params: {} }),
  );
  const refusal = upstream.sent.at(-1)!.message;
  assert.equal(refusal.id, "s1");
  assert.match(refusal.error!.message, /cannot route sampling\/createMessage: 2 client sessions/);
  assert.equal(a.received.length + b.received.length, 0);
  assert.equal(warnings.length, 1);
  // A session busy only with requests that cannot ask is not a candidate.
  const c = client(mux);
  c.send({ id: 5, method: "resources/list", params: {} });
  const aCall = upstream.sent.find((s) => s.message.method === "tools/call")!.message;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: aCall.id, result: {} }));
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s2", method: "elicitation/create", params: {} }),
  );
  assert.equal(b.received.at(-1)?.message.method, "elicitation/create");
  assert.equal(c.received.length, 0);
});

Deno.test("a stated origin decides: relatedTo from an era adapter, or a progress token in _meta", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  a.send({ id: 1, method: "tools/call", params: { name: "x" } });
  b.send({ id: 1, method: "tools/call", params: { name: "y", _meta: { progressToken: "p" } } });
  const [aCall, bCall] = upstream.sent.filter((s) => s.message.method === "tools/call");
  mux.fromUpstream(
    incoming({ jsonrpc: "2.0", id: "s1", method: "elicitation/create", params: {} }),
    aCall.message.id!,
  );
  assert.equal(a.received.at(-1)?.message.method, "elicitation/create");
  const token = (bCall.message.params as { _meta: { progressToken: number } })._meta.progressToken;
  mux.fromUpstream(
    incoming({
      jsonrpc: "2.0",
      id: "s2",
      method: "sampling/createMessage",
      params: { _meta: { progressToken: token } },
    }),
  );
  assert.equal(b.received.at(-1)?.message.method, "sampling/createMessage");
  assert.equal(a.received.filter((r) => r.message.method === "sampling/createMessage").length, 0);
});

Deno.test("a call waiting for its turn: cancelled, it never reaches the child; its session's close drops it; a restart keeps it", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  const b = client(mux);
  const c = client(mux);
  a.send({ id: 1, method: "tools/call", params: { name: "ask" } });
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: "s1", method: "roots/list", params: {} }));
  b.send({ id: 7, method: "tools/call", params: { name: "held" } });
  c.send({ id: 8, method: "tools/call", params: { name: "held too" } });
  // The same id again while it waits is a duplicate.
  b.send({ id: 7, method: "tools/call", params: { name: "again" } });
  assert.equal(b.response(7)?.error?.code, -32600);
  b.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 7 } });
  c.session.close();
  const aCall = upstream.last("tools/call").message;
  mux.fromUpstream(incoming({ jsonrpc: "2.0", id: aCall.id, result: {} }));
  assert.equal(upstream.sent.filter((s) => s.message.method === "tools/call").length, 1);
  // One more waits, then the child goes away: it is sent to the next child once that opens.
  a.send({ id: 2, method: "tools/call", params: { name: "ask" } });
  b.send({ id: 9, method: "tools/call", params: { name: "after restart" } });
  mux.detach("child exited");
  assert.equal(a.response(2)?.error?.code, -32000);
  const next = new FakeUpstream();
  mux.attach(next);
  mux.open(CHILD_RESULT);
  assert.equal(next.last("tools/call").session?.id, 2);
});

Deno.test("upstream notifications reach only the session they belong to; unattributable ones none", async () => {
  const { mux, upstream } = await opened();
  const [a, b] = [client(mux), client(mux)];
  for (const each of [a, b]) each.send({ id: 1, method: "initialize", params: {} });
  const notifications = (each: typeof a) =>
    each.received.filter((r) => r.message.method?.startsWith("notifications/"));
  const fromUpstream = (value: object) => mux.fromUpstream(incoming({ jsonrpc: "2.0", ...value }));

  // Nothing in flight: a log concerns everyone; an unknown notification no one.
  fromUpstream({ method: "notifications/message", params: { level: "info", data: "all" } });
  fromUpstream({ method: "notifications/custom", params: {} });
  assert.deepEqual(notifications(a).map((r) => r.message.method), ["notifications/message"]);
  assert.equal(notifications(b).length, 1);

  a.send({ id: 2, method: "tools/call", params: { _meta: { progressToken: "a-token" } } });
  const aCall = upstream.last("tools/call").message.id;
  b.send({ id: 2, method: "tools/call", params: {} });
  const bCall = upstream.last("tools/call").message.id as number;
  // Two sessions busy: a notification tied to nothing is dropped, one tied to a request
  // (by its progress token or, from an era adapter, its related id) goes to that session.
  fromUpstream({ method: "notifications/message", params: { level: "info", data: "whose?" } });
  fromUpstream({ method: "notifications/custom", params: {} });
  fromUpstream({
    method: "notifications/message",
    params: { level: "info", data: "a's", _meta: { progressToken: aCall } },
  });
  mux.fromUpstream(incoming({ jsonrpc: "2.0", method: "notifications/custom", params: {} }), bCall);
  assert.deepEqual(notifications(a).slice(1).map((r) => [r.message.params?.data, r.related]), [
    ["a's", 2],
  ]);
  assert.deepEqual(notifications(b).slice(1).map((r) => [r.message.method, r.related]), [
    ["notifications/custom", 2],
  ]);
});

Deno.test("request deadlines: the late ones time out in order, an answered one never; one sweep timer, stopped when none is left", async () => {
  // Watch the interval timers the multiplexer starts and stops.
  const started: unknown[] = [];
  const stopped: unknown[] = [];
  const { setInterval: realSet, clearInterval: realClear } = globalThis;
  globalThis.setInterval = ((...args: Parameters<typeof realSet>) => {
    const timer = realSet(...args);
    started.push(timer);
    return timer;
  }) as typeof realSet;
  globalThis.clearInterval = (timer) => {
    stopped.push(timer);
    realClear(timer);
  };
  try {
    const { mux, upstream } = await opened(60);
    const a = client(mux);
    a.send({ id: 1, method: "tools/call", params: { name: "slow" } });
    await new Promise((resolve) => setTimeout(resolve, 30));
    a.send({ id: 2, method: "tools/call", params: { name: "slow" } });
    a.send({ id: 3, method: "tools/call", params: { name: "fast" } });
    const fast = upstream.sent.findLast(({ message }) => message.method === "tools/call")!;
    mux.fromUpstream(incoming({ jsonrpc: "2.0", id: fast.message.id, result: { ok: true } }));
    assert.equal(started.length, 1, "one sweep timer for every request");

    // The sweep runs every 10 ms here: request 1 is due at 60 ms, request 2 at about 90 ms.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((a.response(1)?.error as { code: number }).code, -32001);
    assert.equal(a.response(2), undefined, "request 2 is not due yet");
    assert.deepEqual(stopped, [], "request 2 still has a deadline");
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal((a.response(2)?.error as { code: number }).code, -32001);
    assert.deepEqual(a.response(3)?.result, { ok: true });
    const cancelled = upstream.sent.filter(({ message }) =>
      message.method === "notifications/cancelled"
    );
    assert.equal(cancelled.length, 2);
    assert.deepEqual(stopped, started, "the sweep stops once no request has a deadline");
  } finally {
    globalThis.setInterval = realSet;
    globalThis.clearInterval = realClear;
  }
});

Deno.test("a response keeps the upstream's own text, with the client's id, when the id's place is plain", async () => {
  const { mux, upstream } = await opened();
  const a = client(mux);
  /** The upstream's answer to the last tools/call, as `text`, classified as a child's line is. */
  const answer = (text: (id: number) => string) => {
    const id = upstream.last("tools/call").message.id as number;
    const line = text(id);
    mux.fromUpstream(classify(JSON.parse(line), line) as Incoming);
  };
  a.send({ id: "c-1", method: "tools/call", params: { name: "echo" } });
  answer((id) => `{"jsonrpc":"2.0","id":${id},"result":{"content":[]}}`);
  const compact = a.received.at(-1)!;
  assert.equal(compact.text, '{"jsonrpc":"2.0","id":"c-1","result":{"content":[]}}');
  assert.deepEqual(JSON.parse(compact.text!), compact.message);

  // Written with spaces: the id's place is not plain, so the sink serializes the message itself.
  a.send({ id: "c-2", method: "tools/call", params: { name: "echo" } });
  answer((id) => `{"jsonrpc": "2.0", "id": ${id}, "result": {"content": []}}`);
  const spaced = a.received.at(-1)!;
  assert.equal(spaced.text, undefined);
  assert.deepEqual(spaced.message, { jsonrpc: "2.0", id: "c-2", result: { content: [] } });
});

Deno.test("a request keeps the client's own text, with the proxy's id, unless its progress token is rewritten", async () => {
  const { mux, upstream } = await opened();
  const { session } = client(mux);
  /** Hands `line` to the session as a POST body is: parsed, classified with its text. */
  const post = (line: string) => session.receive(classify(JSON.parse(line), line) as Incoming);
  const big = '{"name":"n","arguments":{"big":12345678901234567890}}';
  post(`{"method":"tools/call","params":${big},"jsonrpc":"2.0","id":"c-1"}`);
  const plain = upstream.last("tools/call");
  const id = plain.message.id;
  assert.equal(typeof id, "number");
  assert.equal(plain.text, `{"method":"tools/call","params":${big},"jsonrpc":"2.0","id":${id}}`);

  // The proxy swaps a progress token for its own id: that needs the message, serialized again.
  post(
    '{"jsonrpc":"2.0","id":"c-2","method":"tools/call","params":{"_meta":{"progressToken":"p"}}}',
  );
  const progress = upstream.last("tools/call");
  assert.equal(progress.text, undefined);
  assert.equal(progress.message.params?._meta?.progressToken, progress.message.id);
});
