// deno-lint-ignore-file no-explicit-any -- the two SDK lines type their results differently
/**
 * Client mode across the protocol eras: stdio clients of both eras (SDK 1.x; SDK v2 pinned to
 * 2026-07-28) through mcp-proxy, with no --transport given, to remotes of three kinds (legacy
 * SDK 1.x over Streamable HTTP and, through mcp-proxy's own server mode, over HTTP+SSE;
 * dual-era SDK v2; modern-only SDK v2): tools, progress, logging at a requested level, and an
 * elicitation and a sampling request answered by the stdio client, in every cell.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { FIXTURES, type ServedUrl, serveFixtureDirectly } from "../support/conformance.ts";
import { Client as LegacyClient, mcpTypes } from "../support/sdk.ts";
import { MODERN, ModernClient } from "../support/modern_client.ts";
import { RunningProcess, runProxy } from "../support/process.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import { freePort } from "../support/ports.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";
import { startServerProxy } from "../support/server_proxy.ts";

const fixture = (name: string) => FIXTURES.find((f) => f.name === name)!;

/** A remote of one kind, and what the proxy should say it found. */
interface RemoteKind {
  readonly name: string;
  readonly found: RegExp;
  start(): Promise<ServedUrl>;
}

const REMOTES: readonly RemoteKind[] = [
  {
    name: "legacy Streamable HTTP",
    found: /speaks a legacy revision over Streamable HTTP/,
    start: () => serveFixtureDirectly(fixture("legacy")),
  },
  {
    name: "legacy HTTP+SSE",
    found: /speaks a legacy revision over HTTP\+SSE/,
    start: async () => {
      const proxy = await startServerProxy(["--port", "0", "--", ...fixture("legacy").stdio]);
      return { url: proxy.sse.default, [Symbol.asyncDispose]: () => proxy.stop().then(() => {}) };
    },
  },
  {
    name: "dual-era",
    found: /speaks 2026-07-28 over Streamable HTTP/,
    start: () => serveFixtureDirectly(fixture("dual-era")),
  },
  {
    name: "modern-only",
    found: /speaks 2026-07-28 over Streamable HTTP/,
    start: () => serveFixtureDirectly(fixture("modern-only")),
  },
];

const CAPABILITIES = { elicitation: {}, sampling: {} };

/** What every cell checks, through the stdio client's own SDK calls. */
interface Driver {
  callTool(
    name: string,
    args: Record<string, unknown>,
    onprogress?: (p: any) => void,
  ): Promise<any>;
  /** Calls the logging tool with the level `info` asked for; resolves with the log data seen. */
  logsAtInfo(): Promise<unknown[]>;
  close(): Promise<void>;
}

const text = (result: any) => result.content[0].text as string;

async function legacyDriver(proxy: ProxyStdio): Promise<Driver> {
  const logs: unknown[] = [];
  const client = new LegacyClient({ name: "legacy-stdio", version: "1" }, {
    capabilities: CAPABILITIES,
  });
  client.setRequestHandler(mcpTypes.ElicitRequestSchema, () => ({
    action: "accept",
    content: { username: "ada", email: "ada@example.com" },
  }));
  client.setRequestHandler(mcpTypes.CreateMessageRequestSchema, () => ({
    role: "assistant",
    content: { type: "text", text: "sampled by the legacy client" },
    model: "test",
    stopReason: "endTurn",
  }));
  client.setNotificationHandler(
    mcpTypes.LoggingMessageNotificationSchema,
    (n) => void logs.push(n.params.data),
  );
  await client.connect(proxy);
  return {
    callTool: (name, args, onprogress) =>
      client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress } : {}),
    async logsAtInfo() {
      await client.setLoggingLevel("info");
      await client.callTool({ name: "test_logging_tool", arguments: {} });
      return logs;
    },
    close: () => client.close(),
  };
}

async function modernDriver(proxy: ProxyStdio): Promise<Driver> {
  const logs: unknown[] = [];
  const client = new ModernClient({ name: "modern-stdio", version: "2" }, {
    versionNegotiation: { mode: { pin: MODERN } },
    capabilities: CAPABILITIES,
  });
  client.setRequestHandler(
    "elicitation/create",
    () =>
      Promise.resolve({ action: "accept", content: { username: "ada", email: "ada@example.com" } }),
  );
  client.setRequestHandler("sampling/createMessage", () =>
    Promise.resolve({
      role: "assistant",
      content: { type: "text", text: "sampled by the modern client" },
      model: "test",
      stopReason: "endTurn",
    }));
  client.setNotificationHandler("notifications/message", (n) => void logs.push(n.params.data));
  await client.connect(proxy as any);
  return {
    callTool: (name, args, onprogress) =>
      client.callTool({ name, arguments: args }, onprogress ? { onprogress } : {}),
    async logsAtInfo() {
      // The level of a modern request travels in its own _meta.
      await client.callTool({
        name: "test_logging_tool",
        arguments: {},
        _meta: { "io.modelcontextprotocol/logLevel": "info" },
      });
      return logs;
    },
    close: () => client.close(),
  };
}

const CLIENTS = [
  { name: "SDK 1.x client", era: "a legacy revision", connect: legacyDriver },
  { name: "SDK v2 client pinned to 2026-07-28", era: "2026-07-28", connect: modernDriver },
] as const;

for (const remoteKind of REMOTES) {
  Deno.test(`client mode, no --transport: both eras of stdio client to a ${remoteKind.name} remote`, async (t) => {
    await using remote = await remoteKind.start();
    for (const clientKind of CLIENTS) {
      await t.step(clientKind.name, async () => {
        const proxy = new ProxyStdio([remote.url]);
        const client = await clientKind.connect(proxy);
        try {
          const speaks = new RegExp(`stdio client speaks ${clientKind.era}`);
          await eventually(
            () => remoteKind.found.test(proxy.stderr) && speaks.test(proxy.stderr),
            "the proxy logged what the remote and the stdio client speak",
          );
          assert.match(
            text(await client.callTool("test_simple_text", {})),
            /simple text response/,
          );
          const progress: number[] = [];
          await client.callTool("test_tool_with_progress", {}, (p) => progress.push(p.progress));
          // At least the progress sent well before the answer; in order, none invented.
          assert.ok(progress.length >= 2, `progress seen: ${progress}`);
          assert.deepEqual(progress, [0, 50, 100].slice(0, progress.length));
          assert.equal((await client.logsAtInfo()).length, 3);
          const elicited = text(await client.callTool("test_elicitation", { message: "Who?" }));
          assert.match(elicited, /action=accept.*ada@example.com/);
          const sampled = text(await client.callTool("test_sampling", { prompt: "Hi" }));
          assert.match(sampled, /sampled by the (legacy|modern) client/);
        } finally {
          await client.close();
        }
      });
    }
  });
}

Deno.test("client mode: requests piped in are answered before stdin's end closes the proxy", async () => {
  await using remote = await REMOTES[0].start();
  const lines = [
    INITIALIZE,
    { jsonrpc: "2.0", method: "notifications/initialized" },
    { jsonrpc: "2.0", id: 2, method: "tools/list" },
  ].map((message) => JSON.stringify(message) + "\n").join("");
  const { code, stdout } = await runProxy([remote.url], { stdin: lines });
  assert.equal(code, 0);
  const answers = stdout.trim().split("\n").map((line) => JSON.parse(line));
  assert.deepEqual(answers.map((answer) => answer.id), [1, 2]);
  assert.ok(answers[1].result.tools.length > 0);
});

Deno.test("client mode: a modern remote that restarts takes the requests sent while it was down", async () => {
  const port = freePort();
  const [command, ...args] = fixture("modern-only").stdio;
  const startRemote = async () => {
    const remote = new RunningProcess(command, [...args, "--port", String(port)]);
    await remote.waitForStderr(/listening on/);
    return remote;
  };
  let remote = await startRemote();
  const proxy = new ProxyStdio([`http://127.0.0.1:${port}/mcp`]);
  const client = await modernDriver(proxy);
  try {
    await remote.stop();
    const call = client.callTool("test_simple_text", {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    remote = await startRemote();
    assert.match(text(await call), /simple text response/);
    assert.match(proxy.stderr, /Cannot reach the remote server/);
  } finally {
    await client.close();
    await remote.stop();
  }
});
