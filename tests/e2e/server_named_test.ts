/**
 * Named servers on the real process, from `--named-server` and from a config file, next to a
 * default server; the states `/status` reports; a proxy none of whose servers can start;
 * CORS headers.
 */
import assert from "node:assert/strict";
import { connectClient } from "../support/mcp_client.ts";
import { runProxy } from "../support/process.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

const MISSING = "mcp-proxy-test-no-such-command";

async function status(base: string): Promise<Record<string, string>> {
  const response = await fetch(`${base}/status`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.match(body.api_last_activity, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return body.server_instances;
}

async function toolNames(url: string, kind: "mcp" | "sse"): Promise<string[]> {
  const client = await connectClient(url, kind);
  try {
    return (await client.listTools()).tools.map((tool) => tool.name);
  } finally {
    await client.close();
  }
}

Deno.test("--named-server next to a default server; a broken one does not take the others down", async () => {
  await using proxy = await startServerProxy([
    "--named-server",
    "fixture",
    `node ${FIXTURE}`,
    "--named-server",
    "broken",
    MISSING,
    "--",
    "node",
    FIXTURE,
  ]);
  assert.deepEqual(Object.keys(proxy.sse).sort(), ["broken", "default", "fixture"]);
  assert.equal(proxy.mcp.fixture, `${proxy.base}/servers/fixture/mcp`);
  assert.equal(proxy.sse.fixture, `${proxy.base}/servers/fixture/sse`);
  assert.match(proxy.process.stderr, new RegExp(`command '${MISSING}' not found`));

  const states = await status(proxy.base);
  assert.equal(states.default, "running");
  assert.equal(states.fixture, "running");
  assert.match(states.broken, /^(failed|restarting)$/);

  assert.deepEqual(await toolNames(proxy.mcp.fixture, "mcp"), ["alpha", "beta"]);
  assert.deepEqual(await toolNames(proxy.sse.fixture, "sse"), ["alpha", "beta"]);
  assert.deepEqual(await toolNames(proxy.mcp.default, "mcp"), ["alpha", "beta"]);

  // The named server's legacy endpoint lives under its prefix.
  const events = new SseReader((await fetch(proxy.sse.fixture)).body!);
  try {
    assert.match((await events.next())!.data, /^\/servers\/fixture\/messages\/\?session_id=/);
  } finally {
    await events.cancel();
  }

  // The broken server answers with a JSON-RPC error instead of hanging.
  const init = await post(proxy.mcp.broken, INITIALIZE);
  assert.equal(init.status, 200);
  const reply = await init.json();
  assert.equal(reply.id, INITIALIZE.id);
  assert.match(JSON.stringify(reply.error), /not running/);
});

Deno.test("--named-server-config: good, disabled and broken entries, with a default server", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({
        mcpServers: {
          good: { command: "node", args: [FIXTURE] },
          off: { command: "node", args: [FIXTURE], enabled: false },
          broken: { command: MISSING, args: [] },
        },
      }),
    );
    await using proxy = await startServerProxy([
      "--named-server-config",
      config,
      "--",
      "node",
      FIXTURE,
    ]);
    assert.deepEqual(Object.keys(proxy.mcp).sort(), ["broken", "default", "good"]);
    const states = await status(proxy.base);
    assert.deepEqual(Object.keys(states).sort(), ["broken", "default", "good"]);
    assert.equal(states.good, "running");
    assert.equal(states.default, "running");
    assert.match(states.broken, /^(failed|restarting)$/);
    assert.deepEqual(await toolNames(proxy.mcp.good, "mcp"), ["alpha", "beta"]);
    const off = await fetch(`${proxy.base}/servers/off/sse`);
    assert.equal(off.status, 404);
    await off.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The `serverInfo.name` that answers `initialize` at `url` (a `/mcp` endpoint). */
async function serverNameAt(url: string): Promise<string> {
  const response = await post(url, INITIALIZE);
  assert.equal(response.status, 200, url);
  return (await response.json()).result.serverInfo.name;
}

Deno.test("a named server called 'default' is served at /servers/default/, not at the root", async (t) => {
  const named = ["--named-server", "default", `node ${FIXTURE} --server-name named-default`];
  await t.step("beside a default server: both served, both in /status", async () => {
    await using proxy = await startServerProxy([...named, "--", "node", FIXTURE]);
    assert.equal(await serverNameAt(`${proxy.base}/mcp`), "server-mode-fixture");
    assert.equal(await serverNameAt(`${proxy.base}/servers/default/mcp`), "named-default");
    const events = new SseReader((await fetch(`${proxy.base}/servers/default/sse`)).body!);
    try {
      assert.match((await events.next())!.data, /^\/servers\/default\/messages\/\?session_id=/);
    } finally {
      await events.cancel();
    }
    assert.deepEqual(await status(proxy.base), {
      default: "running",
      "servers/default": "running",
    });
    await proxy.process.waitForStderr(/- http:\/\/[^/\s]+\/servers\/default\/mcp\n/, 5_000);
  });
  await t.step("alone: nothing at the root", async () => {
    await using proxy = await startServerProxy(named);
    assert.equal(await serverNameAt(`${proxy.base}/servers/default/mcp`), "named-default");
    const root = await post(`${proxy.base}/mcp`, INITIALIZE);
    assert.equal(root.status, 404);
    await root.body?.cancel();
    assert.deepEqual(await status(proxy.base), { default: "running" });
  });
});

Deno.test("no server can start: exit 1 naming the commands", async () => {
  const { code, stderr } = await runProxy([
    "--named-server",
    "other",
    `${MISSING}-2 --flag`,
    "--",
    MISSING,
    "arg",
  ]);
  assert.equal(code, 1, stderr);
  assert.match(
    stderr,
    new RegExp(`No MCP server could start \\('${MISSING} arg', '${MISSING}-2 --flag'\\)`),
  );
  assert.doesNotMatch(stderr, /Serving MCP Servers/);
});

Deno.test("a port already in use: exit 1 with the address, no server started", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir();
  try {
    const port = String((listener.addr as Deno.NetAddr).port);
    const pidFile = `${dir}/pids`;
    const { code, stderr } = await runProxy(
      ["--port", port, "--", "node", FIXTURE, "--grandchild", pidFile],
    );
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`Could not listen on 127\\.0\\.0\\.1:${port}`));
    // The port is taken before any child: none was started, none can be left.
    await assert.rejects(Deno.stat(pidFile), Deno.errors.NotFound);
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CORS: preflight allowed and disallowed, response headers, expose headers", async () => {
  await using proxy = await startServerProxy([
    "--allow-origin",
    "http://app.example",
    "--expose-header",
    "mcp-session-id",
    "--expose-header",
    "x-trace",
    "--",
    "node",
    FIXTURE,
  ]);
  const preflight = await fetch(proxy.mcp.default, {
    method: "OPTIONS",
    headers: {
      origin: "http://app.example",
      "access-control-request-method": "POST",
      "access-control-request-headers":
        "content-type, mcp-session-id, mcp-protocol-version, last-event-id, authorization",
    },
  });
  assert.ok(preflight.status >= 200 && preflight.status < 300, String(preflight.status));
  await preflight.body?.cancel();
  const h = preflight.headers;
  assert.equal(h.get("access-control-allow-origin"), "http://app.example");
  assert.equal(h.get("access-control-allow-methods"), "DELETE,GET,HEAD,OPTIONS,PATCH,POST,PUT");
  assert.equal(
    h.get("access-control-allow-headers"),
    "content-type,mcp-session-id,mcp-protocol-version,last-event-id,authorization",
  );
  assert.equal(h.get("access-control-max-age"), "600");
  assert.match(h.get("vary") ?? "", /\bOrigin\b/);

  const denied = await fetch(proxy.mcp.default, {
    method: "OPTIONS",
    headers: { origin: "http://evil.example", "access-control-request-method": "POST" },
  });
  assert.equal(denied.status, 400);
  assert.equal(denied.headers.get("access-control-allow-origin"), null);
  await denied.body?.cancel();

  const init = await fetch(proxy.mcp.default, {
    method: "POST",
    headers: { ...MCP_HEADERS, origin: "http://app.example" },
    body: JSON.stringify(INITIALIZE),
  });
  assert.equal(init.status, 200);
  assert.equal(init.headers.get("access-control-allow-origin"), "http://app.example");
  assert.equal(init.headers.get("access-control-expose-headers"), "mcp-session-id,x-trace");
  assert.match(init.headers.get("vary") ?? "", /\bOrigin\b/);
  await init.body?.cancel();
});

Deno.test("CORS: '*' answers '*'; without --allow-origin there are no CORS headers", async () => {
  {
    await using proxy = await startServerProxy(["--allow-origin", "*", "--", "node", FIXTURE]);
    const r = await fetch(`${proxy.base}/status`, { headers: { origin: "http://any.example" } });
    assert.equal(r.headers.get("access-control-allow-origin"), "*");
    assert.equal(r.headers.get("access-control-expose-headers"), "mcp-session-id");
    await r.body?.cancel();
  }
  {
    await using proxy = await startServerProxy(["--", "node", FIXTURE]);
    const r = await fetch(`${proxy.base}/status`, { headers: { origin: "http://localhost:3000" } });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("access-control-allow-origin"), null);
    assert.equal(r.headers.get("access-control-expose-headers"), null);
    await r.body?.cancel();
  }
});
