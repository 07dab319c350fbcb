/**
 * The filters of the named-server config file on the real process: tool, prompt and resource
 * globs over server-everything, and `readOnly` over a server of annotated tools that speaks
 * either era; seen by SDK 1.x clients (Streamable HTTP and SSE) and a 2026-07-28 SDK v2
 * client. What a filter leaves out is absent from lists (a list changed and listed again
 * too), unknown to the requests that name it, and never reaches the child.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { connectModernClient } from "../support/modern_client.ts";
import { eventually } from "../support/eventually.ts";
import { EVERYTHING_SERVER, ROOT } from "../support/paths.ts";
import { allPages } from "../support/pages.ts";
import { mcpTypes } from "../support/sdk.ts";
import { startServerProxy } from "../support/server_proxy.ts";

const ANNOTATED = `${ROOT}tests/fixtures/annotated_tools_server.mjs`;

const CONFIG = {
  mcpServers: {
    everything: {
      command: "node",
      args: [EVERYTHING_SERVER, "stdio"],
      tools: { allow: ["get-*", "echo", "gzip-*"], deny: ["get-env"] },
      prompts: { deny: ["*resource*"] },
      resources: {
        allow: [
          "demo://resource/static/*",
          "demo://resource/dynamic/text/*",
          "demo://resource/session/*",
        ],
        deny: ["*/instructions.md", "*secret*"],
      },
    },
    legacy: { command: "node", args: [ANNOTATED], readOnly: true, tools: { deny: ["*-secret"] } },
    modern: {
      command: "node",
      args: [ANNOTATED, "--modern"],
      readOnly: true,
      tools: { deny: ["*-secret"] },
    },
  },
};

/** What the tests ask of both SDKs' clients. */
interface AnyClient {
  listTools(
    params?: { cursor?: string },
  ): Promise<{ tools: { name: string }[]; nextCursor?: string }>;
  callTool(params: { name: string; arguments?: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

/** Every page of the client's tool list, by name, sorted. */
async function toolNames(client: AnyClient): Promise<string[]> {
  const pages = await allPages(
    (cursor) => client.listTools(cursor === undefined ? {} : { cursor }),
    (page) => page.tools.map((tool) => tool.name),
  );
  return pages.flat().sort();
}

/** The text of a tool result's first content block. */
function textOf(result: unknown): string {
  return (result as { content: { text: string }[] }).content[0].text;
}

/** Asserts that `request` fails with JSON-RPC error `code` and a message matching `message`. */
async function refused(request: Promise<unknown>, code: number, message: RegExp): Promise<void> {
  await assert.rejects(request, (error: { code?: number; message: string }) => {
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("the config file's filters hold on every endpoint, for both eras of clients and children", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    await Deno.writeTextFile(config, JSON.stringify(CONFIG));
    await using proxy = await startServerProxy(["--named-server-config", config]);

    for (const kind of ["mcp", "sse"] as const) {
      await t.step(`tools, prompts and resources filtered by name (SDK 1.x, ${kind})`, async () => {
        const client = await connectClient(proxy[kind].everything, kind);
        try {
          const tools = await toolNames(client);
          for (const name of ["echo", "get-sum", "gzip-file-as-resource"]) {
            assert.ok(tools.includes(name), name);
          }
          assert.ok(
            tools.every((name) => /^(get-.*|echo|gzip-.*)$/.test(name) && name !== "get-env"),
          );
          await refused(client.callTool({ name: "get-env" }), -32602, /Unknown tool: get-env/);
          await refused(
            client.callTool({ name: "toggle-simulated-logging" }),
            -32602,
            /Unknown tool: toggle-simulated-logging/,
          );
          assert.equal(
            textOf(await client.callTool({ name: "echo", arguments: { message: "hi" } })),
            "Echo: hi",
          );

          const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
          assert.deepEqual(prompts.sort(), ["args-prompt", "completable-prompt", "simple-prompt"]);
          await refused(
            client.getPrompt({
              name: "resource-prompt",
              arguments: { resourceType: "Text", resourceId: "1" },
            }),
            -32602,
            /Unknown prompt: resource-prompt/,
          );
          assert.ok((await client.getPrompt({ name: "simple-prompt" })).messages.length > 0);

          const uris = (await client.listResources()).resources.map((resource) => resource.uri);
          assert.ok(uris.length > 0);
          assert.ok(uris.every((uri) => uri.startsWith("demo://resource/static/")), String(uris));
          assert.ok(!uris.some((uri) => uri.endsWith("/instructions.md")));
          const templates = (await client.listResourceTemplates()).resourceTemplates;
          assert.deepEqual(templates.map((template) => template.uriTemplate), [
            "demo://resource/dynamic/text/{resourceId}",
          ]);
          const hidden = "demo://resource/static/document/instructions.md";
          await refused(client.readResource({ uri: hidden }), -32002, /Resource not found/);
          await refused(client.subscribeResource({ uri: hidden }), -32002, /Resource not found/);
          await refused(
            client.readResource({ uri: "demo://resource/dynamic/blob/1" }),
            -32002,
            /Resource not found/,
          );
          const read = await client.readResource({ uri: "demo://resource/dynamic/text/1" });
          assert.equal(read.contents.length, 1);
        } finally {
          await client.close();
        }
      });
    }

    await t.step("the same filters for a 2026-07-28 client", async () => {
      const client = await connectModernClient(proxy.mcp.everything);
      try {
        const tools = await toolNames(client);
        assert.ok(tools.includes("echo") && !tools.includes("get-env"), String(tools));
        await refused(client.callTool({ name: "get-env" }), -32602, /Unknown tool: get-env/);
        assert.equal(
          textOf(await client.callTool({ name: "echo", arguments: { message: "hi" } })),
          "Echo: hi",
        );
        const prompts = (await client.listPrompts()).prompts.map((prompt) => prompt.name);
        assert.ok(!prompts.includes("resource-prompt") && prompts.includes("simple-prompt"));
        await refused(
          client.getPrompt({
            name: "resource-prompt",
            arguments: { resourceType: "Text", resourceId: "1" },
          }),
          -32602,
          /Unknown prompt: resource-prompt/,
        );
        const uris = (await client.listResources()).resources.map((resource) => resource.uri);
        assert.ok(uris.length > 0 && !uris.some((uri) => uri.endsWith("/instructions.md")));
        // The modern era says "invalid params" for a resource it does not have.
        await refused(
          client.readResource({ uri: "demo://resource/static/document/instructions.md" }),
          -32602,
          /Resource not found/,
        );
      } finally {
        await client.close();
      }
    });

    await t.step("a resource list that changed is listed filtered again", async () => {
      let changes = 0;
      const client = await connectClient(proxy.mcp.everything, "mcp", {
        setup: (client) =>
          client.setNotificationHandler(mcpTypes.ResourceListChangedNotificationSchema, () => {
            changes++;
          }),
      });
      try {
        let made = 0;
        await eventually(async () => {
          for (const name of [`secret-${made}.gz`, `open-${made}.gz`]) {
            await client.callTool({
              name: "gzip-file-as-resource",
              arguments: { name, data: "data:text/plain,hello" },
            });
          }
          made++;
          return changes > 0;
        }, "the resource list changed");
        const uris = (await client.listResources()).resources.map((resource) => resource.uri);
        assert.ok(uris.includes("demo://resource/session/open-0.gz"), String(uris));
        assert.ok(!uris.some((uri) => uri.includes("secret")), String(uris));
        await refused(
          client.readResource({ uri: "demo://resource/session/secret-0.gz" }),
          -32002,
          /Resource not found/,
        );
        assert.equal(
          (await client.readResource({ uri: "demo://resource/session/open-0.gz" })).contents.length,
          1,
        );
      } finally {
        await client.close();
      }
    });

    for (const server of ["legacy", "modern"] as const) {
      await t.step(`readOnly and a deny glob, ${server} child`, async () => {
        const listed = ["calls", "grow", "read"];
        for (const kind of ["mcp", "sse"] as const) {
          const client = await connectClient(proxy[kind][server], kind);
          try {
            assert.deepEqual(
              (await toolNames(client)).filter((name) => !name.startsWith("late-")),
              listed,
            );
            for (const name of ["write", "plain", "read-secret"]) {
              await refused(client.callTool({ name }), -32602, new RegExp(`Unknown tool: ${name}`));
            }
            assert.equal(textOf(await client.callTool({ name: "read" })), "read");
          } finally {
            await client.close();
          }
        }
        // A modern client calls without listing first: each request is a session of its own.
        const modern = await connectModernClient(proxy.mcp[server]);
        try {
          assert.equal(textOf(await modern.callTool({ name: "read" })), "read");
          for (const name of ["write", "plain", "read-secret"]) {
            await refused(modern.callTool({ name }), -32602, new RegExp(`Unknown tool: ${name}`));
          }
          assert.deepEqual(
            (await toolNames(modern)).filter((name) => !name.startsWith("late-")),
            listed,
          );
          const called = JSON.parse(textOf(await modern.callTool({ name: "calls" })));
          assert.deepEqual(
            called,
            ["read", "read", "read", "calls"],
            "no refused call reached the child",
          );
        } finally {
          await modern.close();
        }
      });

      await t.step(
        `a tool list that changed is listed filtered again, ${server} child`,
        async () => {
          let changes = 0;
          const client = await connectClient(proxy.sse[server], "sse", {
            setup: (client) =>
              client.setNotificationHandler(mcpTypes.ToolListChangedNotificationSchema, () => {
                changes++;
              }),
          });
          try {
            await eventually(async () => {
              await client.callTool({ name: "grow" });
              return changes > 0;
            }, "the tool list changed");
            assert.deepEqual(await toolNames(client), ["calls", "grow", "late-read", "read"]);
            await refused(
              client.callTool({ name: "late-write" }),
              -32602,
              /Unknown tool: late-write/,
            );
            assert.equal(textOf(await client.callTool({ name: "late-read" })), "late-read");
          } finally {
            await client.close();
          }
        },
      );
    }

    await t.step("the call log has the calls the filters refused, as refused", async () => {
      // The call log's lines go out in batches, a few milliseconds late.
      await eventually(
        () => /everything tools\/call get-env: refused in 0 ms \(/.test(proxy.process.stderr),
        "a refused call's line",
      );
      assert.match(
        proxy.process.stderr,
        /everything tools\/call toggle-simulated-logging: refused/,
      );
      assert.match(proxy.process.stderr, /tools\/call late-write: refused/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("filters hold through the aggregate: its lists and calls, both eras of clients", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    const { legacy, modern } = CONFIG.mcpServers;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ aggregate: true, mcpServers: { legacy, modern } }),
    );
    await using proxy = await startServerProxy(["--named-server-config", config]);
    const listed = ["calls", "grow", "read"].flatMap((name) => [
      `legacy__${name}`,
      `modern__${name}`,
    ]);
    const sdk1 = await connectClient(proxy.mcp.default, "mcp");
    const v2 = await connectModernClient(proxy.mcp.default);
    try {
      for (const client of [sdk1, v2] as AnyClient[]) {
        assert.deepEqual(await toolNames(client), listed.sort());
        assert.equal(textOf(await client.callTool({ name: "modern__read" })), "read");
        for (const name of ["legacy__write", "modern__plain", "legacy__read-secret"]) {
          await refused(client.callTool({ name }), -32602, /Unknown tool: /);
        }
      }
      const called = JSON.parse(textOf(await sdk1.callTool({ name: "modern__calls" })));
      assert.deepEqual(called, ["read", "read", "calls"], "no refused call reached the child");
    } finally {
      await sdk1.close();
      await v2.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
