/**
 * The aggregate in-process, over stub members (real multiplexers with in-process upstreams
 * whose tool and prompt names collide): its handshake, names, merged lists and their cursor,
 * resource routes, questions, progress, cancellation, members going down, reloads and stop.
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVING_LIMITS } from "../../../../src/config.ts";
import { createAggregateServer } from "../../../../src/core/gateway/aggregate.ts";
import { decodeCursor } from "../../../../src/core/gateway/aggregate_names.ts";
import { SessionRefused } from "../../../../src/core/types.ts";
import { PROXY_VERSION } from "../../../../src/protocol/handshake.ts";
import {
  AggregateClient,
  quietLog,
  StubMember,
  type StubMember as Stub,
  type StubOptions,
} from "./stub_member.ts";

/** Started stub members `names` and their aggregate (separator `__`, prefix = name). */
async function aggregateOf(names: string[], options: Record<string, StubOptions> = {}) {
  const members = names.map((name) => new StubMember(name, options[name]));
  for (const member of members) await member.start();
  const aggregate = createAggregateServer(
    members.map((server) => ({ server, prefix: server.name })),
    { separator: "__", limits: DEFAULT_SERVING_LIMITS, log: quietLog },
  );
  return { aggregate, members };
}

const names = (items: unknown) => (items as { name: string }[]).map((item) => item.name);
const uris = (items: unknown) => (items as { uri: string }[]).map((item) => item.uri);
const text = (result: Record<string, unknown>) => (result.content as { text: string }[])[0].text;
const sentTo = (member: Stub, method: string) =>
  member.received.filter((message) => message.method === method);

Deno.test("initialize: the proxy's identity, the members' capabilities and instructions", async () => {
  const { aggregate } = await aggregateOf(["alpha", "beta"], {
    beta: { capabilities: { tools: {} } },
  });
  const client = new AggregateClient(aggregate);
  const result = await client.initialize();
  assert.equal(result.protocolVersion, "2025-06-18");
  assert.deepEqual(result.serverInfo, { name: "mcp-proxy", version: PROXY_VERSION });
  assert.deepEqual(result.capabilities, {
    tools: { listChanged: true },
    prompts: { listChanged: true },
    resources: { listChanged: true, subscribe: true },
    logging: {},
    completions: {},
  });
  assert.equal(result.instructions, "## alpha\n\nUse alpha well.\n\n## beta\n\nUse beta well.");
  const other = new AggregateClient(aggregate);
  assert.equal((await other.initialize("1999-01-01")).protocolVersion, "2025-11-25");
  assert.deepEqual(await client.result("ping"), {});
  const unknown = await client.request("tools/unheard-of");
  assert.equal(unknown.error?.code, -32601);
  assert.equal(aggregate.name, "aggregate");
  assert.equal(aggregate.era, "legacy");
  assert.equal(aggregate.state, "running");
  client.session.close();
  other.session.close();
});

Deno.test("tools and prompts: prefixed names, calls go to their owner, unknown prefixes are refused", async () => {
  const { aggregate, members: [alpha, beta] } = await aggregateOf(["alpha", "beta"]);
  const client = new AggregateClient(aggregate);
  await client.initialize();
  const tools = await client.result("tools/list");
  assert.deepEqual(names(tools.tools), [
    ...["echo", "hold", "ask", "progress"].map((name) => `alpha__${name}`),
    ...["echo", "hold", "ask", "progress"].map((name) => `beta__${name}`),
  ]);
  assert.equal(tools.nextCursor, undefined);
  const call = (name: string) => client.result("tools/call", { name, arguments: { text: "hi" } });
  assert.equal(text(await call("beta__echo")), "beta: hi");
  assert.equal(text(await call("alpha__echo")), "alpha: hi");
  assert.equal(sentTo(beta, "tools/call")[0].params?.name, "echo", "the member's own name");
  const unknown = await client.request("tools/call", { name: "gamma__echo" });
  assert.deepEqual(unknown.error, { code: -32602, message: "Unknown tool: gamma__echo" });
  const bare = await client.request("tools/call", { name: "alpha__" });
  assert.equal(bare.error?.message, "Unknown tool: alpha__");

  assert.deepEqual(names((await client.result("prompts/list")).prompts), [
    "alpha__greet",
    "beta__greet",
  ]);
  const prompt = await client.result("prompts/get", { name: "alpha__greet" });
  assert.deepEqual(prompt.messages, [{ role: "user", content: { type: "text", text: "alpha" } }]);
  const unknownPrompt = await client.request("prompts/get", { name: "greet" });
  assert.deepEqual(unknownPrompt.error, { code: -32602, message: "Unknown prompt: greet" });
  assert.equal(sentTo(alpha, "prompts/get").length, 1);
  client.session.close();
});

Deno.test("lists page across members with one cursor; a member without the list is left out", async () => {
  const { aggregate } = await aggregateOf(["alpha", "beta", "gamma"], {
    alpha: { resources: 4, pageSize: 2 },
    beta: { capabilities: { tools: {} } },
    gamma: { resources: 1 },
  });
  const client = new AggregateClient(aggregate);
  await client.initialize();
  const pages: string[][] = [];
  const cursors: unknown[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.result("resources/list", cursor === undefined ? {} : { cursor });
    pages.push(uris(page.resources));
    cursor = page.nextCursor as string | undefined;
    if (cursor !== undefined) cursors.push(decodeCursor(cursor));
  } while (cursor !== undefined);
  assert.deepEqual(pages, [
    ["shared://doc", "alpha://doc/0"],
    ["alpha://doc/1", "alpha://doc/2"],
    // alpha's last page, then gamma's whole list (beta has no resources); gamma's
    // shared://doc is alpha's.
    ["alpha://doc/3", "gamma://doc/0"],
  ]);
  assert.deepEqual(cursors, [{ server: "alpha", cursor: "2" }, { server: "alpha", cursor: "4" }]);
  assert.match(String(quietLog.warnings.at(-1)), /'alpha' and 'gamma' both list .*shared:\/\/doc/);
  for (const bad of ["nonsense!", "eyJzIjoibm9uZSJ9", 7]) {
    const answer = await client.request("resources/list", { cursor: bad });
    assert.equal(answer.error?.code, -32602, `cursor ${bad}`);
  }
  client.session.close();
});

Deno.test("resources go to who listed them, templates match, unknown URIs refresh once then 404", async () => {
  const { aggregate, members: [alpha, beta] } = await aggregateOf(["alpha", "beta"]);
  const client = new AggregateClient(aggregate);
  await client.initialize();
  // Never listed yet: the aggregate lists every member's resources to find the owner.
  const read = await client.result("resources/read", { uri: "beta://doc/0" });
  assert.deepEqual(read.contents, [{ uri: "beta://doc/0", text: "beta beta://doc/0" }]);
  assert.equal(sentTo(alpha, "resources/list").length, 1);
  const shared = await client.result("resources/read", { uri: "shared://doc" });
  assert.equal((shared.contents as { text: string }[])[0].text, "alpha shared://doc");
  const item = await client.result("resources/read", { uri: "beta://item/42" });
  assert.equal((item.contents as { text: string }[])[0].text, "beta beta://item/42");
  assert.equal(sentTo(alpha, "resources/list").length, 1, "known routes need no listing");

  const missing = await client.request("resources/read", { uri: "nobody://x" });
  assert.deepEqual(missing.error, {
    code: -32002,
    message: "Resource not found",
    data: { uri: "nobody://x" },
  });
  assert.equal(sentTo(alpha, "resources/list").length, 2, "listed once more, and only once");
  const templates = await client.result("resources/templates/list");
  assert.deepEqual(
    (templates.resourceTemplates as { uriTemplate: string }[]).map((t) => t.uriTemplate),
    ["alpha://item/{id}", "beta://item/{id}"],
  );

  await client.result("resources/subscribe", { uri: "beta://doc/0" });
  assert.equal(sentTo(beta, "resources/subscribe").length, 1);
  assert.equal(sentTo(alpha, "resources/subscribe").length, 0);
  beta.notify("notifications/resources/updated", { uri: "beta://doc/0" });
  assert.equal(client.notifications("notifications/resources/updated").length, 1);
  await client.result("resources/unsubscribe", { uri: "beta://doc/0" });
  assert.equal(sentTo(beta, "resources/unsubscribe").length, 1);

  const byPrompt = await client.result("completion/complete", {
    ref: { type: "ref/prompt", name: "beta__greet" },
    argument: { name: "x", value: "" },
  });
  assert.deepEqual(byPrompt.completion, {
    values: ['beta-{"type":"ref/prompt","name":"greet"}'],
  });
  const byTemplate = await client.result("completion/complete", {
    ref: { type: "ref/resource", uri: "alpha://item/{id}" },
    argument: { name: "id", value: "" },
  });
  assert.deepEqual(byTemplate.completion, {
    values: ['alpha-{"type":"ref/resource","uri":"alpha://item/{id}"}'],
  });
  const unknownRef = await client.request("completion/complete", {
    ref: { type: "ref/prompt", name: "nobody__greet" },
  });
  assert.equal(unknownRef.error?.message, "Unknown prompt: nobody__greet");
  client.session.close();
});

Deno.test("questions of two members with the same id are told apart; answers go back to each", async () => {
  const { aggregate, members: [alpha, beta] } = await aggregateOf(["alpha", "beta"]);
  const client = new AggregateClient(aggregate);
  await client.initialize();
  const first = client.request("tools/call", { name: "alpha__ask" }, "call-a");
  const second = client.request("tools/call", { name: "beta__ask" }, "call-b");
  const asked = () => client.received.filter((r) => r.message.method === "elicitation/create");
  await waitFor(() => asked().length === 2);
  const questions = asked();
  assert.notEqual(questions[0].message.id, questions[1].message.id);
  const byAsker = Object.fromEntries(
    questions.map((q) => [String(q.message.params?.message), q]),
  );
  assert.equal(byAsker["alpha asks"].related, "call-a");
  assert.equal(byAsker["beta asks"].related, "call-b");
  client.send({ id: byAsker["beta asks"].message.id, result: { action: "accept", n: "b" } });
  client.send({ id: byAsker["alpha asks"].message.id, result: { action: "accept", n: "a" } });
  assert.equal(text((await first).result as never), 'alpha: {"action":"accept","n":"a"}');
  assert.equal(text((await second).result as never), 'beta: {"action":"accept","n":"b"}');
  const answers = [alpha, beta].map((m) => m.received.find((r) => r.method === undefined));
  assert.deepEqual(answers.map((a) => a?.result), [{ action: "accept", n: "a" }, {
    action: "accept",
    n: "b",
  }]);
  client.session.close();
});

Deno.test("progress reaches only the session that called, with its own token; cancelling reaches the member", async () => {
  const { aggregate, members: [alpha] } = await aggregateOf(["alpha", "beta"]);
  const caller = new AggregateClient(aggregate);
  const bystander = new AggregateClient(aggregate);
  await caller.initialize();
  await bystander.initialize();
  const done = await caller.request("tools/call", {
    name: "alpha__progress",
    _meta: { progressToken: "mine" },
  }, "progressing");
  assert.equal(text(done.result as never), "alpha: progressed");
  const progress = caller.notifications("notifications/progress");
  assert.equal(progress.length, 1);
  assert.equal(progress[0].message.params?.progressToken, "mine");
  assert.equal(progress[0].related, "progressing");
  assert.equal(bystander.notifications("notifications/progress").length, 0);

  void caller.request("tools/call", { name: "alpha__hold" }, "held");
  await waitFor(() => alpha.held.size === 1);
  const [upstreamId] = alpha.held.keys();
  caller.send({ method: "notifications/cancelled", params: { requestId: "held", reason: "no" } });
  const cancelled = sentTo(alpha, "notifications/cancelled");
  assert.deepEqual(cancelled.map((m) => m.params?.requestId), [upstreamId]);
  alpha.release(upstreamId, "too late");
  await Promise.resolve();
  assert.equal(caller.received.some((r) => r.message.id === "held"), false, "no answer");

  // A request in flight when its session closes is cancelled at the member.
  void caller.request("tools/call", { name: "alpha__hold" }, "held-again");
  await waitFor(() => alpha.held.size === 1);
  caller.session.close();
  assert.equal(sentTo(alpha, "notifications/cancelled").length, 2);
  bystander.session.close();
});

Deno.test("logging/setLevel reaches every member and is answered once all did", async () => {
  const { aggregate, members } = await aggregateOf(["alpha", "beta"], {
    beta: { capabilities: { tools: {} } },
  });
  const client = new AggregateClient(aggregate);
  await client.initialize();
  assert.deepEqual(await client.result("logging/setLevel", { level: "debug" }), {});
  // alpha's multiplexer sets the level upstream itself (it logs); beta's child gets the request.
  for (const member of members) {
    await waitFor(() => sentTo(member, "logging/setLevel").length === 1);
    assert.equal(sentTo(member, "logging/setLevel")[0].params?.level, "debug");
  }
  client.send({ method: "notifications/roots/list_changed" });
  for (const member of members) {
    assert.equal(sentTo(member, "notifications/roots/list_changed").length, 1);
  }
  client.session.close();
});

Deno.test("a member going down: left out of lists, calls to it refused by name, the others serve", async () => {
  const { aggregate, members: [alpha, beta] } = await aggregateOf(["alpha", "beta"]);
  const states: string[] = [];
  aggregate.onStateChange((state) => states.push(state));
  const client = new AggregateClient(aggregate);
  await client.initialize();
  const inFlight = client.request("tools/call", { name: "beta__hold" });
  await waitFor(() => beta.held.size === 1);
  beta.crash();
  assert.equal((await inFlight).error?.code, -32000);
  const changed = ["tools", "prompts", "resources"].map((list) =>
    client.notifications(`notifications/${list}/list_changed`).length
  );
  assert.deepEqual(changed, [1, 1, 1]);
  assert.deepEqual(names((await client.result("tools/list")).tools).length, 4);
  const refused = await client.request("tools/call", { name: "beta__echo" });
  assert.deepEqual(refused.error, {
    code: -32000,
    message:
      "MCP server 'beta' is not running (restarting); the aggregate's other servers are serving",
  });
  assert.equal(
    text(await client.result("tools/call", { name: "alpha__echo" })),
    "alpha: undefined",
  );
  assert.equal(aggregate.state, "running");
  alpha.fail();
  assert.equal(aggregate.state, "restarting");
  await beta.start();
  assert.equal(aggregate.state, "running");
  assert.equal(names((await client.result("tools/list")).tools)[0], "beta__echo");
  await beta.stop();
  assert.equal(aggregate.state, "failed");
  assert.deepEqual(states, ["restarting", "running", "failed"]);
  client.session.close();
});

Deno.test("setMembers: a removed member's running calls finish, new ones find no tool; a new member's tools appear, lists changed", async () => {
  const { aggregate, members: [alpha, beta] } = await aggregateOf(["alpha", "beta"]);
  const client = new AggregateClient(aggregate);
  await client.initialize();
  const held = client.request("tools/call", { name: "beta__hold" });
  await waitFor(() => beta.held.size === 1);
  const gamma = new StubMember("gamma");
  await gamma.start();
  aggregate.setMembers([{ server: alpha, prefix: "a" }, { server: gamma, prefix: "gamma" }]);
  assert.equal(client.notifications("notifications/tools/list_changed").length, 1);
  assert.deepEqual(aggregate.members.map((m) => m.server.name), ["alpha", "gamma"]);
  const tools = names((await client.result("tools/list")).tools);
  assert.deepEqual([tools[0], tools[4]], ["a__echo", "gamma__echo"]);
  assert.equal(
    text(await client.result("tools/call", { name: "gamma__echo" })),
    "gamma: undefined",
  );
  const gone = await client.request("tools/call", { name: "beta__echo" });
  assert.equal(gone.error?.message, "Unknown tool: beta__echo");

  // The call that was running when beta left is answered by beta, as if nothing happened;
  // beta's owner waits for it (callsOn) before it stops beta.
  assert.equal(aggregate.callsOn(beta), 1);
  const [upstreamId] = beta.held.keys();
  beta.release(upstreamId, "finished");
  assert.equal(text((await held).result as Record<string, unknown>), "finished");
  assert.equal(aggregate.callsOn(beta), 0);

  // One still running when its member goes away for good gets that member's error.
  const stranded = client.request("tools/call", { name: "a__hold" });
  await waitFor(() => alpha.held.size === 1);
  aggregate.setMembers([{ server: gamma, prefix: "gamma" }]);
  alpha.crash();
  assert.deepEqual((await stranded).error, { code: -32000, message: "MCP server 'alpha' exited" });
  client.session.close();
});

Deno.test("a member that refuses the client is left out; stop ends the sessions, not the members", async () => {
  const { aggregate, members: [alpha] } = await aggregateOf(["alpha", "picky"], {
    picky: { refuse: new SessionRefused(400, "needs x-key") },
  });
  const client = new AggregateClient(aggregate);
  const result = await client.initialize();
  assert.equal(result.instructions, "## alpha\n\nUse alpha well.");
  assert.equal(names((await client.result("prompts/list")).prompts).join(), "alpha__greet");
  const refused = await client.request("tools/call", { name: "picky__echo" });
  assert.equal(refused.error?.message, "MCP server 'picky' refused this client: needs x-key");
  const held = client.request("tools/call", { name: "alpha__hold" });
  await waitFor(() => alpha.held.size === 1);
  await aggregate.stop();
  assert.equal((await held).error?.message, "MCP server 'aggregate' was stopped");
  assert.equal(sentTo(alpha, "notifications/cancelled").length, 1);
  assert.equal(aggregate.state, "stopped");
  assert.equal(alpha.state, "running");
  const later = new AggregateClient(aggregate);
  assert.equal((await later.request("tools/list")).error?.code, -32000);
  later.session.close();
});

/** Waits (a hundred turns of the event loop at most) until `condition` holds. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error("condition never held");
}
