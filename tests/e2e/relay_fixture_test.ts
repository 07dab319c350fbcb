// deno-lint-ignore-file no-explicit-any -- tests dig into arbitrary JSON results
/**
 * The multiplexer against a fixture stdio server that reports what it saw: id and token
 * mapping, routing of server-to-client requests, notifications, subscriptions, log levels.
 */
import assert from "node:assert/strict";
import { setLogSink } from "../../src/io/log.ts";
import { TestClient } from "../support/relay_client.ts";
import { fixtureConfig, testOptions, withServer } from "../support/relay_servers.ts";
import type { SharedServer } from "../../src/core/types.ts";

/** The JSON a fixture tool returned as its text content. */
function toolJson(result: any): any {
  return JSON.parse(result.content[0].text);
}

function stats(client: TestClient, id: string | number = "stats"): Promise<any> {
  return client.request(id, "tools/call", { name: "stats" }).then(toolJson);
}

/** Waits until the relay has delivered everything the child wrote so far. */
async function settle(client: TestClient): Promise<void> {
  await client.request(`settle-${crypto.randomUUID()}`, "ping");
  await stats(client, `settle-${crypto.randomUUID()}`);
}

Deno.test("initialize is answered from the cache with the upstream's serverInfo and instructions", async () => {
  const stderr: string[] = [];
  await withServer(fixtureConfig(), async (server) => {
    assert.deepEqual(server.state, "running");
    const a = new TestClient(server);
    const b = new TestClient(server);
    const result = await a.initialize();
    assert.deepEqual(result.serverInfo, {
      name: "relay-fixture",
      title: "Relay Fixture",
      version: "1.2.3",
    });
    assert.deepEqual(result.instructions, "Fixture instructions.");
    assert.deepEqual(result.capabilities.resources, { subscribe: true });
    assert.deepEqual(result.protocolVersion, "2025-11-25");
    // An older version we speak is answered with that version.
    assert.deepEqual((await b.initialize("2025-03-26")).protocolVersion, "2025-03-26");
    const seen = await stats(a);
    assert.deepEqual(seen.initializeCount, 1, "the child is initialised once, by the proxy");
    assert.deepEqual(await a.request("p", "ping"), {});
    assert(stderr.includes("fixture stderr line"), "the child's stderr is passed on");
  }, testOptions(stderr));
});

Deno.test("non-JSON lines on the child's stdout are logged and skipped", async () => {
  const logs: string[] = [];
  const restore = setLogSink((line) => logs.push(line));
  try {
    await withServer(fixtureConfig(), async (server) => {
      const client = new TestClient(server);
      const result = await client.request(1, "tools/call", { name: "noise" });
      assert.deepEqual(toolJson(result), "noisy");
      assert.deepEqual(toolJson(await client.request(2, "tools/call", { name: "pid" })) > 0, true);
    });
  } finally {
    restore();
  }
  const skipped = logs.filter((line) => line.includes("non-JSON-RPC line"));
  assert(skipped.some((line) => line.includes("fixture server starting (not JSON)")));
  assert(skipped.some((line) => line.includes("not json, in the middle")));
  assert(skipped.some((line) => line.includes("{broken json")));
  assert(skipped.some((line) => line.endsWith(": 42\n")));
});

Deno.test("request ids and progress tokens are rewritten, params forwarded whole", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const a = new TestClient(server);
    const b = new TestClient(server);
    const params = (who: string) => ({
      name: "echo",
      arguments: { who },
      _meta: { progressToken: "tok", custom: who },
      extra: { cursor: "opaque" },
    });
    const [ra, rb] = await Promise.all([
      a.call("same", "tools/call", params("a")),
      b.call("same", "tools/call", params("b")),
    ]);
    assert.deepEqual(ra.id, "same");
    assert.deepEqual(rb.id, "same");
    const [ea, eb] = [toolJson(ra.result), toolJson(rb.result)];
    assert.deepEqual(ea.params.arguments, { who: "a" });
    assert.deepEqual(eb.params.arguments, { who: "b" });
    assert.deepEqual(ea.params.extra, { cursor: "opaque" });
    assert.deepEqual(ea.params._meta.custom, "a");
    assert.deepEqual(typeof ea.id, "number", "the child sees a proxy id");
    assert(ea.id !== eb.id, "and a different one per session");
    assert.deepEqual(ea.params._meta.progressToken, ea.id, "the token is the proxy id too");
    assert.deepEqual(a.received.find((r) => r.message.id === "same")?.relatedRequestId, "same");
  });
});

Deno.test("progress goes only to the session that owns the token, with the client's token", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const a = new TestClient(server);
    const b = new TestClient(server);
    const call = (c: TestClient, token: string | number) =>
      c.request(1, "tools/call", { name: "progress", _meta: { progressToken: token } });
    await Promise.all([call(a, "tok"), call(b, 99)]);
    const progressA = a.notifications("notifications/progress");
    const progressB = b.notifications("notifications/progress");
    assert.deepEqual(progressA.map((r) => r.message.params), [
      { progressToken: "tok", progress: 1 },
      { progressToken: "tok", progress: 2 },
    ]);
    assert.deepEqual(progressB.map((r) => r.message.params.progressToken), [99, 99]);
    assert.deepEqual(progressA.map((r) => r.relatedRequestId), [1, 1]);
  });
});

Deno.test("a paginated list is followed through its cursor", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const client = new TestClient(server);
    const first = await client.request(1, "tools/list");
    assert.deepEqual(first.nextCursor, "page-2");
    const second = await client.request(2, "tools/list", { cursor: first.nextCursor });
    assert.deepEqual(second.nextCursor, undefined);
    assert.deepEqual([...first.tools, ...second.tools].length, 8);
  });
});

Deno.test("a server-to-client request goes to the one session with a request in flight", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const a = new TestClient(server, () => ({ model: "test-model", role: "assistant" }));
    const b = new TestClient(server, () => {
      throw new Error("b must not be asked");
    });
    const result = toolJson(await a.request("call-a", "tools/call", { name: "sample" }));
    assert.deepEqual(result.id, "srv-1", "the child gets the response under its own id");
    assert.deepEqual(result.result, { model: "test-model", role: "assistant" });
    const asked = a.received.filter((r) => r.message.method === "sampling/createMessage");
    assert.deepEqual(asked.length, 1);
    assert.deepEqual(asked[0].relatedRequestId, "call-a");
    assert(asked[0].message.id !== "srv-1", "the client sees a proxy id");
    assert.deepEqual(b.received.length, 0);
  });
});

Deno.test("a server-to-client request is refused when several sessions are busy", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const a = new TestClient(server);
    const b = new TestClient(server, () => ({ unexpected: true }));
    a.call("w", "tools/call", { name: "wait" });
    await settle(a); // a's wait is now in flight upstream
    const result = toolJson(await b.request(1, "tools/call", { name: "sample" }));
    assert.match(result.error.message, /cannot route sampling\/createMessage: 2 client sessions/);
    assert.deepEqual(a.received.some((r) => r.message.method === "sampling/createMessage"), false);
    assert.deepEqual(b.received.some((r) => r.message.method === "sampling/createMessage"), false);
    a.notify("notifications/cancelled", { requestId: "w" });
  });
});

Deno.test("cancellations are mapped to the canceller's own request", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const a = new TestClient(server);
    const b = new TestClient(server);
    const c = new TestClient(server);
    a.call(7, "tools/call", { name: "wait" });
    await settle(a);
    b.call(7, "tools/call", { name: "wait" });
    await settle(b);
    a.notify("notifications/cancelled", { requestId: 7, reason: "user" });
    c.notify("notifications/cancelled", { requestId: 7, reason: "not mine" });
    let seen = await stats(c);
    assert.deepEqual(seen.cancelled.length, 1);
    const [cancelledA] = seen.cancelled;
    assert.deepEqual(typeof cancelledA, "number");
    // Closing a session cancels its requests upstream.
    b.session.close();
    b.forget(7);
    seen = await stats(c, "stats-2");
    assert.deepEqual(seen.cancelled.length, 2);
    assert(seen.cancelled[0] < seen.cancelled[1], "a's wait was sent before b's");
  });
});

Deno.test("list_changed goes to every session", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const clients = [new TestClient(server), new TestClient(server), new TestClient(server)];
    for (const client of clients) await client.initialize();
    // A session whose initialize has not been answered yet gets no notification before it.
    const early = new TestClient(server);
    await clients[0].request(1, "tools/call", {
      name: "notify",
      arguments: { method: "notifications/tools/list_changed" },
    });
    for (const client of [...clients, early]) await settle(client);
    for (const client of clients) {
      assert.deepEqual(client.notifications("notifications/tools/list_changed").length, 1);
    }
    assert.deepEqual(early.notifications("notifications/tools/list_changed"), []);
  });
});

Deno.test("resources/updated goes only to the sessions subscribed to that URI", async () => {
  await withServer(fixtureConfig(), async (server: SharedServer) => {
    const [a, b, c] = [new TestClient(server), new TestClient(server), new TestClient(server)];
    await a.request(1, "resources/subscribe", { uri: "file:///a" });
    await b.request(1, "resources/subscribe", { uri: "file:///a" });
    await c.request(1, "resources/subscribe", { uri: "file:///b" });
    const update = (client: TestClient, uri: string) =>
      client.request(`u-${uri}`, "tools/call", {
        name: "notify",
        arguments: { method: "notifications/resources/updated", params: { uri } },
      });
    await update(c, "file:///a");
    for (const client of [a, b, c]) await settle(client);
    const updates = (client: TestClient) =>
      client.notifications("notifications/resources/updated").map((r) => r.message.params.uri);
    assert.deepEqual(updates(a), ["file:///a"]);
    assert.deepEqual(updates(b), ["file:///a"]);
    assert.deepEqual(updates(c), []);

    await a.request(2, "resources/unsubscribe", { uri: "file:///a" });
    let seen = await stats(c);
    assert.deepEqual(
      seen.subscribed,
      ["file:///a", "file:///b"],
      "subscribed upstream once per URI",
    );
    assert.deepEqual(seen.unsubscribed, [], "b still wants file:///a");
    await update(c, "file:///a");
    await settle(b);
    assert.deepEqual(updates(a), ["file:///a"], "a unsubscribed");
    assert.deepEqual(updates(b), ["file:///a", "file:///a"]);

    b.session.close();
    seen = await stats(c, "stats-2");
    assert.deepEqual(seen.unsubscribed, ["file:///a"], "the last subscriber left");
  });
});

Deno.test("logging/setLevel is answered per session; messages are filtered per session", async () => {
  await withServer(fixtureConfig(), async (server) => {
    const [a, b, c] = [new TestClient(server), new TestClient(server), new TestClient(server)];
    for (const client of [a, b, c]) await client.initialize();
    assert.deepEqual(await a.request(1, "logging/setLevel", { level: "error" }), {});
    assert.deepEqual(await b.request(1, "logging/setLevel", { level: "info" }), {});
    const bad = await b.call(2, "logging/setLevel", { level: "loud" });
    assert.deepEqual(bad.error.code, -32602);
    // Each logs within a call of its own: a log tied to a request reaches its session only.
    const log = (client: TestClient, level: string) =>
      client.request(`log-${level}`, "tools/call", {
        name: "notify",
        arguments: { method: "notifications/message", params: { level, data: level } },
      });
    for (const client of [a, b, c]) {
      await log(client, "warning");
      await log(client, "critical");
    }
    for (const client of [a, b, c]) await settle(client);
    const data = (client: TestClient) =>
      client.notifications("notifications/message").map((r) => r.message.params.data);
    assert.deepEqual(data(a), ["critical"]);
    assert.deepEqual(data(b), ["warning", "critical"]);
    assert.deepEqual(data(c), ["warning", "critical"], "no level set: everything");
    const seen = await stats(c);
    assert.deepEqual(seen.logLevels, ["error", "info"], "upstream gets the most verbose level");
    // The session with a request in flight gets its log messages related to that request.
    assert.deepEqual(c.notifications("notifications/message")[0].relatedRequestId, "log-warning");
  });
});

Deno.test("hundreds of malformed or odd messages from the child: no restart, no hang, others served", async () => {
  const logs: string[] = [];
  const restore = setLogSink((line) => logs.push(line));
  try {
    await withServer(fixtureConfig(), async (server) => {
      const a = new TestClient(server);
      const b = new TestClient(server);
      await a.initialize();
      await b.initialize();
      const pid = toolJson(await b.request("pid-before", "tools/call", { name: "pid" }));
      // a's call makes the child write 20 rounds of odd lines (560 messages) before its answer;
      // b keeps calling meanwhile.
      const odd = a.request("odd", "tools/call", { name: "odd", arguments: { rounds: 20 } });
      const others = Array.from(
        { length: 20 },
        (_, i) => b.request(`echo-${i}`, "tools/call", { name: "echo", arguments: { i } }),
      );
      assert.deepEqual(toolJson(await odd), "odd done");
      assert.equal((await Promise.all(others)).length, 20);
      await settle(a);
      assert.equal(toolJson(await b.request("pid-after", "tools/call", { name: "pid" })), pid);
      assert.equal(server.state, "running");
      // Requests of the child's own with params that are not objects were refused, with their ids.
      const seen = await stats(a);
      const refused = seen.strayResponses.filter((r: any) => r.error?.code === -32602);
      assert.deepEqual(new Set(refused.map((r: any) => r.id)), new Set(["odd-params", "odd-meta"]));
      assert.equal(refused.length, 40);
      assert.equal(seen.strayResponses.filter((r: any) => r.id === "odd-ping").length, 20);
      // Exactly one answer reached a for its call, though the child wrote it twice.
      assert.equal(a.received.filter((r) => r.message.id === "odd").length, 1);
    });
  } finally {
    restore();
  }
  assert.deepEqual(logs.filter((line) => /restart|ended|exited/.test(line)), []);
});
