/**
 * The aggregate on the real process: a config file with `"aggregate": true` whose servers are
 * server-everything and two gateway fixtures with colliding names (`alpha` and `beta`), served
 * as one MCP server at `/mcp` and `/sse`, to SDK 1.x clients (Streamable HTTP and SSE), the
 * SDK v2 client in the 2026-07-28 era and the official Python SDK's client.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { type Client, type ClientTransportKind, connectClient } from "../support/mcp_client.ts";
import { connectModernClient } from "../support/modern_client.ts";
import { EVERYTHING_SERVER, ROOT } from "../support/paths.ts";
import { type PythonEvent, pythonResult, runPythonClient } from "../support/python_client.ts";
import { statusOf } from "../support/raw_http.ts";
import { mcpTypes } from "../support/sdk.ts";
import { type ServedProxy, startServerProxy } from "../support/server_proxy.ts";
import { allPages } from "../support/pages.ts";

const GATEWAY = `${ROOT}tests/fixtures/gateway_server.mjs`;
const KINDS: ClientTransportKind[] = ["mcp", "sse"];
/** server-everything's long-running operation: three progress steps in 0.3 s. */
const LONG_RUN = { duration: 0.3, steps: 3 };

/** Every resource URI the fixtures list, in the aggregate's order (beta's shared one is alpha's). */
const FIXTURE_URIS = [
  "gateway://alpha/info",
  "gateway://shared",
  "gateway://alpha/notes",
  "gateway://beta/info",
  "gateway://beta/notes",
];

/**
 * The proxy serving the aggregate of server-everything, alpha and beta; `blockBeta`: a file
 * whose existence makes beta's restarts fail.
 */
async function startAggregate(dir: string, blockBeta = `${dir}/never`): Promise<ServedProxy> {
  const config = `${dir}/servers.json`;
  await Deno.writeTextFile(
    config,
    JSON.stringify({
      aggregate: true,
      mcpServers: {
        everything: { command: "node", args: [EVERYTHING_SERVER, "stdio"] },
        alpha: { command: "node", args: [GATEWAY, "alpha"] },
        beta: { command: "node", args: [GATEWAY, "beta", "--exit-if", blockBeta] },
      },
    }),
  );
  return await startServerProxy(["--named-server-config", config]);
}

/**
 * Runs `test` with a temporary folder and the aggregate served from it, once every member runs:
 * a member coming up sends `list_changed` to the sessions already open, which the tests that
 * count notifications must not see.
 */
async function withAggregate(
  test: (proxy: ServedProxy, dir: string) => Promise<void>,
  blocked?: (dir: string) => string,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await using proxy = await startAggregate(dir, blocked?.(dir));
    await eventually(
      async () => await statusOf(`${proxy.base}/ready`) === 200,
      "every member of the aggregate runs (/ready answers 200)",
      30_000,
    );
    await test(proxy, dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The text of a tool result's first content. */
function textOf(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0].text;
}

/** The first text content of a resource read. */
function contentOf(result: unknown): string {
  return (result as { contents: { text: string }[] }).contents[0].text;
}

/** Every page of the resource list, by a client with a `listResources` taking a cursor. */
function resourcePages(
  list: (cursor?: string) => Promise<{ resources: { uri: string }[]; nextCursor?: string }>,
): Promise<string[][]> {
  return allPages(list, (page) => page.resources.map((resource) => resource.uri));
}

/** The fixtures' resources in `pages`, and how many pages there were. */
function fixtureUris(pages: string[][]): string[] {
  return pages.flat().filter((uri) => uri.startsWith("gateway://"));
}

Deno.test("SDK 1.x clients over /mcp and /sse: prefixed names, routing, pages, completion, updates", async (t) => {
  await withAggregate(async (proxy) => {
    for (const kind of KINDS) {
      await t.step(kind, async () => {
        const seen: string[] = [];
        const client = await connectClient(`${proxy.base}/${kind}`, kind, {
          setup: (client) => {
            client.setNotificationHandler(mcpTypes.ResourceUpdatedNotificationSchema, (n) => {
              seen.push(n.params.uri);
            });
            client.setNotificationHandler(mcpTypes.ToolListChangedNotificationSchema, () => {
              seen.push("tools changed");
            });
          },
        });
        try {
          await checkSdkClient(client, seen);
        } finally {
          await client.close();
        }
      });
    }
  });
});

async function checkSdkClient(client: Client, seen: string[]): Promise<void> {
  assert.equal(client.getServerVersion()?.name, "mcp-proxy");
  assert.match(client.getInstructions() ?? "", /## alpha\n\nThe alpha gateway fixture\./);
  assert.match(client.getInstructions() ?? "", /## beta\n\nThe beta gateway fixture\./);

  const tools = (await client.listTools()).tools.map((tool) => tool.name);
  for (const name of ["everything__echo", "alpha__whoami", "beta__whoami", "alpha__echo"]) {
    assert.ok(tools.includes(name), `${name} in ${tools}`);
  }
  assert.equal(tools.filter((name) => !/^(everything|alpha|beta)__/.test(name)).length, 0);
  const call = (name: string, args: Record<string, unknown> = {}) =>
    client.callTool({ name, arguments: args });
  assert.equal(textOf(await call("alpha__whoami")), "alpha");
  assert.equal(textOf(await call("beta__whoami")), "beta");
  assert.equal(textOf(await call("everything__echo", { message: "hi" })), "Echo: hi");
  await assert.rejects(call("gamma__whoami"), /-32602.*Unknown tool: gamma__whoami/);

  const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
  assert.ok(prompts.includes("alpha__greet") && prompts.includes("everything__simple-prompt"));
  const greeting = await client.getPrompt({ name: "beta__greet", arguments: { name: "Ann" } });
  assert.deepEqual(greeting.messages[0].content, { type: "text", text: "beta greets Ann" });

  // server-everything's whole list first, then the fixtures' two-per-page lists: one cursor.
  const pages = await resourcePages((cursor) => client.listResources({ cursor }));
  assert.deepEqual(fixtureUris(pages), FIXTURE_URIS);
  assert.ok(pages.length >= 3, `${pages.length} pages`);
  assert.ok(pages[0].some((uri) => !uri.startsWith("gateway://")), "everything's come first");
  assert.equal(contentOf(await client.readResource({ uri: "gateway://shared" })), "alpha shared");
  assert.equal(contentOf(await client.readResource({ uri: "gateway://beta/notes" })), "beta notes");
  const everythingUri = pages[0][0];
  assert.equal((await client.readResource({ uri: everythingUri })).contents[0].uri, everythingUri);

  const templates = (await client.listResourceTemplates()).resourceTemplates.map((t) =>
    t.uriTemplate
  );
  assert.ok(templates.includes("gateway://beta/items/{id}"), String(templates));
  assert.equal(
    contentOf(await client.readResource({ uri: "gateway://beta/items/7" })),
    "beta item 7",
  );
  assert.match(
    contentOf(await client.readResource({ uri: "demo://resource/dynamic/text/3" })),
    /Resource 3/,
  );
  await assert.rejects(client.readResource({ uri: "gateway://nobody" }), /-32002/);

  const byPrompt = await client.complete({
    ref: { type: "ref/prompt", name: "beta__greet" },
    argument: { name: "name", value: "" },
  });
  assert.deepEqual(byPrompt.completion.values, ["beta-ann", "beta-bob"]);
  const byTemplate = await client.complete({
    ref: { type: "ref/resource", uri: "gateway://alpha/items/{id}" },
    argument: { name: "id", value: "" },
  });
  assert.deepEqual(byTemplate.completion.values, ["1", "2", "3"]);

  // server-everything adds tools once initialized (each one a list_changed, passed on to every
  // session): what this step counts starts here, long after those.
  seen.length = 0;
  await client.subscribeResource({ uri: "gateway://beta/info" });
  assert.equal(textOf(await call("beta__touch")), "beta touched 1");
  assert.equal(textOf(await call("alpha__touch")), "alpha touched 0");
  await call("alpha__change");
  await eventually(() => seen.length >= 2, "the update and the list change arrived");
  assert.deepEqual(seen.sort(), ["gateway://beta/info", "tools changed"]);
  await client.unsubscribeResource({ uri: "gateway://beta/info" });
  assert.equal(textOf(await call("beta__touch")), "beta touched 0");
}

Deno.test("progress and questions reach only the session whose call caused them", async () => {
  await withAggregate(async (proxy) => {
    const asked: Record<string, string[]> = { mcp: [], sse: [] };
    const progress: Record<string, number[]> = { mcp: [], sse: [] };
    const clients = await Promise.all(
      KINDS.map((kind) =>
        connectClient(`${proxy.base}/${kind}`, kind, {
          capabilities: { elicitation: {} },
          setup: (client) =>
            client.setRequestHandler(mcpTypes.ElicitRequestSchema, (request) => {
              asked[kind].push(String(request.params.message));
              return { action: "accept", content: { name: kind } };
            }),
        })
      ),
    );
    try {
      const [overMcp, overSse] = clients;
      const results = await Promise.all([
        overMcp.callTool({ name: "alpha__ask", arguments: {} }),
        overSse.callTool({ name: "beta__ask", arguments: {} }),
        // Beside the questions, on a member that asks nothing (a legacy member cannot tell
        // whose call a question belongs to while two clients' calls run on it).
        ...clients.map((client, i) =>
          client.callTool(
            { name: "everything__trigger-long-running-operation", arguments: LONG_RUN },
            undefined,
            { onprogress: ({ progress: step }) => progress[KINDS[i]].push(step) },
          )
        ),
      ]);
      assert.deepEqual(asked, { mcp: ["alpha asks your name"], sse: ["beta asks your name"] });
      assert.equal(textOf(results[0]), 'alpha heard {"action":"accept","content":{"name":"mcp"}}');
      assert.equal(textOf(results[1]), 'beta heard {"action":"accept","content":{"name":"sse"}}');
      // The SDK may drop the last step, which races with the result (see server_everything_test).
      for (const kind of KINDS) assert.deepEqual(progress[kind].slice(0, 2), [1, 2], kind);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});

Deno.test("the SDK v2 client in the 2026-07-28 era and the Python SDK's client", async (t) => {
  await withAggregate(async (proxy) => {
    await t.step("SDK v2, 2026-07-28", async () => {
      const heard: string[] = [];
      const modern = await connectModernClient(`${proxy.base}/mcp`, {
        capabilities: { elicitation: {} },
        setup: (client) => {
          client.setRequestHandler("elicitation/create", (request) =>
            Promise.resolve({
              action: "accept",
              content: { name: `modern, asked '${request.params.message}'` },
            }));
          client.setNotificationHandler("notifications/tools/list_changed", () => {
            heard.push("tools changed");
          });
          client.setNotificationHandler("notifications/resources/updated", (notification) => {
            heard.push(notification.params.uri);
          });
        },
      });
      try {
        assert.equal(modern.getServerVersion()?.name, "mcp-proxy");
        const tools = (await modern.listTools()).tools.map((tool) => tool.name);
        assert.ok(tools.includes("alpha__whoami") && tools.includes("everything__echo"));
        assert.equal(
          textOf(await modern.callTool({ name: "beta__whoami", arguments: {} })),
          "beta",
        );
        const asked = await modern.callTool({ name: "alpha__ask", arguments: {} });
        assert.match(textOf(asked), /^alpha heard .*modern, asked 'alpha asks your name'/);
        const pages = await resourcePages((cursor) => modern.listResources({ cursor }));
        assert.deepEqual(fixtureUris(pages), FIXTURE_URIS);
        const read = await modern.readResource({ uri: "gateway://alpha/items/5" });
        assert.equal(contentOf(read), "alpha item 5");
        const completed = await modern.complete({
          ref: { type: "ref/prompt", name: "alpha__greet" },
          argument: { name: "name", value: "alpha-b" },
        });
        assert.deepEqual(completed.completion.values, ["alpha-bob"]);

        const subscription = await modern.listen({
          toolsListChanged: true,
          resourceSubscriptions: ["gateway://beta/info"],
        });
        assert.deepEqual(subscription.honoredFilter, {
          toolsListChanged: true,
          resourceSubscriptions: ["gateway://beta/info"],
        });
        assert.equal(
          textOf(await modern.callTool({ name: "beta__touch", arguments: {} })),
          "beta touched 1",
        );
        await modern.callTool({ name: "alpha__change", arguments: {} });
        await eventually(() => heard.length >= 2, "the update and the list change arrived");
        assert.deepEqual(heard.sort(), ["gateway://beta/info", "tools changed"]);
        await subscription.close();
      } finally {
        await modern.close();
      }
    });

    await t.step("Python SDK over Streamable HTTP", async () => {
      const events = await runPythonClient(`${proxy.base}/mcp`, [
        { method: "tools/list" },
        { method: "tools/call", params: { name: "alpha__echo", arguments: { text: "py" } } },
        { method: "tools/call", params: { name: "beta__ask", arguments: {} } },
        { method: "tools/call", params: { name: "beta__progress", arguments: {} }, progress: true },
        { method: "resources/read", params: { uri: "gateway://shared" } },
        { method: "prompts/get", params: { name: "alpha__greet", arguments: { name: "Py" } } },
        { method: "tools/call", params: { name: "nobody__echo", arguments: {} } },
      ]);
      checkPythonEvents(events);
    });

    await t.step("Python SDK over SSE", async () => {
      const events = await runPythonClient(`${proxy.base}/sse`, [
        { method: "tools/call", params: { name: "beta__echo", arguments: { text: "sse" } } },
      ], "sse");
      assert.equal(textOf(pythonResult(events, "tools/call")), "beta: sse");
    });
  });
});

function checkPythonEvents(events: PythonEvent[]): void {
  assert.equal((events[0].initialize?.serverInfo as { name: string }).name, "mcp-proxy");
  const tools = (pythonResult(events, "tools/list").tools as { name: string }[]).map((t) => t.name);
  assert.ok(tools.includes("beta__echo") && tools.includes("everything__get-sum"), String(tools));
  assert.equal(textOf(pythonResult(events, "tools/call", 0)), "alpha: py");
  assert.deepEqual(events.filter((event) => event.elicitation).length, 1);
  assert.equal(
    textOf(pythonResult(events, "tools/call", 1)),
    'beta heard {"action":"accept","content":{"name":"python"}}',
  );
  assert.deepEqual(events.filter((event) => event.progress).map((e) => e.progress?.progress), [
    1,
    2,
  ]);
  assert.equal(textOf(pythonResult(events, "tools/call", 2)), "beta: 2 steps");
  assert.equal(contentOf(pythonResult(events, "resources/read")), "alpha shared");
  const prompt = pythonResult(events, "prompts/get").messages as { content: { text: string } }[];
  assert.equal(prompt[0].content.text, "alpha greets Py");
  const refused = events.filter((event) => event.method === "tools/call").at(-1);
  assert.deepEqual(refused?.error, { code: -32602, message: "Unknown tool: nobody__echo" });
}

Deno.test("a member killed: refused by name while down, the others keep serving, lists changed", async () => {
  await withAggregate(async (proxy, dir) => {
    const changes: string[] = [];
    const client = await connectClient(`${proxy.base}/mcp`, "mcp", {
      setup: (client) => {
        client.setNotificationHandler(mcpTypes.ToolListChangedNotificationSchema, () => {
          changes.push("tools");
        });
        // No member changes its prompts by itself (server-everything adds tools once started).
        client.setNotificationHandler(mcpTypes.PromptListChangedNotificationSchema, () => {
          changes.push("prompts");
        });
      },
    });
    try {
      const call = (name: string, args: Record<string, unknown> = {}) =>
        client.callTool({ name, arguments: args });
      const pid = Number(textOf(await call("beta__pid")));
      // beta cannot restart until the block file is gone.
      await Deno.writeTextFile(`${dir}/block-beta`, "");
      const alphaWorking = call("alpha__progress", { steps: 20 });
      Deno.kill(pid, "SIGKILL");
      await eventually(async () => {
        const refused = await call("beta__whoami").catch((error) => String(error));
        return /MCP server 'beta' is not running \(failed\); the aggregate's other servers are serving/
          .test(String(refused));
      }, "calls to beta are refused by name");
      assert.equal(textOf(await alphaWorking), "alpha: 20 steps");
      assert.equal(textOf(await call("everything__echo", { message: "still" })), "Echo: still");
      const tools = (await client.listTools()).tools.map((tool) => tool.name);
      assert.equal(tools.some((name) => name.startsWith("beta__")), false, "beta's are left out");
      assert.ok(tools.includes("alpha__whoami"));
      assert.ok(changes.includes("tools"), "the client was told the tools changed");
      assert.ok(changes.includes("prompts"), "…and the prompts, by the member's state change");

      await Deno.remove(`${dir}/block-beta`);
      await eventually(
        async () => await call("beta__whoami").then(textOf, () => "") === "beta",
        "beta serves again",
        20_000,
      );
      assert.notEqual(Number(textOf(await call("beta__pid"))), pid);
      assert.ok((await client.listTools()).tools.some((tool) => tool.name === "beta__whoami"));
    } finally {
      await client.close();
    }
  }, (dir) => `${dir}/block-beta`);
});
