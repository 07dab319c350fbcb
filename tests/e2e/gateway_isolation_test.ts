/**
 * A child per user on the real process: named servers of a config file with `"isolation"`,
 * `"headerEnv"`, `"maxChildren"` and `"idleTimeout"`, used by SDK 1.x clients over Streamable
 * HTTP and SSE and by the SDK v2 client in the 2026-07-28 era. Each child is the env-echo
 * fixture, whose `whoami` tells its pid and its API_TOKEN.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { type Client, type ClientTransportKind, connectClient } from "../support/mcp_client.ts";
import { connectModernClient, envelope, modernPost } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { alive } from "../support/pids.ts";
import { INITIALIZE, MCP_HEADERS, post } from "../support/raw_http.ts";
import { StreamableHTTPClientTransport } from "../support/sdk.ts";
import { startServerProxy } from "../support/server_proxy.ts";

const ENV_ECHO = `${ROOT}tests/fixtures/env_echo_server.mjs`;

/** What every served server runs: the fixture, telling its API_TOKEN. */
const ECHO = { command: "node", args: [ENV_ECHO, "API_TOKEN"] };

/** The named servers of the run, one per kind of isolation. */
const SERVERS = {
  "by-session": { ...ECHO, isolation: "session" },
  "by-user": { ...ECHO, isolation: "header:X-User", headerEnv: { "X-User-Token": "API_TOKEN" } },
  capped: { ...ECHO, isolation: "header:X-User", maxChildren: 1 },
  idle: { ...ECHO, isolation: "header:X-User", idleTimeout: 1 },
};

/** A client that can call a tool and be closed: SDK 1.x or v2. */
interface ToolClient {
  callTool(params: { name: string; arguments: Record<string, unknown> }): Promise<unknown>;
  close(): Promise<void>;
}

/** Who answered a `whoami`: the child's pid and its API_TOKEN. */
async function whoami(client: ToolClient): Promise<{ pid: number; token: string | null }> {
  const result = await client.callTool({ name: "whoami", arguments: {} }) as {
    content: { text: string }[];
  };
  const { pid, env } = JSON.parse(result.content[0].text);
  return { pid, token: env.API_TOKEN };
}

/** Ends the client's session (DELETE on Streamable HTTP, the stream closed on SSE). */
async function endSession(client: Client): Promise<void> {
  const transport = client.transport;
  if (transport instanceof StreamableHTTPClientTransport) await transport.terminateSession();
  await client.close();
}

/** Waits until `pid` is gone. */
function exited(pid: number, what: string): Promise<void> {
  return eventually(async () => !await alive(pid), what);
}

/** A modern `tools/call whoami`, raw, with `headers`: its status and body. */
function modernWhoami(url: string, headers: Record<string, string> = {}) {
  return modernPost(url, {
    id: 1,
    method: "tools/call",
    params: { name: "whoami", arguments: {}, _meta: envelope() },
  }, headers);
}

Deno.test("a child per session, per user and header credential, capped, stopped when idle", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    await Deno.writeTextFile(config, JSON.stringify({ mcpServers: SERVERS }));
    await using proxy = await startServerProxy(["--named-server-config", config]);
    const url = (name: keyof typeof SERVERS, kind: ClientTransportKind) =>
      kind === "mcp" ? proxy.mcp[name] : proxy.sse[name];
    /** `/status`'s children per server. */
    const childrenInStatus = async (): Promise<Record<string, number>> =>
      (await (await fetch(`${proxy.base}/status`)).json()).server_children;
    /** An SDK 1.x client of server `name` over `kind`, sending `headers`. */
    const connect = (
      name: keyof typeof SERVERS,
      kind: ClientTransportKind,
      headers: Record<string, string> = {},
    ) => connectClient(url(name, kind), kind, { headers });

    await t.step(
      '"session": a child per session, stopped when it ends; modern requests get 400',
      async () => {
        const overHttp = await connect("by-session", "mcp");
        const overSse = await connect("by-session", "sse");
        const [a, b] = [await whoami(overHttp), await whoami(overSse)];
        assert.notEqual(a.pid, b.pid);
        assert.equal((await whoami(overHttp)).pid, a.pid, "a session keeps its child");
        await endSession(overHttp);
        await exited(a.pid, "the ended Streamable HTTP session's child is gone");
        await endSession(overSse);
        await exited(b.pid, "the ended SSE session's child is gone");

        const raw = await modernWhoami(url("by-session", "mcp"));
        assert.equal(raw.status, 400);
        const message = (raw.body.error as { message: string }).message;
        assert.match(message, /MCP server 'by-session' runs a child per session/);
        assert.match(message, /use "isolation": "header:<name>" or a 2025-11-25 client/);
        // The SDK v2 client pinned to 2026-07-28 takes the 400 to its server/discover as "no
        // modern era here" (unpinned, it would fall back to a 2025-11-25 session and be served).
        await assert.rejects(
          connectModernClient(url("by-session", "mcp")),
          /did not offer pinned protocol version 2026-07-28/,
        );
      },
    );

    await t.step(
      '"header:X-User" with "headerEnv": each user sees their own token, never another\'s',
      async () => {
        const aliceToken = `alice-${crypto.randomUUID()}`;
        const bobToken = `bob-${crypto.randomUUID()}`;
        const alice = { "X-User": "alice", "X-User-Token": aliceToken };
        const bob = { "X-User": "bob", "X-User-Token": bobToken };
        const aliceHttp = await connect("by-user", "mcp", alice);
        const aliceSse = await connect("by-user", "sse", alice);
        const bobSse = await connect("by-user", "sse", bob);
        const aliceModern = await connectModernClient(url("by-user", "mcp"), { headers: alice });
        try {
          const seen = await Promise.all([aliceHttp, aliceSse, bobSse, aliceModern].map(whoami));
          assert.deepEqual(seen.map((who) => who.token), [
            aliceToken,
            aliceToken,
            bobToken,
            aliceToken,
          ]);
          const [a, aSse, b, aModern] = seen.map((who) => who.pid);
          assert.equal(aSse, a, "one user's two sessions share a child");
          assert.equal(aModern, a, "and so do the user's modern requests");
          assert.notEqual(b, a);
          assert.equal((await childrenInStatus())["by-user"], 2, "/status counts both children");

          // Alice's name with another token is someone else, with a child of their own.
          const impostor = await modernWhoami(url("by-user", "mcp"), {
            "X-User": "alice",
            "X-User-Token": "guessed",
          });
          assert.equal(impostor.status, 200);
          const text = (impostor.body.result as { content: { text: string }[] }).content[0].text;
          const who = JSON.parse(text);
          assert.equal(who.env.API_TOKEN, "guessed");
          assert.ok(![a, b].includes(who.pid));

          const missing = await post(url("by-user", "mcp"), INITIALIZE, {
            ...MCP_HEADERS,
            ...bob,
            "X-User": "",
          });
          assert.equal(missing.status, 400);
          assert.match(
            (await missing.json()).error.message,
            /child per value of the x-user header/,
          );
          const noToken = await modernWhoami(url("by-user", "mcp"), { "X-User": "bob" });
          assert.equal(noToken.status, 400);
          assert.match(
            (noToken.body.error as { message: string }).message,
            /gives each user's child the x-user-token header as API_TOKEN/,
          );
        } finally {
          await Promise.all(
            [aliceHttp, aliceSse, bobSse, aliceModern].map((client) => client.close()),
          );
        }
        for (const secret of [aliceToken, bobToken, "guessed"]) {
          assert.ok(!proxy.process.stderr.includes(secret), "a token reached the proxy's stderr");
        }
      },
    );

    await t.step('"maxChildren": 1: a second user gets 503, the first goes on', async () => {
      const alice = await connect("capped", "mcp", { "X-User": "alice" });
      try {
        const first = await whoami(alice);
        const refused = await post(url("capped", "mcp"), INITIALIZE, {
          ...MCP_HEADERS,
          "X-User": "bob",
        });
        assert.equal(refused.status, 503);
        assert.equal(
          (await refused.json()).error.message,
          "MCP server 'capped' has 1 children, the most its config allows; try again later, " +
            'or raise "maxChildren" (1)',
        );
        await assert.rejects(connect("capped", "sse", { "X-User": "bob" }), /503/);
        const modern = await modernWhoami(url("capped", "mcp"), { "X-User": "bob" });
        assert.equal(modern.status, 503);
        assert.equal((await whoami(alice)).pid, first.pid);
      } finally {
        await endSession(alice);
      }
    });

    await t.step(
      '"idleTimeout": 1: an idle child is stopped, the next call starts another',
      async () => {
        const client = await connect("idle", "mcp", { "X-User": "alice" });
        const first = await whoami(client);
        assert.equal((await childrenInStatus()).idle, 1);
        await endSession(client);
        await exited(first.pid, "the idle child is stopped");
        await eventually(
          async () => (await childrenInStatus()).idle === 0,
          "/status counts no child of 'idle'",
        );
        const again = await connect("idle", "sse", { "X-User": "alice" });
        try {
          const second = await whoami(again);
          assert.notEqual(second.pid, first.pid);
        } finally {
          await endSession(again);
        }
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--stateless: a child per session is refused on /mcp (400 naming the setting) and served on /sse", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ mcpServers: { "by-session": SERVERS["by-session"] } }),
    );
    await using proxy = await startServerProxy([
      "--stateless",
      "--named-server-config",
      config,
    ]);
    const refused = await post(proxy.mcp["by-session"], INITIALIZE, MCP_HEADERS);
    assert.equal(refused.status, 400);
    assert.match(
      (await refused.json()).error.message,
      /runs a child per session .* requests to \/mcp under --stateless do not have; use \/sse/,
    );
    const client = await connectClient(proxy.sse["by-session"], "sse");
    try {
      assert.ok(await alive((await whoami(client)).pid));
    } finally {
      await client.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
