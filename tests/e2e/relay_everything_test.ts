// deno-lint-ignore-file no-explicit-any -- tests dig into arbitrary JSON results
/**
 * The shared server with the real `server-everything` over stdio, and in-test client sessions.
 */
import assert from "node:assert/strict";
import { setLogLevel, setLogSink } from "../../src/io/log.ts";
import { TestClient } from "../support/relay_client.ts";
import { everythingConfig, testOptions, withServer } from "../support/relay_servers.ts";

Deno.test("server-everything: initialize, tools, prompts, resources, completion, logging", async (t) => {
  await withServer(everythingConfig(), async (server) => {
    const client = new TestClient(server);

    await t.step("initialize comes from the cache with the real serverInfo", async () => {
      const result = await client.initialize();
      assert.deepEqual(result.serverInfo, {
        name: "mcp-servers/everything",
        title: "Everything Reference Server",
        version: "2.0.0",
      });
      assert.match(result.instructions, /\S/);
      assert.ok(result.capabilities.tools);
    });

    await t.step("tools/list and tools/call", async () => {
      const { tools } = await client.request(1, "tools/list");
      const names = tools.map((tool: any) => tool.name);
      assert.ok(names.includes("echo") && names.includes("trigger-sampling-request"));
      const echoed = await client.request(2, "tools/call", {
        name: "echo",
        arguments: { message: "hello" },
      });
      assert.deepEqual(echoed.content, [{ type: "text", text: "Echo: hello" }]);
      const sum = await client.request(3, "tools/call", {
        name: "get-sum",
        arguments: { a: 2, b: 40 },
      });
      assert.match(sum.content[0].text, /42/);
    });

    await t.step("prompts", async () => {
      const { prompts } = await client.request(4, "prompts/list");
      assert.ok(prompts.some((prompt: any) => prompt.name === "simple-prompt"));
      const prompt = await client.request(5, "prompts/get", { name: "simple-prompt" });
      assert.ok(prompt.messages.length > 0);
    });

    await t.step("resources and templates", async () => {
      const { resources } = await client.request(6, "resources/list");
      assert.ok(resources.length > 0);
      const read = await client.request(7, "resources/read", { uri: resources[0].uri });
      assert.equal(read.contents[0].uri, resources[0].uri);
      const { resourceTemplates } = await client.request(8, "resources/templates/list");
      assert.ok(resourceTemplates.length > 0);
    });

    await t.step("completion with context", async () => {
      const result = await client.request(9, "completion/complete", {
        ref: { type: "ref/prompt", name: "completable-prompt" },
        argument: { name: "name", value: "" },
        context: { arguments: { department: "Sales" } },
      });
      assert.deepEqual(result.completion.values, ["David", "Eve", "Frank"]);
    });

    await t.step("logging: setLevel, and a log message relayed", async () => {
      assert.deepEqual(await client.request(10, "logging/setLevel", { level: "debug" }), {});
      // Subscribing makes server-everything log an info message.
      await client.request(11, "resources/subscribe", {
        uri: "demo://resource/static/document/architecture.md",
      });
      const logged = await client.waitFor((r) =>
        r.message.method === "notifications/message" &&
        /Subscribe Resource request/.test(r.message.params.data)
      );
      assert.equal(logged.message.params.level, "info");
    });

    await t.step("unknown methods are forwarded and answered by the server", async () => {
      const response = await client.call(12, "no/such/method", { x: 1 });
      assert.equal(response.error.code, -32601);
    });
  });
});

Deno.test("server-everything: progress of a long-running tool goes only to its owner", async () => {
  await withServer(everythingConfig(), async (server) => {
    const owner = new TestClient(server);
    const other = new TestClient(server);
    const [result] = await Promise.all([
      owner.request(1, "tools/call", {
        name: "trigger-long-running-operation",
        arguments: { duration: 0.3, steps: 3 },
        _meta: { progressToken: "mine" },
      }),
      other.request(1, "tools/call", { name: "echo", arguments: { message: "x" } }),
    ]);
    assert.match(result.content[0].text, /completed/);
    const progress = owner.notifications("notifications/progress");
    assert.deepEqual(progress.map((r) => r.message.params.progress), [1, 2, 3]);
    assert.ok(progress.every((r) => r.message.params.progressToken === "mine"));
    assert.ok(progress.every((r) => r.relatedRequestId === 1));
    assert.deepEqual(other.notifications("notifications/progress"), []);
  });
});

for (const sessions of [2, 20]) {
  Deno.test(`server-everything: ${sessions} concurrent sessions using the same ids see only their own traffic`, async () => {
    await withServer(everythingConfig(), async (server) => {
      const clients = Array.from(
        { length: sessions },
        (_, i) =>
          new TestClient(server, (request) => ({
            role: "assistant",
            model: `model-${i}`,
            content: {
              type: "text",
              text: `sampled by ${i}: ${request.params.messages[0].content.text}`,
            },
          })),
      );
      // Same ids in every session, all at once: echo and a long-running tool with progress.
      await Promise.all(clients.map(async (client, i) => {
        await client.initialize();
        const [echo, long] = await Promise.all([
          client.request(1, "tools/call", { name: "echo", arguments: { message: `from ${i}` } }),
          client.request(2, "tools/call", {
            name: "trigger-long-running-operation",
            arguments: { duration: 0.2, steps: 2 },
            _meta: { progressToken: "p" },
          }),
        ]);
        assert.equal(echo.content[0].text, `Echo: from ${i}`);
        assert.match(long.content[0].text, /completed/);
      }));
      for (const client of clients) {
        const progress = client.notifications("notifications/progress");
        assert.deepEqual(progress.map((r) => [r.message.params.progress, r.relatedRequestId]), [
          [1, 2],
          [2, 2],
        ]);
      }
      // Server-initiated requests: one session at a time is unambiguous.
      for (const [i, client] of clients.entries()) {
        const result = await client.request(3, "tools/call", {
          name: "trigger-sampling-request",
          arguments: { prompt: `q${i}`, maxTokens: 5 },
        });
        assert.match(result.content[0].text, new RegExp(`sampled by ${i}: .*q${i}`));
      }
      for (const [i, client] of clients.entries()) {
        const asked = client.received.filter((r) => r.message.method === "sampling/createMessage");
        assert.equal(asked.length, 1, `session ${i} was asked exactly once`);
        assert.equal(asked[0].relatedRequestId, 3);
      }
    });
  });
}

Deno.test("server-everything asks for roots before any client exists: answered with none, quietly", async () => {
  const logs: string[] = [];
  const stderr: string[] = [];
  const restore = setLogSink((line) => logs.push(line));
  setLogLevel("DEBUG");
  try {
    await withServer(everythingConfig(), async (server) => {
      // The child asks 350 ms after its initialisation; wait for the proxy to say what it did.
      const handled = /roots\/list from 'everything'/;
      while (!logs.some((line) => handled.test(line))) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const client = new TestClient(server);
      await client.initialize();
      await client.request("after", "tools/list");
    }, testOptions(stderr));
  } finally {
    setLogLevel("INFO");
    restore();
  }
  const roots = logs.filter((line) => /roots\/list/.test(line));
  assert.deepEqual(roots.map((line) => line.slice(0, 2)), ["[D"], roots.join(""));
  assert.deepEqual(stderr.filter((line) => line.includes("Failed to request roots")), []);
});
