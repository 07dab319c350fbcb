/**
 * A server-to-client request (elicitation, sampling) reaches the client whose call caused it,
 * never another one: a legacy stdio child's tool asks its client twice, 600 ms apart, while
 * another client starts an unrelated call (SDK 1.x clients, and SDK v2 clients pinned to
 * 2026-07-28, whose questions come back as input_required rounds); and many modern clients
 * whose calls ask at the same time each get their own question.
 * @module
 */
import assert from "node:assert/strict";
import { type Client, connectClient } from "../support/mcp_client.ts";
import { mcpTypes } from "../support/sdk.ts";
import { connectModernClient } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { startServerProxy } from "../support/server_proxy.ts";

const FIXTURE_ARGS = ["--", "node", `${ROOT}tests/fixtures/era_legacy_server.mjs`];

type Content = { content: { type: string; text: string }[] };
const textOf = (result: unknown) => (result as Content).content[0].text;

/** What a client was asked: the elicitation messages and the sampled texts. */
interface Asked {
  elicited: string[];
  sampled: string[];
}

type Handlers = {
  setRequestHandler(method: string, handler: (request: { params: unknown }) => unknown): void;
};

/** The SDK 1.x client's handler registration, which takes schemas instead of method names. */
function legacyHandlers(client: Client): Handlers {
  const schemas = {
    "elicitation/create": mcpTypes.ElicitRequestSchema,
    "sampling/createMessage": mcpTypes.CreateMessageRequestSchema,
  } as const;
  return {
    setRequestHandler: (method, handler) =>
      // deno-lint-ignore no-explicit-any -- the two schemas' handler types differ
      client.setRequestHandler(schemas[method as keyof typeof schemas] as any, handler as any),
  };
}

/**
 * Registers elicitation and sampling handlers that record what the client was asked; the
 * elicitation is answered after `thinkMs` (a person reading the question).
 */
function recordAsked(client: Handlers, asked: Asked, thinkMs: number, name: string): void {
  client.setRequestHandler("elicitation/create", async (request) => {
    asked.elicited.push(String((request.params as { message: string }).message));
    await delay(thinkMs);
    return { action: "accept", content: { name } };
  });
  client.setRequestHandler("sampling/createMessage", (request) => {
    const { messages } = request.params as { messages: { content: { text: string } }[] };
    asked.sampled.push(messages[0].content.text);
    return {
      role: "assistant",
      content: { type: "text", text: `sampled by ${name}` },
      model: "test",
      stopReason: "endTurn",
    };
  });
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const CAPABILITIES = { elicitation: {}, sampling: {} };

Deno.test("SDK 1.x: a tool's second question with client A's data goes to A, not to B who started a call meanwhile", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const askedA: Asked = { elicited: [], sampled: [] };
  const askedB: Asked = { elicited: [], sampled: [] };
  const a = await connectClient(proxy.mcp.default, "mcp", {
    capabilities: CAPABILITIES,
    setup: (client) => recordAsked(legacyHandlers(client), askedA, 1_500, "A"),
  });
  const b = await connectClient(proxy.mcp.default, "mcp", {
    capabilities: CAPABILITIES,
    setup: (client) => recordAsked(legacyHandlers(client), askedB, 0, "B"),
  });
  try {
    const confided = a.callTool({ name: "confide", arguments: { secret: "A's secret" } });
    await delay(200); // A's elicitation is out and unanswered
    const slept = b.callTool({ name: "sleep", arguments: { ms: 1_500 } });
    const [resultA, resultB] = await Promise.all([confided, slept]);
    assert.deepStrictEqual(askedB, { elicited: [], sampled: [] }, "B was asked nothing");
    assert.deepStrictEqual(askedA, { elicited: ["Your name?"], sampled: ["A's secret"] });
    const replies = JSON.parse(textOf(resultA));
    assert.deepStrictEqual(replies[0].content, { name: "A" });
    assert.match(JSON.stringify(replies[1]), /sampled by A/);
    assert.deepStrictEqual(textOf(resultB), "slept");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("2026-07-28: a tool's second question with client A's data goes to A's next round, not to B", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const askedA: Asked = { elicited: [], sampled: [] };
  const askedB: Asked = { elicited: [], sampled: [] };
  const a = await connectModernClient(proxy.mcp.default, {
    capabilities: CAPABILITIES,
    setup: (client) => recordAsked(client as unknown as Handlers, askedA, 1_500, "A"),
  });
  const b = await connectModernClient(proxy.mcp.default, {
    capabilities: CAPABILITIES,
    setup: (client) => recordAsked(client as unknown as Handlers, askedB, 0, "B"),
  });
  try {
    const confided = a.callTool({ name: "confide", arguments: { secret: "A's secret" } });
    await delay(200);
    const slept = b.callTool({ name: "sleep", arguments: { ms: 1_500 } });
    const [resultA, resultB] = await Promise.all([confided, slept]);
    assert.deepStrictEqual(askedB, { elicited: [], sampled: [] }, "B was asked nothing");
    assert.deepStrictEqual(askedA, { elicited: ["Your name?"], sampled: ["A's secret"] });
    assert.match(textOf(resultA), /sampled by A/);
    assert.deepStrictEqual(textOf(resultB), "slept");
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

Deno.test("2026-07-28: 16 clients whose calls ask at the same time each get their own question, none refused", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const names = Array.from({ length: 16 }, (_, i) => `client ${i}`);
  const asked = names.map(() => ({ elicited: [], sampled: [] } as Asked));
  const clients = await Promise.all(names.map((name, i) =>
    connectModernClient(proxy.mcp.default, {
      capabilities: CAPABILITIES,
      setup: (client) => recordAsked(client as unknown as Handlers, asked[i], 0, name),
    })
  ));
  try {
    // The proxy learns that this server asks its clients from a first call.
    await clients[0].callTool({ name: "ask", arguments: {} });
    const results = await Promise.all(
      clients.map((client) => client.callTool({ name: "ask", arguments: { rounds: 2 } })),
    );
    results.forEach((result, i) => {
      const replies = JSON.parse(textOf(result)) as { content: unknown }[];
      assert.deepStrictEqual(replies.map((reply) => reply.content), [
        { name: names[i] },
        { name: names[i] },
      ]);
    });
    asked.forEach((what, i) => assert.strictEqual(what.elicited.length, i === 0 ? 3 : 2));
    const log = proxy.process.stderr;
    assert.doesNotMatch(log, /cannot route/);
    assert.match(
      log,
      /asks its clients \(elicitation\/create\): from now on it gets the calls of one/,
    );
  } finally {
    await Promise.all(clients.map((client) => client.close()));
  }
});
