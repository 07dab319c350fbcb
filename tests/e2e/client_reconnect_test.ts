/**
 * Client mode heals itself: the remote server dies and comes back, or forgets the session,
 * and the same stdio session carries on.
 */
import assert from "node:assert/strict";
import { mcpTypes } from "../support/sdk.ts";
import { RemoteMcpServer } from "../fixtures/remote_mcp_server.ts";
import { EverythingServer } from "../support/everything_server.ts";
import { Client } from "../support/mcp_client.ts";
import { isJsonRpcLine, ProxyStdio } from "../support/proxy_stdio.ts";

for (const mode of ["sse", "streamableHttp"] as const) {
  const transportArgs = mode === "sse" ? [] : ["--transport", "streamablehttp"];

  Deno.test(`client mode (${mode}): the remote server is killed and restarted`, async () => {
    const server = await EverythingServer.start(mode);
    const proxy = new ProxyStdio([...transportArgs, server.url]);
    const client = new Client({ name: "reconnect-test", version: "1.0.0" });
    const updated = Promise.withResolvers<string>();
    client.setNotificationHandler(
      mcpTypes.ResourceUpdatedNotificationSchema,
      (n) => updated.resolve(n.params.uri),
    );
    try {
      await client.connect(proxy);
      const { resources } = await client.listResources();
      const uri = resources[0].uri;
      await client.subscribeResource({ uri });
      const echo = async (text: string) => {
        const result = await client.callTool({ name: "echo", arguments: { message: text } });
        return JSON.stringify(result.content);
      };
      assert.match(await echo("before"), /before/);

      const inFlight = client.callTool({
        name: "trigger-long-running-operation",
        arguments: { duration: 30, steps: 30 },
      });
      const outcome = inFlight.then(() => "answered", (error: unknown) => error);
      // Let the request reach the server before it dies.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.kill();
      const killedAt = Date.now();
      const error = await outcome;
      const waited = Date.now() - killedAt;
      assert.ok(error instanceof mcpTypes.McpError, `expected an McpError, got ${error}`);
      assert.equal(error.code, -32000);
      assert.match(error.message, /connection to the remote server was lost/);
      assert.ok(waited < 2000, `the lost request was answered after ${waited} ms`);

      await server.restart();
      assert.match(await echo("after restart"), /after restart/);
      // And the session is initialised on the new server, not just reachable.
      const { tools } = await client.listTools();
      assert.ok(tools.some((tool) => tool.name === "echo"));
      assert.match(proxy.stderr, /re-initialised the session/);
      // The subscription made before the crash was replayed on the new session.
      await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
      const timer = setTimeout(() => updated.reject(new Error("no resources/updated")), 10_000);
      assert.equal(await updated.promise.finally(() => clearTimeout(timer)), uri);
    } finally {
      await client.close();
      await server.kill();
    }
    for (const line of proxy.stdoutLines) assert.ok(isJsonRpcLine(line), `not JSON-RPC: ${line}`);
  });
}

Deno.test("client mode (streamablehttp): a session the server forgot is re-initialised", async () => {
  const remote = new RemoteMcpServer().start();
  const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`]);
  const client = new Client({ name: "reinit-test", version: "1.0.0" });
  try {
    await client.connect(proxy);
    const call = async (text: string) =>
      JSON.stringify((await client.callTool({ name: "any", arguments: { text } })).content);
    assert.match(await call("one"), /one/);
    const linesBefore = proxy.stdoutLines.length;

    remote.forgetSessions();
    assert.match(await call("two"), /two/);

    const initializes = remote.requestsTo("POST", "/mcp").filter((r) =>
      r.body?.method === "initialize"
    );
    assert.equal(initializes.length, 2);
    // The replayed initialize carries the client's own params.
    assert.deepEqual(initializes[1].body!.params, initializes[0].body!.params);
    assert.deepEqual(remote.postedMethods(), [
      "server/discover", // the era probe at start-up, refused by this legacy server
      "initialize",
      "notifications/initialized",
      "tools/call",
      "tools/call", // 404: the session is gone
      "initialize",
      "notifications/initialized",
      "tools/call",
    ]);
    const sessions = remote.requestsTo("POST", "/mcp").map((r) => r.headers.get("mcp-session-id"));
    assert.notEqual(sessions.at(-1), sessions[2]);
    // The client saw one answer for its call, and not the answer to the replayed initialize.
    assert.equal(proxy.stdoutLines.length, linesBefore + 1);
  } finally {
    await client.close();
    await remote.close();
  }
});
