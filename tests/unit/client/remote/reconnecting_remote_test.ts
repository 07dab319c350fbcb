/**
 * Client mode's reconnecting legacy remote in-process, against fake remote transports that
 * record what they are sent: its connection state machine (connecting, open, closed), the requests lost with a
 * connection, and the handshake replayed on the next one.
 */
import assert from "node:assert/strict";
import type { RemoteTransport } from "../../../../src/client/remote/legacy_session.ts";
import { ReconnectingRemote } from "../../../../src/client/remote/reconnecting_remote.ts";
import type { JSONRPCMessage } from "../../../../src/deps.ts";
import type { Logger } from "../../../../src/io/log.ts";
import type { WireMessage } from "../../../../src/protocol/jsonrpc.ts";
import { incoming } from "../../../support/messages.ts";

/** A transport that records what it is sent and answers the proxy's own requests itself. */
class FakeTransport implements RemoteTransport {
  readonly sent: WireMessage[] = [];
  protocolVersion: string | undefined;
  closed = false;
  onmessage?: (message: JSONRPCMessage) => void;
  onerror?: (error: Error) => void;
  onclose?: () => void;
  start(): Promise<void> {
    return Promise.resolve();
  }
  send(message: JSONRPCMessage): Promise<void> {
    const wire = message as WireMessage;
    this.sent.push(wire);
    // The proxy's own requests (re-initialisation, replays) are answered at once.
    if (typeof wire.id === "string" && wire.id.startsWith("mcp-proxy-")) {
      const result = wire.method === "initialize" ? { protocolVersion: "2025-11-25" } : {};
      queueMicrotask(() => this.reply({ jsonrpc: "2.0", id: wire.id, result }));
    }
    return Promise.resolve();
  }
  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
  setProtocolVersion(version: string): void {
    this.protocolVersion = version;
  }
  reply(message: WireMessage): void {
    this.onmessage?.(message as JSONRPCMessage);
  }
}

const log: Logger = { debug() {}, info() {}, warning() {}, error() {} };

/** Resolves once `test` passes (polling the event loop; a bug fails the test by its timeout). */
async function until(test: () => boolean): Promise<void> {
  while (!test()) await new Promise((resolve) => setTimeout(resolve, 1));
}

/** A remote on fake transports (each new session makes one) that records what it delivers. */
function fakeRemote() {
  const transports: FakeTransport[] = [];
  const delivered: WireMessage[] = [];
  const remote = new ReconnectingRemote({
    newTransport: () => {
      const transport = new FakeTransport();
      transports.push(transport);
      return transport;
    },
    deliver: (message) => delivered.push(message),
    log,
    timings: { backoff: { initialMs: 1, maxMs: 5, stableMs: 60_000 } },
  });
  return { remote, transports, delivered };
}

Deno.test("requests lost with a connection get -32000; the next session replays the handshake", async () => {
  const { remote, transports, delivered } = fakeRemote();
  const params = {
    protocolVersion: "2025-06-18",
    capabilities: { roots: {} },
    clientInfo: { name: "c" },
  };
  // Sent before any connection: queued, then sent once the first connection opens.
  remote.send(incoming({ jsonrpc: "2.0", id: 1, method: "initialize", params }));
  remote.send(incoming({ jsonrpc: "2.0", id: 2, method: "tools/list" }));
  remote.start();
  await until(() => transports[0]?.sent.length === 1);
  const first = transports[0];
  assert.deepEqual(first.sent[0].method, "initialize", "the rest waits for initialize's answer");
  first.reply({ jsonrpc: "2.0", id: 1, result: { protocolVersion: "2025-06-18" } });
  assert.equal(first.protocolVersion, "2025-06-18");
  remote.send(incoming({ jsonrpc: "2.0", method: "notifications/initialized" }));
  remote.send(
    incoming({ jsonrpc: "2.0", id: 3, method: "logging/setLevel", params: { level: "error" } }),
  );
  await until(() => first.sent.length === 4);
  first.reply({ jsonrpc: "2.0", id: 3, result: {} });
  assert.deepEqual(first.sent.map((m) => m.method), [
    "initialize",
    "tools/list",
    "notifications/initialized",
    "logging/setLevel",
  ]);

  first.onerror?.(new Error("SSE stream disconnected: gone"));
  assert.ok(first.closed);
  assert.deepEqual(
    delivered.find((m) => m.id === 2)?.error?.code,
    -32000,
    "tools/list was in flight",
  );

  remote.send(incoming({ jsonrpc: "2.0", id: 4, method: "tools/list" }));
  await until(() => transports[1]?.sent.some((m) => m.id === 4) ?? false);
  const second = transports[1];
  assert.deepEqual(second.sent.map((m) => m.method), [
    "initialize",
    "notifications/initialized",
    "logging/setLevel",
    "tools/list",
  ]);
  assert.deepEqual(second.sent[0].params, params, "the client's own initialize params");
  assert.equal(second.protocolVersion, "2025-11-25");
  const relayed = delivered.map((m) => m.id);
  assert.deepEqual(relayed.filter((id) => typeof id === "string"), [], "replay answers are kept");
  await remote.close();
  assert.ok(second.closed);
});

Deno.test("a response from the remote with a malformed shape is dropped, not relayed", async () => {
  const { remote, transports, delivered } = fakeRemote();
  remote.start();
  await until(() => transports.length === 1);
  await until(() => transports[0].onmessage !== undefined);
  transports[0].reply({ jsonrpc: "2.0", method: "x", params: "no" as never });
  transports[0].reply({
    jsonrpc: "2.0",
    method: "notifications/message",
    params: { level: "info" },
  });
  assert.deepEqual(delivered.map((m) => m.method), ["notifications/message"]);
  await remote.close();
});
