/**
 * The filtered server in process, over a stub shared server whose sessions record what they
 * receive and answer at once (as the multiplexer may, before `receive` returns) or when a test
 * says: filtered lists under the client's id, refusals of filtered names, the read-only check
 * of a session that never listed, cancellations, and that unfiltered traffic passes untouched.
 * @module
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVING_LIMITS, type ServerFilters } from "../../../../src/config.ts";
import { createFilteredServer } from "../../../../src/core/gateway/filtered_server.ts";
import type {
  ClientSink,
  MuxSession,
  ServerState,
  SharedServer,
} from "../../../../src/core/types.ts";
import {
  classify,
  type Incoming,
  type RequestId,
  type WireMessage,
} from "../../../../src/protocol/jsonrpc.ts";
import { incoming } from "../../../support/messages.ts";

// deno-lint-ignore no-explicit-any -- the tests read fields of loosely typed results
type Any = any;

/** What a stub session answers a request with: a result, an error, or nothing (yet). */
type Answer = { result: Record<string, unknown> } | { error: { code: number; message: string } };

/** A request a stub session holds until the test answers it. */
type Held = { readonly message: WireMessage; answer(answer: Answer): void };

/** A shared server whose sessions answer with `answer` (`undefined`: hold the request). */
class StubServer implements SharedServer {
  readonly name = "stub";
  state: ServerState = "running";
  era: "legacy" | "modern" | undefined = "legacy";
  readonly limits = DEFAULT_SERVING_LIMITS;
  /** Every message its sessions received, in order, as received. */
  readonly received: Incoming[] = [];
  readonly held: Held[] = [];
  readonly sinks: ClientSink[] = [];
  closed = 0;
  started = 0;

  constructor(readonly answer: (message: WireMessage) => Answer | undefined = () => undefined) {}

  start(): Promise<void> {
    this.started++;
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.state = "stopped";
    return Promise.resolve();
  }

  onStateChange(): () => void {
    return () => {};
  }

  openSession(sink: ClientSink): MuxSession {
    this.sinks.push(sink);
    return {
      receive: (incoming) => {
        this.received.push(incoming);
        const { message } = incoming;
        if (incoming.kind !== "request") return;
        const id = message.id as RequestId;
        const reply = (answer: Answer) => sink.send({ jsonrpc: "2.0", id, ...answer }, id);
        const answer = this.answer(message);
        if (answer) reply(answer);
        else this.held.push({ message, answer: reply });
      },
      close: () => this.closed++,
    };
  }

  /** The methods and ids of the requests received. */
  requests(): string[] {
    return this.received.filter((m) => m.kind === "request").map((m) =>
      `${m.message.method} ${m.message.id}`
    );
  }
}

/** A client end: what it got, and the related id each message came with. */
class Client implements ClientSink {
  readonly got: { message: Any; related?: RequestId; text?: string }[] = [];
  send(message: WireMessage, related?: RequestId, text?: string): void {
    this.got.push({ message, related, text });
  }
  /** The message answering `id`. */
  answer(id: RequestId): Any {
    return this.got.find(({ message }) => message.id === id && message.method === undefined)
      ?.message;
  }
}

const TOOLS = [
  { name: "read", annotations: { readOnlyHint: true } },
  { name: "write", annotations: { readOnlyHint: false } },
  { name: "plain" },
  { name: "get-env", annotations: { readOnlyHint: true } },
];

const request = (id: RequestId, method: string, params?: Record<string, unknown>) =>
  incoming({ jsonrpc: "2.0", id, method, ...(params ? { params } : {}) });

/** A filtered session over a stub answering `answer`; `modern` opens it as the bridge does. */
function open(filters: ServerFilters, answer?: StubServer["answer"], modern = false) {
  const inner = new StubServer(answer);
  const client = new Client();
  const server = createFilteredServer(inner, filters);
  const session = server.openSession(client, { modern });
  return { inner, client, server, session };
}

/** Answers tools/list from TOOLS, two per page, and a tool call with its name. */
function toolServer(message: WireMessage): Answer | undefined {
  const params = (message.params ?? {}) as Any;
  if (message.method === "tools/list") {
    const start = params.cursor === undefined ? 0 : Number(params.cursor);
    const next = start + 2 < TOOLS.length ? { nextCursor: String(start + 2) } : {};
    return { result: { tools: TOOLS.slice(start, start + 2), ...next } };
  }
  if (message.method === "tools/call") {
    return { result: { content: [{ type: "text", text: params.name }] } };
  }
  return undefined;
}

Deno.test("filters that keep everything give the server itself; the wrapper delegates the rest", async () => {
  const inner = new StubServer();
  assert.equal(createFilteredServer(inner, {}), inner);
  assert.equal(createFilteredServer(inner, { tools: { deny: [] }, readOnly: false }), inner);
  const server = createFilteredServer(inner, { tools: { deny: ["x"] } });
  assert.notEqual(server, inner);
  assert.equal(server.name, "stub");
  assert.equal(server.limits, inner.limits);
  inner.era = "modern";
  assert.equal(server.era, "modern");
  await server.start();
  assert.equal(inner.started, 1);
  server.openSession({ send() {}, answersRequests: false });
  assert.equal(inner.sinks[0].answersRequests, false, "a stateless POST's sink stays one");
  await server.stop();
  assert.equal(server.state, "stopped");
});

Deno.test("tools/list: filtered entries dropped, the rest and nextCursor kept, under the client's id", () => {
  const { inner, client, session } = open({ tools: { allow: ["*"], deny: ["write"] } }, toolServer);
  session.receive(request(7, "tools/list"));
  const [sent] = inner.received;
  assert.notEqual(sent.message.id, 7, "sent under the proxy's own id");
  const reply = client.answer(7);
  assert.deepEqual(reply.result, { tools: [TOOLS[0]], nextCursor: "2" });
  assert.equal(client.got[0].related, 7);
  assert.equal(client.got[0].text, undefined, "the child's text is not what the client gets");

  // A page nothing is dropped from keeps the child's text, with the client's id in it.
  const held = open({ tools: { deny: ["write"] } });
  held.session.receive(request("p2", "tools/list", { cursor: "2" }));
  const { message } = held.inner.held[0];
  assert.deepEqual(message.params, { cursor: "2" });
  const text = `{"jsonrpc":"2.0","id":${JSON.stringify(message.id)},"result":{"tools":[]}}`;
  held.inner.sinks[0].send(
    { jsonrpc: "2.0", id: message.id, result: { tools: [] } },
    message.id!,
    text,
  );
  assert.equal(held.client.got[0].text, `{"jsonrpc":"2.0","id":"p2","result":{"tools":[]}}`);
});

Deno.test("a call of a filtered tool is answered 'Unknown tool' and never reaches the child", () => {
  const { inner, client, session } = open({ tools: { deny: ["get-*"] } }, toolServer);
  session.receive(request(1, "tools/call", { name: "get-env" }));
  assert.deepEqual(client.answer(1).error, { code: -32602, message: "Unknown tool: get-env" });
  assert.deepEqual(inner.requests(), []);
  const call = request(2, "tools/call", { name: "read" });
  session.receive(call);
  assert.equal(inner.received[0], call, "an allowed call is passed on as it came");
  assert.equal(client.answer(2).result.content[0].text, "read");
});

Deno.test("methods the filters do not touch pass through as they came", () => {
  const { inner, session } = open({ tools: { deny: ["write"] } }, () => ({ result: {} }));
  const messages = [
    request(1, "prompts/list"),
    request(2, "resources/read", { uri: "file:///a" }),
    request(3, "prompts/get", { name: "p" }),
    incoming({ jsonrpc: "2.0", method: "notifications/initialized" }),
    incoming({ jsonrpc: "2.0", id: "s1", result: {} }),
  ];
  for (const message of messages) session.receive(message);
  assert.deepEqual(inner.received, messages);
});

Deno.test("prompts: list filtered by name; prompts/get and completions of a filtered prompt refused", () => {
  const prompts = [{ name: "simple" }, { name: "secret-plan" }];
  const { inner, client, session } = open(
    { prompts: { deny: ["secret-*"] } },
    (m) => m.method === "prompts/list" ? { result: { prompts } } : { result: {} },
  );
  session.receive(request(1, "prompts/list"));
  assert.deepEqual(client.answer(1).result.prompts, [{ name: "simple" }]);
  session.receive(request(2, "prompts/get", { name: "secret-plan" }));
  assert.deepEqual(client.answer(2).error, {
    code: -32602,
    message: "Unknown prompt: secret-plan",
  });
  const ref = { type: "ref/prompt", name: "secret-plan" };
  session.receive(request(3, "completion/complete", { ref, argument: { name: "a", value: "" } }));
  assert.equal(client.answer(3).error.code, -32602);
  session.receive(request(4, "prompts/get", { name: "simple" }));
  assert.deepEqual(client.answer(4).result, {});
  assert.deepEqual(inner.requests().slice(1), ["prompts/get 4"]);
});

Deno.test("resources: by URI and template; read and subscribe refused -32002; updates of filtered URIs dropped", () => {
  const lists: Record<string, Record<string, unknown>> = {
    "resources/list": { resources: [{ uri: "doc://a" }, { uri: "secret://b" }] },
    "resources/templates/list": {
      resourceTemplates: [{ uriTemplate: "doc://{id}" }, { uriTemplate: "secret://{id}" }],
    },
  };
  const answer = (m: WireMessage): Answer => ({ result: lists[m.method!] ?? {} });
  const { inner, client, session } = open({ resources: { allow: ["doc://*"] } }, answer);
  session.receive(request(1, "resources/list"));
  assert.deepEqual(client.answer(1).result.resources, [{ uri: "doc://a" }]);
  session.receive(request(2, "resources/templates/list"));
  assert.deepEqual(client.answer(2).result.resourceTemplates, [{ uriTemplate: "doc://{id}" }]);
  for (const [id, method] of [[3, "resources/read"], [4, "resources/subscribe"]] as const) {
    session.receive(request(id, method, { uri: "secret://b" }));
    assert.deepEqual(client.answer(id).error, {
      code: -32002,
      message: "Resource not found: secret://b",
      data: { uri: "secret://b" },
    });
  }
  session.receive(request(5, "resources/read", { uri: "doc://a" }));
  assert.deepEqual(client.answer(5).result, {});
  assert.deepEqual(inner.requests().slice(2), ["resources/read 5"]);

  client.got.length = 0;
  for (const uri of ["secret://b", "doc://a"]) {
    inner.sinks[0].send({
      jsonrpc: "2.0",
      method: "notifications/resources/updated",
      params: { uri },
    });
  }
  assert.deepEqual(client.got.map(({ message }) => message.params.uri), ["doc://a"]);
});

Deno.test("a modern request relayed to a modern child gets the modern era's resource-not-found code", () => {
  const { inner, client, session } = open({ resources: { deny: ["secret://*"] } }, undefined, true);
  inner.era = "modern";
  session.receive(request(1, "resources/read", { uri: "secret://b" }));
  assert.equal(client.answer(1).error.code, -32602);
});

Deno.test("readOnly: tools listed keep only readOnlyHint true; calls judged on what the session saw", () => {
  const { inner, client, session } = open({ readOnly: true }, toolServer);
  session.receive(request(1, "tools/list"));
  assert.deepEqual(client.answer(1).result, { tools: [TOOLS[0]], nextCursor: "2" });
  session.receive(request(2, "tools/call", { name: "read" }));
  session.receive(request(3, "tools/call", { name: "write" }));
  assert.equal(client.answer(2).result.content[0].text, "read");
  assert.deepEqual(client.answer(3).error, { code: -32602, message: "Unknown tool: write" });
  assert.deepEqual(inner.requests().slice(1), ["tools/call 2"], "no listing of its own");
});

Deno.test("readOnly: a session that never listed lists every page for itself, then judges", () => {
  const { inner, client, session } = open({ readOnly: true, tools: { deny: ["read"] } });
  session.receive(request(1, "tools/call", { name: "get-env" }));
  session.receive(request(2, "tools/call", { name: "plain" }));
  session.receive(request(3, "tools/call", { name: "nothing" }));
  session.receive(request(4, "tools/call", { name: "read" }));
  assert.deepEqual(client.answer(4).error.message, "Unknown tool: read", "the name filter first");
  // One listing for all the calls waiting.
  assert.equal(inner.held.length, 1);
  const page = inner.held.shift()!;
  assert.equal(page.message.method, "tools/list");
  assert.match(String(page.message.id), /^mcp-proxy:filter:/);
  // A log of the listing belongs to the oldest call waiting.
  inner.sinks[0].send(
    { jsonrpc: "2.0", method: "notifications/message", params: { level: "info", data: "x" } },
    page.message.id!,
  );
  assert.equal(client.got.at(-1)!.related, 1);
  page.answer({ result: { tools: TOOLS.slice(0, 2), nextCursor: "2" } });
  const second = inner.held.shift()!;
  assert.deepEqual(second.message.params, { cursor: "2" });
  second.answer({ result: { tools: TOOLS.slice(2) } });
  assert.deepEqual(
    client.got.map(({ message }) => message.id),
    [4, undefined, 2, 3],
    "the listing's answers are not the client's",
  );
  assert.deepEqual(inner.requests().slice(2), ["tools/call 1"]);
  assert.deepEqual(client.answer(2).error, { code: -32602, message: "Unknown tool: plain" });
  assert.deepEqual(client.answer(3).error, { code: -32602, message: "Unknown tool: nothing" });

  // Known now: no listing again, until the tools change.
  session.receive(request(5, "tools/call", { name: "get-env" }));
  assert.deepEqual(inner.requests().slice(3), ["tools/call 5"]);
  inner.sinks[0].send({ jsonrpc: "2.0", method: "notifications/tools/list_changed" });
  assert.equal(client.got.at(-1)!.message.method, "notifications/tools/list_changed");
  session.receive(request(6, "tools/call", { name: "get-env" }));
  assert.equal(inner.held.at(-1)!.message.method, "tools/list");
});

Deno.test("readOnly: a failed listing fails the calls waiting for it with its error", () => {
  const { inner, client, session } = open({ readOnly: true });
  session.receive(request(1, "tools/call", { name: "read" }));
  inner.held[0].answer({ error: { code: -32000, message: "Connection closed" } });
  assert.deepEqual(client.answer(1).error, { code: -32000, message: "Connection closed" });
  assert.deepEqual(inner.requests(), [`tools/list ${inner.held[0].message.id}`]);
});

Deno.test("cancellations: of a list request reach the child under its id; of a waiting call, nothing", () => {
  const { inner, client, session } = open({ readOnly: true });
  session.receive(request(1, "tools/list"));
  const listId = inner.held[0].message.id;
  const cancel = (requestId: RequestId) =>
    incoming({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId } });
  session.receive(cancel(1));
  assert.deepEqual(inner.received.at(-1)!.message.params, { requestId: listId });

  session.receive(request(2, "tools/call", { name: "read" }));
  const listing = inner.held[1];
  session.receive(cancel(2));
  listing.answer({ result: { tools: TOOLS } });
  assert.equal(client.answer(2), undefined);
  assert.deepEqual(inner.requests(), [`tools/list ${listId}`, `tools/list ${listing.message.id}`]);

  // Cancelling what the filter does not hold passes as it is.
  session.receive(cancel(9));
  assert.deepEqual(inner.received.at(-1)!.message.params, { requestId: 9 });
});

Deno.test("closing the session closes the child's; nothing reaches the client after", () => {
  const { inner, client, session } = open({ tools: { deny: ["write"] } });
  session.receive(request(1, "tools/list"));
  session.close();
  session.close();
  assert.equal(inner.closed, 1);
  inner.held[0].answer({ result: { tools: TOOLS } });
  session.receive(request(2, "tools/call", { name: "write" }));
  assert.deepEqual(client.got, []);
});

Deno.test("a judged request reaches the child serialized again, not as the client's text", () => {
  const { inner, session } = open({ tools: { deny: ["write"] } }, toolServer);
  // A parser that kept the first of two names would run `write`.
  const text =
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"write","name":"read"}}';
  const sorted = classify(JSON.parse(text), text);
  assert.equal(sorted.kind, "request");
  session.receive(sorted as Incoming);
  assert.equal(inner.received[0].kind, "request");
  assert.equal((inner.received[0] as { text?: string }).text, undefined);
  assert.deepEqual(inner.received[0].message.params, { name: "read" });
});

Deno.test("a name that is not a string is refused where a filter reads it, untouched elsewhere", () => {
  const { inner, client, session } = open({ tools: { deny: ["write"] } }, () => ({ result: {} }));
  session.receive(request(1, "tools/call", { name: ["write"] }));
  assert.deepEqual(client.answer(1).error, {
    code: -32602,
    message: "Invalid params: name must be a string",
  });
  const prompt = request(2, "prompts/get", { name: ["secret"] });
  session.receive(prompt);
  assert.deepEqual(inner.received, [prompt], "no prompt filter: the child's to answer");
  const prompts = open({ prompts: { deny: ["secret"] } });
  prompts.session.receive(request(3, "prompts/get", { name: ["secret"] }));
  assert.equal(prompts.client.answer(3).error.code, -32602);
  const call = request(4, "tools/call", { name: 5 });
  prompts.session.receive(call);
  assert.deepEqual(prompts.inner.received, [call], "no tool filter: the child's to answer");
});

Deno.test("the proxy's list ids are its own: a client's request using one is refused; stray answers dropped", () => {
  const { inner, client, session } = open({ tools: { deny: ["write"] } });
  session.receive(request("mcp-proxy:filter:1", "tools/call", { name: "read" }));
  assert.equal(client.answer("mcp-proxy:filter:1").error.code, -32600);
  assert.deepEqual(inner.received, []);

  // The answer to a list request the client cancelled is not passed on (unfiltered).
  session.receive(request(2, "tools/list"));
  session.receive(
    incoming({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 2 } }),
  );
  inner.held[0].answer({ result: { tools: TOOLS } });
  assert.equal(client.answer(2), undefined);
});
