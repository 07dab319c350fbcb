/**
 * A modern child behind the legacy multiplexer (ModernAdapter), and the modern HTTP headers,
 * in process: what reaches the child, what reaches the multiplexer, MRTR rounds.
 * @module
 */
import assert from "node:assert/strict";
import {
  MAX_CHILD_SUBSCRIPTIONS,
  ModernAdapter,
  URIS_PER_LISTEN_STREAM,
} from "../../../src/core/modern_adapter.ts";
import type { SessionContext } from "../../../src/protocol/handshake.ts";
import { eraOfDiscoverAnswer } from "../../../src/protocol/probe.ts";
import {
  decodeHeaderValue,
  encodeHeaderValue,
  requestHeaders,
  scanParamHeaders,
  ToolHeaderTable,
} from "../../../src/protocol/headers.ts";

// deno-lint-ignore no-explicit-any -- the tests read fields of loosely typed messages
type Message = any;

const DISCOVER = {
  supportedVersions: ["2026-07-28"],
  capabilities: { tools: { listChanged: true }, resources: { subscribe: true } },
  serverInfo: { name: "modern", version: "1" },
};

function harness() {
  const toChild: Message[] = [];
  const toMux: Message[] = [];
  const asked: [unknown, string][] = [];
  const child: ModernAdapter = new ModernAdapter(DISCOVER, { name: "mcp-proxy", version: "0" }, {
    toChild: (m) => toChild.push(m),
    toMux: (m, relatedTo) => {
      if (m.method === undefined || m.id === undefined) return toMux.push(m);
      // A client request, answered at once by the fake client of request `relatedTo`.
      asked.push([relatedTo, m.method]);
      child.send({
        jsonrpc: "2.0",
        id: m.id,
        result: { action: "accept", content: { n: asked.length } },
      });
    },
  });
  return { child, toChild, toMux, asked };
}

const SESSION: SessionContext = {
  id: 1,
  handshake: {
    protocolVersion: "2025-11-25",
    capabilities: { elicitation: {} },
    clientInfo: { name: "legacy-client", version: "1" },
  },
  logLevel: "info",
};

Deno.test("each request reaches a modern child with its own session's envelope", () => {
  const { child, toChild } = harness();
  child.send({ jsonrpc: "2.0", id: 7, method: "tools/list", params: {} }, SESSION);
  assert.deepEqual(toChild[0], {
    jsonrpc: "2.0",
    id: 7,
    method: "tools/list",
    params: {
      _meta: {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
        "io.modelcontextprotocol/clientInfo": { name: "legacy-client", version: "1" },
        "io.modelcontextprotocol/logLevel": "info",
      },
    },
  });
});

Deno.test("ping and logging/setLevel are answered for a modern child; its results lose modern fields", () => {
  const { child, toChild, toMux } = harness();
  child.send({ jsonrpc: "2.0", id: 1, method: "ping" });
  child.send({ jsonrpc: "2.0", id: 2, method: "logging/setLevel", params: { level: "info" } });
  assert.equal(toChild.length, 0);
  child.send({ jsonrpc: "2.0", id: 3, method: "tools/list" }, SESSION);
  child.fromChild({
    jsonrpc: "2.0",
    id: 3,
    result: { tools: [], resultType: "complete", ttlMs: 5, cacheScope: "public" },
  });
  assert.deepEqual(toMux, [
    { jsonrpc: "2.0", id: 1, result: {} },
    { jsonrpc: "2.0", id: 2, result: {} },
    { jsonrpc: "2.0", id: 3, result: { tools: [] } },
  ]);
});

Deno.test("input_required from a modern child becomes client requests, then a retry with the answers", async () => {
  const { child, toChild, toMux, asked } = harness();
  child.send({ jsonrpc: "2.0", id: 9, method: "tools/call", params: { name: "t" } }, SESSION);
  child.fromChild({
    jsonrpc: "2.0",
    id: 9,
    result: {
      resultType: "input_required",
      inputRequests: { a: { method: "elicitation/create", params: { message: "?" } } },
      requestState: "opaque",
    },
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.deepEqual(asked, [[9, "elicitation/create"]]);
  const retry = toChild[1];
  assert.notEqual(retry.id, 9, "a retry is a new request");
  const params = retry.params as Message;
  assert.equal(params.requestState, "opaque");
  assert.deepEqual(params.inputResponses, { a: { action: "accept", content: { n: 1 } } });
  child.fromChild({
    jsonrpc: "2.0",
    id: retry.id,
    result: { content: [], resultType: "complete" },
  });
  assert.deepEqual(toMux.at(-1), { jsonrpc: "2.0", id: 9, result: { content: [] } });
});

Deno.test("list changes ride one listen stream; subscriptions others, reopened once per turn; tags are removed", async () => {
  const { child, toChild, toMux } = harness();
  child.start();
  const changes = toChild[0];
  assert.equal(changes.method, "subscriptions/listen");
  assert.deepEqual((changes.params as Message).notifications, { toolsListChanged: true });
  child.send({ jsonrpc: "2.0", id: 4, method: "resources/subscribe", params: { uri: "r://x" } });
  child.send({ jsonrpc: "2.0", id: 5, method: "resources/subscribe", params: { uri: "r://y" } });
  assert.equal(toChild.length, 1, "the streams follow at the end of the turn");
  await Promise.resolve();
  const uris = toChild[1];
  assert.equal(toChild.length, 2, "two changes in one turn: one listen request");
  assert.deepEqual((uris.params as Message).notifications, {
    resourceSubscriptions: ["r://x", "r://y"],
  });
  child.send({ jsonrpc: "2.0", id: 6, method: "resources/unsubscribe", params: { uri: "r://y" } });
  await Promise.resolve();
  assert.deepEqual(toChild[2], {
    jsonrpc: "2.0",
    method: "notifications/cancelled",
    params: { requestId: uris.id, reason: "Subscriptions changed" },
  });
  const reopened = toChild[3];
  assert.deepEqual((reopened.params as Message).notifications, {
    resourceSubscriptions: ["r://x"],
  });
  const tagged = (method: string, id: string, uri?: string) => ({
    jsonrpc: "2.0" as const,
    method,
    params: { ...(uri ? { uri } : {}), _meta: { "io.modelcontextprotocol/subscriptionId": id } },
  });
  child.fromChild(tagged("notifications/resources/updated", reopened.id, "r://x"));
  child.fromChild(tagged("notifications/resources/updated", uris.id, "r://x")); // a straggler
  child.fromChild(tagged("notifications/tools/list_changed", changes.id));
  child.fromChild(tagged("notifications/tools/list_changed", reopened.id)); // not its stream's
  assert.deepEqual(toMux, [
    { jsonrpc: "2.0", id: 4, result: {} },
    { jsonrpc: "2.0", id: 5, result: {} },
    { jsonrpc: "2.0", id: 6, result: {} },
    { jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri: "r://x" } },
    { jsonrpc: "2.0", method: "notifications/tools/list_changed", params: {} },
  ]);
});

Deno.test("a subscription flood costs the child linear traffic, and stops at the cap with an error", async () => {
  const { child, toChild, toMux } = harness();
  const subscribe = (id: number, uri: string) =>
    child.send({ jsonrpc: "2.0", id, method: "resources/subscribe", params: { uri } });
  const urisSent = () =>
    toChild.filter((m) => m.method === "subscriptions/listen").reduce(
      (sum, m) => sum + (m.params.notifications.resourceSubscriptions?.length ?? 0),
      0,
    );
  // In one turn: each stream opens once.
  for (let i = 0; i < MAX_CHILD_SUBSCRIPTIONS; i++) subscribe(i, `r://${i}`);
  await Promise.resolve();
  assert.equal(urisSent(), MAX_CHILD_SUBSCRIPTIONS);
  assert.ok(
    toChild.every((m) =>
      (m.params?.notifications?.resourceSubscriptions?.length ?? 0) <= URIS_PER_LISTEN_STREAM
    ),
  );
  // One change per turn: each re-sends one stream, not every URI.
  const before = urisSent();
  for (let i = 0; i < 50; i++) {
    child.send({
      jsonrpc: "2.0",
      id: `u${i}`,
      method: "resources/unsubscribe",
      params: { uri: `r://${i}` },
    });
    await Promise.resolve();
  }
  assert.ok(urisSent() - before <= 50 * URIS_PER_LISTEN_STREAM);
  subscribe(-1, "r://new-1");
  subscribe(-2, "r://0x"); // still within the cap after 50 left
  assert.equal(toMux.filter((m) => m.error).length, 0);
  for (let i = 0; i < 48; i++) subscribe(-3 - i, `r://more-${i}`);
  subscribe(-100, "r://one-too-many");
  const refused = toMux.at(-1);
  assert.equal(refused.id, -100);
  assert.equal(refused.error.code, -32603);
  assert.match(refused.error.message, /at most 10000 resources/);
});

Deno.test("a discover answer decides the era: modern only when it offers 2026-07-28", () => {
  assert.equal(eraOfDiscoverAnswer({ result: DISCOVER }).era, "modern");
  assert.equal(
    eraOfDiscoverAnswer({ result: { supportedVersions: ["2099-01-01"] } }).era,
    "legacy",
  );
  assert.equal(eraOfDiscoverAnswer({ error: { code: -32601, message: "no" } }).era, "legacy");
});

Deno.test("modern request headers mirror the body; x-mcp-header parameters are encoded", () => {
  const schema = {
    type: "object",
    properties: {
      region: { type: "string", "x-mcp-header": "Region" },
      nested: { type: "object", properties: { n: { type: "integer", "x-mcp-header": "N" } } },
    },
  };
  const scan = scanParamHeaders(schema);
  assert.ok(scan.valid);
  const headers = requestHeaders({
    jsonrpc: "2.0",
    id: 1,
    method: "tools/call",
    params: {
      name: "Hello, 世界",
      arguments: { region: " padded ", nested: { n: 42 } },
      _meta: { "io.modelcontextprotocol/protocolVersion": "2026-07-28" },
    },
  }, scan.headers);
  assert.deepEqual(headers, {
    "mcp-protocol-version": "2026-07-28",
    "mcp-method": "tools/call",
    "mcp-name": "=?base64?SGVsbG8sIOS4lueVjA==?=",
    "mcp-param-region": "=?base64?IHBhZGRlZCA=?=",
    "mcp-param-n": "42",
  });
  assert.equal(decodeHeaderValue(headers["mcp-name"]), "Hello, 世界");
  assert.equal(encodeHeaderValue("=?base64?literal?="), "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=");
});

Deno.test("tools with invalid x-mcp-header declarations are left out of the list", () => {
  const table = new ToolHeaderTable();
  const dropped: string[] = [];
  const result = table.learn({
    tools: [
      {
        name: "ok",
        inputSchema: { type: "object", properties: { a: { type: "string", "x-mcp-header": "A" } } },
      },
      {
        name: "number",
        inputSchema: { type: "object", properties: { a: { type: "number", "x-mcp-header": "A" } } },
      },
      {
        name: "twice",
        inputSchema: {
          type: "object",
          properties: {
            a: { type: "string", "x-mcp-header": "A" },
            b: { type: "string", "x-mcp-header": "a" },
          },
        },
      },
      {
        name: "array",
        inputSchema: {
          type: "object",
          properties: {
            a: { type: "array", items: { type: "string", "x-mcp-header": "A" } },
          },
        },
      },
      {
        name: "space",
        inputSchema: {
          type: "object",
          properties: { a: { type: "string", "x-mcp-header": "A B" } },
        },
      },
    ],
  }, (tool) => dropped.push(tool));
  assert.deepEqual((result.tools as Message[]).map((tool) => tool.name), ["ok"]);
  assert.deepEqual(dropped, ["number", "twice", "array", "space"]);
  assert.deepEqual(table.headersOf("ok"), [{ name: "A", path: ["a"] }]);
});
