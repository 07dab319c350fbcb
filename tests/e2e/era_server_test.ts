/**
 * Server mode speaks both protocol eras on `/mcp`: SDK v2 clients pinned to 2026-07-28 and
 * SDK 1.x clients use one proxy at the same time, in front of legacy stdio children.
 * @module
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { connectModernClient, envelope, modernPost } from "../support/modern_client.ts";
import { EVERYTHING_ARGS, startServerProxy } from "../support/server_proxy.ts";
import { ROOT } from "../support/paths.ts";

const FIXTURE_ARGS = ["--", "node", `${ROOT}tests/fixtures/era_legacy_server.mjs`];

type Content = { content: { type: string; text: string }[] };
const textOf = (result: unknown) => (result as Content).content[0].text;

Deno.test("modern and legacy clients share one legacy child, each seeing only its own traffic", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const modern = await connectModernClient(proxy.mcp.default);
  const legacyHttp = await connectClient(proxy.mcp.default, "mcp");
  const legacySse = await connectClient(proxy.sse.default, "sse");
  try {
    assert.deepStrictEqual(modern.getServerVersion()?.name, "era-legacy-fixture");
    assert.deepStrictEqual(modern.getInstructions(), "A fixture for the era tests.");
    const results = await Promise.all(
      [modern, legacyHttp, legacySse].flatMap((client, i) =>
        Array.from(
          { length: 10 },
          (_, j) =>
            client.callTool({ name: "echo", arguments: { text: `${i}:${j}` } }).then(textOf),
        )
      ),
    );
    assert.deepStrictEqual(
      results,
      [0, 1, 2].flatMap((i) => Array.from({ length: 10 }, (_, j) => `${i}:${j}`)),
    );
    const tools = await modern.listTools();
    assert.ok(tools.tools.some((tool) => tool.name === "ask"));
  } finally {
    await Promise.all([modern.close(), legacyHttp.close(), legacySse.close()]);
  }
});

Deno.test("a modern call's progress reaches only its own client, beside legacy ones", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const modern = await connectModernClient(proxy.mcp.default);
  const legacy = await connectClient(proxy.mcp.default, "mcp");
  try {
    const seen = { modern: [] as number[], legacy: [] as number[] };
    const params = { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 4 } };
    await Promise.all([
      modern.callTool(params, { onprogress: (progress) => seen.modern.push(progress.progress) }),
      legacy.callTool(params, undefined, {
        onprogress: (progress) => seen.legacy.push(progress.progress),
      }),
    ]);
    assert.deepStrictEqual(seen.modern, [1, 2, 3, 4]);
    assert.deepStrictEqual(seen.legacy, [1, 2, 3, 4]);
  } finally {
    await Promise.all([modern.close(), legacy.close()]);
  }
});

Deno.test("a modern request gets the child's logs only at the level it asked for", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const lines: string[] = [];
  const modern = await connectModernClient(proxy.mcp.default, {
    setup: (client) =>
      client.setNotificationHandler("notifications/message", (notification) => {
        lines.push(String(notification.params.data));
      }),
  });
  try {
    await modern.callTool({ name: "log", arguments: {} });
    assert.deepStrictEqual(lines, [], "no level asked: no logs");
    // The SDK has no option for it: the level goes into the request's own _meta.
    await modern.callTool({
      name: "log",
      arguments: {},
      _meta: { "io.modelcontextprotocol/logLevel": "warning" },
    });
    assert.deepStrictEqual(lines, ["warning line"]);
  } finally {
    await modern.close();
  }
});

Deno.test("subscriptions/listen carries list changes and resource updates to a modern client", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const changes: string[] = [];
  const modern = await connectModernClient(proxy.mcp.default, {
    setup: (client) => {
      client.setNotificationHandler("notifications/tools/list_changed", () => {
        changes.push("tools");
      });
      client.setNotificationHandler("notifications/resources/updated", (notification) => {
        changes.push(notification.params.uri);
      });
    },
  });
  const legacy = await connectClient(proxy.mcp.default, "mcp");
  try {
    const subscription = await modern.listen({
      toolsListChanged: true,
      promptsListChanged: true,
      resourceSubscriptions: ["test://watched"],
    });
    // The child has no prompts capability: that part of the filter is not honoured.
    assert.deepStrictEqual(subscription.honoredFilter, {
      toolsListChanged: true,
      resourceSubscriptions: ["test://watched"],
    });
    await legacy.callTool({ name: "touch", arguments: {} });
    for (let i = 0; i < 100 && changes.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepStrictEqual(changes.sort(), ["test://watched", "tools"]);
    await subscription.close();
  } finally {
    await Promise.all([modern.close(), legacy.close()]);
  }
});

Deno.test("a legacy child's elicitation and sampling reach a modern client as input_required rounds", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const asked: string[] = [];
  const modern = await connectModernClient(proxy.mcp.default, {
    capabilities: { elicitation: {}, sampling: {} },
    setup: (client) => {
      client.setRequestHandler("elicitation/create", (request) => {
        asked.push(String(request.params.message));
        return Promise.resolve({ action: "accept", content: { name: `answer ${asked.length}` } });
      });
      client.setRequestHandler("sampling/createMessage", () => {
        asked.push("sampling");
        return Promise.resolve({
          role: "assistant",
          content: { type: "text", text: "sampled" },
          model: "test",
          stopReason: "endTurn",
        });
      });
    },
  });
  try {
    const twoRounds = await modern.callTool({ name: "ask", arguments: { rounds: 2 } });
    assert.deepStrictEqual(asked, ["Round 1?", "Round 2?"]);
    assert.deepStrictEqual(
      JSON.parse(textOf(twoRounds)).map((r: { content: unknown }) => r.content),
      [
        { name: "answer 1" },
        { name: "answer 2" },
      ],
    );
    const both = await modern.callTool({ name: "ask-both", arguments: {} });
    assert.deepStrictEqual(asked.slice(2).sort(), ["Your name?", "sampling"]);
    assert.match(textOf(both), /sampled/);
  } finally {
    await modern.close();
  }
});

Deno.test("MRTR refuses a tampered requestState and asks again for a missing input response", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const call = (id: number, extra: Record<string, unknown> = {}) =>
    modernPost(url, {
      id,
      method: "tools/call",
      params: { name: "ask", arguments: {}, _meta: envelope({ elicitation: {} }), ...extra },
    });
  const first = await call(1);
  const result = first.body.result as Record<string, unknown>;
  assert.deepStrictEqual(result.resultType, "input_required");
  const [key] = Object.keys(result.inputRequests as object);
  const state = result.requestState as string;

  const tampered = await call(2, { requestState: state.slice(0, -2) + "xx", inputResponses: {} });
  assert.deepStrictEqual(tampered.body.id, 2);
  assert.deepStrictEqual((tampered.body.error as { code: number }).code, -32602);

  const missing = await call(3, { requestState: state, inputResponses: { other: {} } });
  const again = missing.body.result as Record<string, unknown>;
  assert.deepStrictEqual(missing.body.id, 3);
  assert.deepStrictEqual(again.resultType, "input_required");
  assert.deepStrictEqual(Object.keys(again.inputRequests as object), [key]);

  const done = await call(4, {
    requestState: again.requestState,
    inputResponses: { [key]: { action: "accept", content: { name: "late" } } },
  });
  assert.deepStrictEqual(done.body.id, 4);
  assert.match(textOf(done.body.result), /late/);
});

Deno.test("a modern client without the elicitation capability is not asked; the child hears -32021", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const answer = await modernPost(proxy.mcp.default, {
    id: 7,
    method: "tools/call",
    params: { name: "ask", arguments: {}, _meta: envelope({}) },
  });
  assert.deepStrictEqual(answer.body.id, 7);
  const result = answer.body.result as Record<string, unknown>;
  assert.deepStrictEqual(result.resultType, "complete");
  assert.match(textOf(result), /-32021/);
});

Deno.test("the modern validation ladder answers each fault with its code and the request's id", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const echo = (meta: Record<string, unknown>) => ({
    id: 5,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "x" }, _meta: meta },
  });
  const cases: [
    string,
    Promise<{ status: number; body: Record<string, unknown> }>,
    number,
    number,
  ][] = [
    ["no envelope under a modern header", modernPost(url, echo({})), 400, -32602],
    [
      "header and body versions differ",
      modernPost(url, echo(envelope()), { "mcp-protocol-version": "2026-08-01" }),
      400,
      -32020,
    ],
    ["Mcp-Name differs", modernPost(url, echo(envelope()), { "mcp-name": "other" }), 400, -32020],
    [
      "Mcp-Method differs",
      modernPost(url, echo(envelope()), { "mcp-method": "tools/list" }),
      400,
      -32020,
    ],
    [
      "unsupported version",
      modernPost(
        url,
        echo({ ...envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" }),
        { "mcp-protocol-version": "2099-01-01" },
      ),
      400,
      -32022,
    ],
    [
      "removed method",
      modernPost(url, { id: 5, method: "ping", params: { _meta: envelope() } }),
      404,
      -32601,
    ],
  ];
  for (const [what, answer, status, code] of cases) {
    const { status: got, body } = await answer;
    assert.deepStrictEqual(
      [got, (body.error as { code: number }).code, body.id],
      [status, code, 5],
      what,
    );
  }
  const unsupported = await modernPost(
    url,
    echo({ ...envelope(), "io.modelcontextprotocol/protocolVersion": "2099-01-01" }),
    { "mcp-protocol-version": "2099-01-01" },
  );
  const data =
    (unsupported.body.error as { data: { supported: string[]; requested: string } }).data;
  assert.deepStrictEqual(data.requested, "2099-01-01");
  assert.ok(data.supported.includes("2026-07-28") && data.supported.includes("2025-11-25"));

  const get = await fetch(url, { headers: { "mcp-protocol-version": "2026-07-28" } });
  await get.body?.cancel();
  assert.deepStrictEqual(get.status, 405);
});

Deno.test("modern results carry resultType, serverInfo and cache hints; not-found is -32602", async () => {
  await using proxy = await startServerProxy(FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const list = await modernPost(url, {
    id: 1,
    method: "tools/list",
    params: { _meta: envelope() },
  });
  const result = list.body.result as Record<string, unknown>;
  assert.deepStrictEqual([result.resultType, result.ttlMs, result.cacheScope], [
    "complete",
    0,
    "private",
  ]);
  assert.deepStrictEqual(
    (result._meta as Record<string, { name: string }>)["io.modelcontextprotocol/serverInfo"].name,
    "era-legacy-fixture",
  );
  const missing = await modernPost(url, {
    id: 2,
    method: "resources/read",
    params: { uri: "test://nothing", _meta: envelope() },
  });
  assert.deepStrictEqual((missing.body.error as { code: number }).code, -32602);
  const discover = await modernPost(url, {
    id: 3,
    method: "server/discover",
    params: { _meta: envelope() },
  });
  const found = discover.body.result as Record<string, unknown>;
  assert.deepStrictEqual((found.supportedVersions as string[])[0], "2026-07-28");
  assert.deepStrictEqual(found.instructions, "A fixture for the era tests.");
});
