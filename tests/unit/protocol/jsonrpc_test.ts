// deno-lint-ignore-file no-import-prefix -- the SDK v2 is a test-only dependency here
/**
 * The shared JSON-RPC vocabulary: the classifier's verdicts, the builders, and the error codes
 * and protocol versions checked against the MCP SDK (v2, and 1.x for the codes v2 dropped),
 * which the program itself does not load.
 */
import assert from "node:assert/strict";
import * as sdk from "npm:@modelcontextprotocol/client@2.4.0";
import {
  classify,
  errorResponse,
  LATEST_LEGACY_PROTOCOL_VERSION,
  LEGACY_PROTOCOL_VERSIONS,
  MODERN_PROTOCOL_VERSION,
  ProtocolErrorCode,
  resultResponse,
} from "../../../src/protocol/jsonrpc.ts";
import { mcpTypes } from "../../support/sdk.ts";

Deno.test("classify: requests, notifications and responses, params always an object", () => {
  const request = classify({ jsonrpc: "2.0", id: 1, method: "tools/list" });
  assert.equal(request.kind, "request");
  assert.deepEqual(request.kind === "request" && request.params, {});
  assert.equal(request.kind === "request" && "params" in request.message, false, "untouched");

  const withParams = { jsonrpc: "2.0", id: "a", method: "x", params: { _meta: { k: 1 } } };
  const sorted = classify(withParams);
  assert.equal(sorted.kind === "request" && sorted.message, withParams, "the same object");
  assert.equal(sorted.kind === "request" && sorted.params, withParams.params);

  const notification = classify({ jsonrpc: "2.0", method: "notifications/progress" });
  assert.equal(notification.kind, "notification");
  assert.deepEqual(notification.kind === "notification" && notification.params, {});

  for (
    const response of [
      { jsonrpc: "2.0", id: 1, result: {} },
      { jsonrpc: "2.0", id: "x", error: { code: 1, message: "m" } },
      { jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } },
    ]
  ) {
    assert.equal(classify(response).kind, "response", JSON.stringify(response));
  }
});

Deno.test("classify: -32600 for what is not a message, -32602 for params or _meta not objects", () => {
  const cases: [unknown, number, string | number | null, boolean][] = [
    [42, -32600, null, false],
    [[{ jsonrpc: "2.0", id: 1, method: "ping" }], -32600, null, false],
    [{ jsonrpc: "1.0", id: 1, method: "ping" }, -32600, 1, false],
    [{ jsonrpc: "2.0", id: 1 }, -32600, null, false],
    [{ jsonrpc: "2.0", id: null, method: "ping" }, -32600, null, false],
    [{ jsonrpc: "2.0", id: {}, method: "ping" }, -32600, null, false],
    [{ jsonrpc: "2.0", id: 1, method: 7 }, -32600, 1, false],
    [{ jsonrpc: "2.0", id: true, result: {} }, -32600, null, false],
    [{ jsonrpc: "2.0", id: 1, method: "x", params: [1] }, -32602, 1, true],
    [{ jsonrpc: "2.0", id: 1, method: "x", params: "s" }, -32602, 1, true],
    [{ jsonrpc: "2.0", id: "r", method: "x", params: null }, -32602, "r", true],
    [{ jsonrpc: "2.0", id: 2, method: "x", params: { _meta: 3 } }, -32602, 2, true],
    [{ jsonrpc: "2.0", method: "n", params: { _meta: [] } }, -32602, null, false],
  ];
  for (const [value, code, id, isRequest] of cases) {
    const verdict = classify(value);
    assert.equal(verdict.kind, "invalid", JSON.stringify(value));
    if (verdict.kind !== "invalid") continue;
    assert.deepEqual([verdict.error.code, verdict.id, verdict.isRequest], [code, id, isRequest]);
  }
});

Deno.test("builders", () => {
  assert.deepEqual(resultResponse(1, {}), { jsonrpc: "2.0", id: 1, result: {} });
  assert.deepEqual(errorResponse(null, -32700, "m"), {
    jsonrpc: "2.0",
    id: null,
    error: { code: -32700, message: "m" },
  });
  assert.deepEqual(errorResponse("a", 1, "m", { x: 1 }).error, {
    code: 1,
    message: "m",
    data: { x: 1 },
  });
});

Deno.test("error codes are the SDK's: v2 ProtocolErrorCode, 1.x ConnectionClosed and RequestTimeout, the HTTP transports' two", () => {
  const v2 = sdk.ProtocolErrorCode as unknown as Record<string, number>;
  const shared = Object.keys(ProtocolErrorCode).filter((name) => name in v2);
  for (const name of shared) {
    assert.equal(ProtocolErrorCode[name as keyof typeof ProtocolErrorCode], v2[name], name);
  }
  // HeaderMismatch is internal to SDK v2 2.4.0 (not exported); the rest must all be there.
  assert.deepEqual(
    Object.keys(ProtocolErrorCode).filter((name) => !shared.includes(name)).sort(),
    ["ConnectionClosed", "HeaderMismatch", "RequestTimeout", "SessionNotFound", "TransportRefused"],
  );
  assert.equal(ProtocolErrorCode.ConnectionClosed, mcpTypes.ErrorCode.ConnectionClosed);
  assert.equal(ProtocolErrorCode.RequestTimeout, mcpTypes.ErrorCode.RequestTimeout);
  // The SDK's HTTP transports answer with these numbers, unnamed: a refusal, an unknown session.
  assert.equal(ProtocolErrorCode.TransportRefused, -32000);
  assert.equal(ProtocolErrorCode.SessionNotFound, -32001);
});

Deno.test("protocol versions are the SDK's: legacy list and latest, and the modern one it probes with", async () => {
  assert.deepEqual(LEGACY_PROTOCOL_VERSIONS, sdk.SUPPORTED_PROTOCOL_VERSIONS);
  assert.equal(LATEST_LEGACY_PROTOCOL_VERSION, sdk.LATEST_PROTOCOL_VERSION);
  assert.deepEqual(LEGACY_PROTOCOL_VERSIONS, mcpTypes.SUPPORTED_PROTOCOL_VERSIONS);

  // The SDK does not export its modern versions: ask an SDK v2 client in `auto` mode which
  // version its `server/discover` probe carries.
  const [clientSide, serverSide] = sdk.InMemoryTransport.createLinkedPair();
  const probe = Promise.withResolvers<Record<string, unknown>>();
  serverSide.onmessage = (message) => probe.resolve(message as Record<string, unknown>);
  await serverSide.start();
  const client = new sdk.Client({ name: "t", version: "1" }, {
    versionNegotiation: { mode: "auto" },
  });
  const connecting = client.connect(clientSide).catch(() => {});
  const message = await probe.promise;
  assert.equal(message.method, "server/discover");
  const meta = (message.params as { _meta: Record<string, unknown> })._meta;
  assert.equal(meta[sdk.PROTOCOL_VERSION_META_KEY], MODERN_PROTOCOL_VERSION);
  await serverSide.close();
  await client.close();
  await connecting;
});
