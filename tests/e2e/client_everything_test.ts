/**
 * Client mode against the reference "everything" server, in its `sse` and `streamableHttp`
 * modes: an SDK client on mcp-proxy's stdio sees the remote server as if it were local.
 */
import assert from "node:assert/strict";
import { mcpTypes } from "../support/sdk.ts";
import { EverythingServer } from "../support/everything_server.ts";
import { Client } from "../support/mcp_client.ts";
import { isJsonRpcLine, ProxyStdio } from "../support/proxy_stdio.ts";

const {
  CreateMessageRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} = mcpTypes;
type Notification = mcpTypes.Notification;

/** Resolves with the first notification that passes `test`, or rejects after `ms`. */
function collector<T extends Notification>() {
  const seen: T[] = [];
  const waiters: { test: (n: T) => boolean; resolve: (n: T) => void }[] = [];
  return {
    seen,
    add(notification: T) {
      seen.push(notification);
      for (const waiter of waiters.filter((w) => w.test(notification))) {
        waiter.resolve(notification);
      }
    },
    async wait(test: (n: T) => boolean, ms = 12_000): Promise<T> {
      const found = seen.find(test);
      if (found) return found;
      const { promise, resolve, reject } = Promise.withResolvers<T>();
      const timer = setTimeout(() => reject(new Error("notification never came")), ms);
      waiters.push({ test, resolve });
      return await promise.finally(() => clearTimeout(timer));
    },
  };
}

for (const mode of ["sse", "streamableHttp"] as const) {
  const transportArgs = mode === "sse" ? [] : ["--transport", "streamablehttp"];

  Deno.test(`client mode (${mode}): the everything server works through mcp-proxy`, async (t) => {
    const server = await EverythingServer.start(mode);
    const proxy = new ProxyStdio([...transportArgs, server.url]);
    const client = new Client(
      { name: "stdio-test-client", version: "1.0.0" },
      { capabilities: { sampling: {}, roots: { listChanged: true } } },
    );
    const rootsAsked = Promise.withResolvers<void>();
    client.setRequestHandler(ListRootsRequestSchema, () => {
      rootsAsked.resolve();
      return { roots: [{ uri: "file:///tmp/mcp-proxy-test-root", name: "test root" }] };
    });
    client.setRequestHandler(CreateMessageRequestSchema, (request) => ({
      model: "stdio-test-model",
      role: "assistant",
      content: { type: "text", text: `sampled: ${request.params.messages.length} message(s)` },
    }));
    const logs = collector<Notification>();
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.add(n));
    const updates = collector<Notification>();
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.add(n));
    try {
      await client.connect(proxy);
      assert.equal(client.getServerVersion()?.name, "mcp-servers/everything");

      await t.step("tools/list", async () => {
        const { tools } = await client.listTools();
        const names = tools.map((tool) => tool.name);
        assert.ok(names.includes("echo"), names.join());
        assert.ok(names.includes("trigger-long-running-operation"));
      });

      await t.step("server-initiated roots/list is answered by the client", async () => {
        await rootsAsked.promise;
        const log = await logs.wait((n) => String(n.params?.data).startsWith("Roots updated"));
        assert.match(String(log.params?.data), /1 root\(s\) received/);
      });

      await t.step("tools/call with progress notifications", async () => {
        const progress: number[] = [];
        const result = await client.callTool(
          { name: "trigger-long-running-operation", arguments: { duration: 0.6, steps: 3 } },
          undefined,
          { onprogress: (p) => progress.push(p.progress) },
        );
        assert.match(JSON.stringify(result.content), /Long running operation completed/);
        // The SDK client drops progress that it handles after the response (it dispatches
        // notifications a tick later), so check the order on the wire as well.
        assert.ok(progress.length >= 1);
        assert.deepEqual(progress, [1, 2, 3].slice(0, progress.length));
        const lines = proxy.stdoutLines.map((line) => JSON.parse(line));
        const done = lines.findIndex((m) => /Long running/.test(JSON.stringify(m.result ?? "")));
        const steps = lines.slice(0, done).filter((m) =>
          m.method === "notifications/progress" && m.params.total === 3
        );
        assert.deepEqual(steps.map((m) => m.params.progress), [1, 2, 3]);
      });

      await t.step("sampling request from the server, answered by the client", async () => {
        const result = await client.callTool({
          name: "trigger-sampling-request",
          arguments: { prompt: "hello", maxTokens: 5 },
        });
        const text = JSON.stringify(result.content);
        assert.match(text, /stdio-test-model/);
        assert.match(text, /sampled: 1 message/);
      });

      await t.step("resource subscribe, logging, then resources/updated", async () => {
        const { resources } = await client.listResources();
        const uri = resources[0].uri;
        await client.subscribeResource({ uri });
        await logs.wait((n) => String(n.params?.data).includes(`Subscribe Resource request`));
        await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
        const updated = await updates.wait((n) => n.params?.uri === uri);
        assert.equal(updated.method, "notifications/resources/updated");
        await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
      });
    } finally {
      await client.close();
      await server.kill();
    }
    assert.ok(proxy.stdoutLines.length > 0);
    for (const line of proxy.stdoutLines) assert.ok(isJsonRpcLine(line), `not JSON-RPC: ${line}`);
  });
}
