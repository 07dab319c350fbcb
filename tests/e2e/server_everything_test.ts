/**
 * Server mode end to end: the real proxy process in front of `server-everything` (and of a
 * fixture with a paginated tool list), used by the SDK client over `/mcp` and over `/sse`,
 * and by `inspector-cli`.
 */
import assert from "node:assert/strict";
import { mcpTypes } from "../support/sdk.ts";
import { INSPECTOR_CLI } from "../support/paths.ts";
import { type ClientTransportKind, connectClient } from "../support/mcp_client.ts";
import { EVERYTHING_ARGS, FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const KINDS: ClientTransportKind[] = ["mcp", "sse"];

/** The texts of server-everything's simulated log messages ("Debug-level message", …). */
const SIMULATED_LOG = /level.message/;

Deno.test("SDK client through the proxy to server-everything, over /mcp and /sse", async (t) => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  for (const kind of KINDS) {
    await t.step(kind, async (t) => {
      const client = await connectClient(proxy.sse.default.replace(/sse$/, kind), kind, {
        capabilities: { sampling: {} },
        setup: (client) =>
          client.setRequestHandler(mcpTypes.CreateMessageRequestSchema, (request) => ({
            model: "test-model",
            role: "assistant",
            content: { type: "text", text: `sampled over ${kind}: ${request.params.maxTokens}` },
          })),
      });
      try {
        // The upstream's own identity, not the proxy's.
        assert.equal(client.getServerVersion()?.name, "mcp-servers/everything");

        await t.step("tools", async () => {
          const { tools } = await client.listTools();
          assert.ok(tools.some((tool) => tool.name === "echo"));
          const result = await client.callTool({ name: "echo", arguments: { message: kind } });
          assert.deepEqual(result.content, [{ type: "text", text: `Echo: ${kind}` }]);
        });

        await t.step("prompts", async () => {
          const { prompts } = await client.listPrompts();
          assert.ok(prompts.some((prompt) => prompt.name === "simple-prompt"));
          const prompt = await client.getPrompt({ name: "simple-prompt" });
          assert.ok(prompt.messages.length > 0);
        });

        await t.step("resources", async () => {
          const { resources } = await client.listResources();
          assert.ok(resources.length > 0);
          const { contents } = await client.readResource({ uri: resources[0].uri });
          assert.equal(contents[0].uri, resources[0].uri);
          const { resourceTemplates } = await client.listResourceTemplates();
          assert.ok(resourceTemplates.length > 0);
        });

        await t.step("progress during a long-running tool", async () => {
          const progress: number[] = [];
          const result = await client.callTool(
            { name: "trigger-long-running-operation", arguments: { duration: 0.8, steps: 4 } },
            undefined,
            { onprogress: ({ progress: step }) => progress.push(step) },
          );
          // The SDK client runs notification handlers a microtask late, so the last step,
          // written just before the result, can lose the race with it and be dropped there.
          assert.deepEqual(progress.slice(0, 3), [1, 2, 3]);
          assert.ok(progress.length <= 4);
          assert.match(JSON.stringify(result.content), /Long running operation completed/);
        });

        await t.step("logging", async () => {
          const { promise: logged, resolve } = Promise.withResolvers<unknown>();
          client.fallbackNotificationHandler = (notification) => {
            // The server may log other things meanwhile; wait for the simulated messages (one
            // of whose eight texts is spelt "Alert level-message").
            const text = JSON.stringify(notification.params);
            if (notification.method === "notifications/message" && SIMULATED_LOG.test(text)) {
              resolve(text);
            }
            return Promise.resolve();
          };
          await client.setLoggingLevel("debug");
          const toggle = { name: "toggle-simulated-logging", arguments: {} };
          await client.callTool(toggle);
          try {
            const timeout = setTimeout(() => resolve("timed out"), 10_000);
            const text = await logged;
            clearTimeout(timeout);
            assert.match(String(text), SIMULATED_LOG);
          } finally {
            await client.callTool(toggle);
          }
        });

        await t.step("sampling: the server's request reaches this client and back", async () => {
          const result = await client.callTool({
            name: "trigger-sampling-request",
            arguments: { prompt: "hello", maxTokens: 17 },
          });
          assert.match(JSON.stringify(result.content), new RegExp(`sampled over ${kind}: 17`));
        });

        await t.step("completion keeps its context", async () => {
          const { completion } = await client.complete({
            ref: { type: "ref/prompt", name: "completable-prompt" },
            argument: { name: "name", value: "" },
            context: { arguments: { department: "Sales" } },
          });
          assert.deepEqual(completion.values, ["David", "Eve", "Frank"]);
        });
      } finally {
        await client.close();
      }
    });
  }
});

Deno.test("a paginated list is followed through its cursor, over /mcp and /sse", async () => {
  await using proxy = await startServerProxy(["--", "node", FIXTURE]);
  for (const kind of KINDS) {
    const client = await connectClient(proxy.mcp.default.replace(/mcp$/, kind), kind);
    try {
      const names: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor });
        names.push(...page.tools.map((tool) => tool.name));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== undefined);
      assert.equal(pages, 3, kind);
      assert.deepEqual(names, ["alpha", "beta", "gamma", "delta", "epsilon"], kind);
    } finally {
      await client.close();
    }
  }
});

Deno.test("inspector-cli lists the tools through the proxy, over http and sse", async () => {
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  for (const [transport, url] of [["http", proxy.mcp.default], ["sse", proxy.sse.default]]) {
    const { code, stdout, stderr } = await new Deno.Command("node", {
      args: [INSPECTOR_CLI, "--cli", url, "--transport", transport, "--method", "tools/list"],
      // inspector-cli looks for its package.json relative to the working directory.
      cwd: new URL(".", `file://${INSPECTOR_CLI}`).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const { tools } = JSON.parse(out);
    assert.ok(tools.some((tool: { name: string }) => tool.name === "echo"), out);
  }
});
