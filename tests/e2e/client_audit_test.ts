// deno-lint-ignore-file no-explicit-any -- answers are parsed JSON, read field by field
/**
 * Client mode against remotes that misbehave, each scripted in the test process: detection
 * that never gets an answer, redirects to another origin, an event that never ends, and a
 * listen stream the remote closes. mcp-proxy runs as a real process; its stdio client writes
 * raw JSON-RPC lines.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { envelope } from "../support/modern_client.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import {
  discoverResult,
  jsonResult,
  modernAnswer,
  type ScriptedHandler,
  ScriptedRemote,
  sseEvent,
} from "../fixtures/scripted_remote.ts";

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };
const SECRET = "secret-api-key-value";

const notFound = () => new Response("no such thing", { status: 404 });

/** mcp-proxy started against `url`, with the user's API key header. */
async function startProxy(url: string): Promise<ProxyStdio> {
  const proxy = new ProxyStdio(["-H", "X-Api-Key", SECRET, url]);
  await proxy.start();
  return proxy;
}

/** Sends `message` and resolves with the parsed answer of the same id. */
async function ask(
  proxy: ProxyStdio,
  message: Record<string, unknown>,
  timeoutMs = 10_000,
): Promise<Record<string, any>> {
  await proxy.send(message as never);
  const line = await proxy.waitForLine((text) => {
    const parsed = JSON.parse(text);
    return parsed.id === message.id && parsed.method === undefined;
  }, timeoutMs);
  return JSON.parse(line);
}

/** A legacy stdio client's handshake through `proxy`. */
async function initialize(proxy: ProxyStdio): Promise<void> {
  const answer = await ask(proxy, INITIALIZE);
  assert.ok(answer.result, JSON.stringify(answer));
  await proxy.send(INITIALIZED as never);
}

const callTool = (id: number, name: string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name, arguments: {} },
});

Deno.test("client mode: a remote that takes the era probe and never answers it fails the waiting initialize in time, saying what was tried", async () => {
  const silentDiscover = (stall: ScriptedHandler): ScriptedHandler => (request, remote) =>
    request.body?.method === "server/discover" ? stall(request, remote) : notFound();
  // One never answers the POST; the other answers with an event stream that stays silent.
  await using neverAnswers = new ScriptedRemote(silentDiscover((_, remote) => remote.never()));
  await using silentStream = new ScriptedRemote(
    silentDiscover((_, remote) => remote.stream(() => Promise.resolve())),
  );
  await Promise.all([neverAnswers, silentStream].map(async (remote) => {
    const proxy = await startProxy(`${remote.origin}/mcp`);
    try {
      const answer = await ask(proxy, INITIALIZE, 40_000);
      assert.equal(answer.error?.code, -32001, JSON.stringify(answer));
      assert.ok(
        answer.error.message.includes(
          "a 2026-07-28 server/discover got no answer within 25 s; a legacy Streamable HTTP " +
            "initialize got HTTP 404; a legacy HTTP+SSE GET got HTTP 404",
        ),
        answer.error.message,
      );
      // The log line may reach stderr's pipe after the answer reached stdout's.
      await eventually(
        () => /Cannot use the remote server yet: .* did not answer in time/.test(proxy.stderr),
        "the proxy logged why it cannot use the remote",
      );
    } finally {
      await proxy.close();
    }
  }));
});

Deno.test("client mode: a redirect to another origin is refused, in detection and by a modern remote; the other origin receives nothing", async (t) => {
  await using elsewhere = new ScriptedRemote(modernAnswer);
  const redirect = () =>
    new Response(null, { status: 307, headers: { location: `${elsewhere.origin}/mcp` } });
  const refusal = new RegExp(
    `redirected to ${elsewhere.origin}/mcp, outside the URL's origin: mcp-proxy does not follow`,
  );

  await t.step("the era probe is redirected: requests fail, naming the redirect", async () => {
    await using remote = new ScriptedRemote(redirect);
    const proxy = await startProxy(`${remote.origin}/mcp`);
    try {
      const answer = await ask(proxy, INITIALIZE);
      assert.match(answer.error?.message ?? "", refusal, JSON.stringify(answer));
    } finally {
      await proxy.close();
    }
    assert.deepEqual(elsewhere.requests, [], "the other origin was sent a request");
    assert.ok(!proxy.stderr.includes(SECRET), "stderr shows the API key");
  });

  await t.step(
    "a modern remote redirects tools/call: the call fails, naming the redirect",
    async () => {
      await using remote = new ScriptedRemote((request) =>
        request.body?.method === "tools/call" ? redirect() : modernAnswer(request)
      );
      const proxy = await startProxy(`${remote.origin}/mcp`);
      try {
        await initialize(proxy);
        const answer = await ask(proxy, callTool(2, "echo"));
        assert.match(answer.error?.message ?? "", refusal, JSON.stringify(answer));
      } finally {
        await proxy.close();
      }
      assert.deepEqual(elsewhere.requests, [], "the other origin was sent a request");
      assert.ok(remote.requests.some((r) => r.body?.method === "tools/call"));
    },
  );

  await t.step("a redirect within the origin is followed, headers and all", async () => {
    await using remote = new ScriptedRemote((request) =>
      request.path === "/old"
        ? new Response(null, { status: 307, headers: { location: "/mcp" } })
        : modernAnswer(request)
    );
    const proxy = await startProxy(`${remote.origin}/old`);
    try {
      await initialize(proxy);
      const answer = await ask(proxy, callTool(2, "echo"));
      assert.equal(answer.result?.content?.[0]?.text, "called echo", JSON.stringify(answer));
    } finally {
      await proxy.close();
    }
    const call = remote.requests.find((r) => r.path === "/mcp" && r.body?.method === "tools/call");
    assert.equal(call?.headers.get("x-api-key"), SECRET);
  });
});

Deno.test("client mode: an event past 4 MiB fails its request, and the relay goes on", async () => {
  /** Sends 8 MiB of one event in 64 KiB pieces, made by `piece`, then stays silent. */
  const endlessEvent =
    (piece: (i: number) => string) => async (send: (t: string) => Promise<boolean>) => {
      for (let i = 0; i < 128; i++) if (!await send(piece(i))) return;
    };
  const filler = "x".repeat(64 * 1024 - 16);
  await using remote = new ScriptedRemote((request, remote) => {
    const name = (request.body?.params as { name?: string } | undefined)?.name;
    if (name === "one_long_line") {
      return remote.stream(endlessEvent((i) => (i === 0 ? "data: " : "") + filler));
    }
    if (name === "endless_data_lines") {
      return remote.stream(endlessEvent(() => `data: ${filler}\n`));
    }
    return modernAnswer(request);
  });
  const proxy = await startProxy(`${remote.origin}/mcp`);
  try {
    await initialize(proxy);
    for (const [id, tool] of [[2, "one_long_line"], [3, "endless_data_lines"]] as const) {
      const answer = await ask(proxy, callTool(id, tool), 20_000);
      assert.match(
        answer.error?.message ?? "",
        /answer to tools\/call held an event over 4194304 bytes, more than mcp-proxy accepts/,
        JSON.stringify(answer),
      );
    }
    const answer = await ask(proxy, callTool(4, "echo"));
    assert.equal(answer.result?.content?.[0]?.text, "called echo");
  } finally {
    await proxy.close();
  }
});

Deno.test("client mode: a listen stream the remote ends is opened again, and its notifications reach the client", async (t) => {
  /** A modern remote whose first listen stream ends at once; later ones announce a change. */
  const listeningRemote = () => {
    let listens = 0;
    return new ScriptedRemote((request, remote) => {
      const body = request.body;
      if (body?.method === "server/discover") {
        return jsonResult(request, discoverResult({ tools: { listChanged: true } }));
      }
      if (body?.method !== "subscriptions/listen") return modernAnswer(request);
      const tag = { _meta: { "io.modelcontextprotocol/subscriptionId": body.id } };
      const first = ++listens === 1;
      return remote.stream(async (send) => {
        await send(sseEvent({
          jsonrpc: "2.0",
          method: "notifications/subscriptions/acknowledged",
          params: tag,
        }));
        if (first) return "end";
        await send(
          sseEvent({ jsonrpc: "2.0", method: "notifications/tools/list_changed", params: tag }),
        );
      });
    });
  };
  const isListChanged = (line: string) =>
    JSON.parse(line).method === "notifications/tools/list_changed";
  const reopened = async (proxy: ProxyStdio, remote: ScriptedRemote) => {
    await eventually(
      () => proxy.stderr.includes("Reopened the subscriptions/listen stream."),
      "the proxy logged the reopening",
    );
    assert.match(
      proxy.stderr,
      /Lost the subscriptions\/listen stream \(the remote server ended it\); reopening it in 1 s\./,
    );
    const listens = remote.requests.filter((r) => r.body?.method === "subscriptions/listen");
    assert.equal(listens.length, 2);
    assert.deepEqual(listens[0].body, listens[1].body);
  };

  await t.step("the proxy's own stream, for a legacy stdio client", async () => {
    await using remote = listeningRemote();
    const proxy = await startProxy(`${remote.origin}/mcp`);
    try {
      await initialize(proxy);
      await proxy.waitForLine(isListChanged);
      await reopened(proxy, remote);
    } finally {
      await proxy.close();
    }
  });

  await t.step("a modern stdio client's own stream", async () => {
    await using remote = listeningRemote();
    const proxy = await startProxy(`${remote.origin}/mcp`);
    try {
      await proxy.send({
        jsonrpc: "2.0",
        id: "listen-1",
        method: "subscriptions/listen",
        params: { notifications: { toolsListChanged: true }, _meta: envelope() },
      } as never);
      const line = await proxy.waitForLine(isListChanged);
      const tag = JSON.parse(line).params._meta["io.modelcontextprotocol/subscriptionId"];
      assert.equal(tag, "listen-1");
      await reopened(proxy, remote);
    } finally {
      // The listen request stays owed, which stdin's end would wait 10 s for.
      await proxy.close(1_000);
    }
  });
});
