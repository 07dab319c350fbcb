// deno-lint-ignore-file no-explicit-any -- answers are parsed JSON, read field by field
/**
 * Client mode when things go wrong, seen from the stdio client and the terminal: a remote that
 * cannot be reached, an `https://` URL whose port speaks plain HTTP, a signal during a call, and
 * what `--debug` tells. mcp-proxy runs as a real process against remotes scripted in the test
 * process (or a port where nothing listens).
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { freePort } from "../support/ports.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import { envelope } from "../support/modern_client.ts";
import {
  jsonResult,
  modernAnswer,
  type ScriptedHandler,
  ScriptedRemote,
} from "../fixtures/scripted_remote.ts";
import { plainHttpInsteadOfTls } from "../../src/client/tls.ts";

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };

/** The session id the legacy remote hands out: only its first 8 characters may be logged. */
const SESSION = "legacy-session-0123456789abcdef";

/** What Bun 1.4 says when a `https://` URL's port does not answer TLS. */
const BUN_NOT_TLS = "EPROTO: The TLS handshake failed. Does the server speak TLS on this port?";

/** The parsed answer to request `id` (failing when none came within `ms`). */
async function answerTo(proxy: ProxyStdio, id: number, ms = 10_000): Promise<Record<string, any>> {
  const line = await proxy.waitForLine((text) => {
    const parsed = JSON.parse(text);
    return parsed.id === id && parsed.method === undefined;
  }, ms);
  return JSON.parse(line);
}

/** Sends `message` and resolves with its answer (failing when none came within `ms`). */
async function ask(
  proxy: ProxyStdio,
  message: { id: number },
  ms = 10_000,
): Promise<Record<string, any>> {
  await proxy.send(message as never);
  return await answerTo(proxy, message.id, ms);
}

/** mcp-proxy started with `args`. */
async function startProxy(args: string[]): Promise<ProxyStdio> {
  const proxy = new ProxyStdio(args);
  await proxy.start();
  return proxy;
}

/** A legacy stdio client's handshake through `proxy`. */
async function initialize(proxy: ProxyStdio): Promise<void> {
  const answer = await ask(proxy, INITIALIZE);
  assert.ok(answer.result, JSON.stringify(answer));
  await proxy.send(INITIALIZED as never);
}

const callTool = (id: number, text: string) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "echo", arguments: { text } },
});

/** How mcp-proxy exited, failing when it has not within `ms`. */
async function exitStatus(proxy: ProxyStdio, ms = 10_000): Promise<Deno.CommandStatus> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`mcp-proxy did not exit within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([proxy.status, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A legacy (2025-06-18) Streamable HTTP remote: it refuses the era probe as such a server does,
 * opens session {@linkcode SESSION} on `initialize`, offers no GET stream, and answers other
 * requests with `onRequest` (DELETE with `onDelete`).
 */
function legacyRemote(
  onRequest: ScriptedHandler,
  onDelete: ScriptedHandler = () => new Response(null, { status: 200 }),
): ScriptedHandler {
  return (request, remote) => {
    if (request.method === "GET") return new Response(null, { status: 405 });
    if (request.method === "DELETE") return onDelete(request, remote);
    const id = request.body?.id;
    switch (request.body?.method) {
      case "server/discover":
        return Response.json({
          jsonrpc: "2.0",
          id,
          error: { code: -32000, message: "Bad Request: No valid session ID provided" },
        }, { status: 400 });
      case "initialize":
        return Response.json({
          jsonrpc: "2.0",
          id,
          result: {
            protocolVersion: "2025-06-18",
            capabilities: { tools: {} },
            serverInfo: { name: "legacy", version: "1" },
          },
        }, { headers: { "mcp-session-id": SESSION } });
    }
    if (id === undefined) return new Response(null, { status: 202 });
    return onRequest(request, remote);
  };
}

Deno.test("client mode: a remote that cannot be reached answers the waiting request within seconds naming the cause, logs one warning and backs off, and exits 1", async () => {
  const port = freePort();
  // No path: the URL is logged as http://127.0.0.1:PORT/, not with a doubled slash.
  const url = `http://127.0.0.1:${port}`;
  const waiting = await startProxy(["--debug", url]);
  const piped = await startProxy([url]);
  try {
    await Promise.all([
      (async () => {
        // The previous code answered only after 30 s.
        const answer = await ask(waiting, INITIALIZE, 10_000);
        assert.equal(answer.error?.code, -32000, JSON.stringify(answer));
        assert.match(
          answer.error.message,
          new RegExp(
            `^mcp-proxy: cannot reach the remote server ${url}/: .*(Connection refused|ECONNREFUSED)`,
          ),
        );
        const stderr = waiting.stderr;
        const warnings = stderr.split("\n").filter((line) =>
          line.startsWith("[W") && line.includes("Cannot reach the remote server")
        );
        assert.equal(warnings.length, 1, stderr);
        assert.match(
          warnings[0],
          /; next attempt in 200 ms \(then less often, up to every 30 s; requests get an error after 5 s\)\.$/,
        );
        // Each attempt after the first is one DEBUG line; the delays double.
        const delays = [
          ...stderr.matchAll(/Still cannot reach the remote server; next attempt in (.+)\./g),
        ]
          .map((match) => match[1]);
        assert.deepEqual(delays.slice(0, 2), ["400 ms", "800 ms"], stderr);
        assert.ok(stderr.includes(`Relaying stdio to ${url}/ (transport: auto)`), stderr);
        assert.ok(!stderr.includes(`${url}//`), stderr);
      })(),
      (async () => {
        // A piped client: its stdin ends before the remote could be tried.
        await piped.send(INITIALIZE as never);
        await piped.close(15_000);
      })(),
    ]);
  } finally {
    await waiting.close(15_000);
    await piped.close(15_000);
  }
  for (const proxy of [waiting, piped]) {
    assert.equal((await proxy.status).code, 1, proxy.stderr);
    assert.equal(proxy.stdoutLines.length, 1, proxy.stdoutLines.join("\n"));
    assert.equal(JSON.parse(proxy.stdoutLines[0]).error?.code, -32000);
    assert.match(
      proxy.stderr,
      new RegExp(`Exiting with status 1: no MCP server was ever reached at ${url}/\\.`),
    );
  }
});

Deno.test("client mode: an https:// URL whose port speaks plain HTTP is refused at once, saying to use http://", async () => {
  await using plain = new ScriptedRemote(() => new Response("plain HTTP"));
  const host = new URL(plain.origin).host;
  const proxy = await startProxy(["-H", "X-Api-Key", "secret-key", `https://${host}/mcp?k=v`]);
  const said = `${host} speaks plain HTTP, not TLS: use http://${host}/mcp`;
  try {
    // The previous code tried again every 200 ms and answered only after 30 s.
    const answer = await ask(proxy, INITIALIZE, 10_000);
    assert.equal(answer.error?.message, `mcp-proxy: ${said}`, JSON.stringify(answer));
    // stderr is another pipe: its line may come after the answer.
    await eventually(
      () => proxy.stderr.split("\n").some((line) => line.startsWith("[E ")),
      "an error was logged",
    );
    const logged = proxy.stderr.split("\n").filter((line) => line.startsWith("[E "));
    assert.ok(logged[0].endsWith(`Cannot use the remote server: ${said}.`), proxy.stderr);
  } finally {
    await proxy.close();
  }
  assert.equal((await proxy.status).code, 1);
  // The check that the port speaks HTTP carried nothing of the user's.
  assert.ok(plain.requests.length > 0);
  for (const request of plain.requests) {
    assert.equal(`${request.method} ${request.path}`, "HEAD /");
    assert.equal(request.headers.get("x-api-key"), null);
  }
});

Deno.test("client mode: Bun's words for a port without TLS are recognised too, and only a port that answers HTTP is called plain HTTP", async () => {
  await using plain = new ScriptedRemote(() => new Response("plain HTTP"));
  const host = new URL(plain.origin).host;
  const bunError = new TypeError(BUN_NOT_TLS);
  assert.equal(
    await plainHttpInsteadOfTls(`https://${host}/sse`, bunError),
    `${host} speaks plain HTTP, not TLS: use http://${host}/sse`,
  );
  // Nothing answers there: a TLS server's refusal reads the same under Bun.
  assert.equal(
    await plainHttpInsteadOfTls(`https://127.0.0.1:${freePort()}/`, bunError),
    undefined,
  );
  const alert = new Error("client error (Connect): received fatal alert: HandshakeFailure");
  assert.equal(await plainHttpInsteadOfTls(`https://${host}/`, alert), undefined);
  assert.equal(await plainHttpInsteadOfTls(`http://${host}/`, bunError), undefined);
});

Deno.test("client mode: the first SIGTERM answers the call in flight with an error at once and exits 0", async () => {
  await using remote = new ScriptedRemote((request, scripted) =>
    request.body?.method === "tools/call" ? scripted.never() : modernAnswer(request)
  );
  const proxy = await startProxy([`${remote.origin}/mcp`]);
  try {
    await initialize(proxy);
    await proxy.send(callTool(2, "slow") as never);
    await eventually(
      () => remote.postedMethods().includes("tools/call"),
      "the call reached the remote",
    );
    proxy.kill("SIGTERM");
    // The previous code kept it waiting 10 s, then exited without an answer.
    const answer = await answerTo(proxy, 2, 5_000);
    assert.equal(answer.error?.code, -32000);
    assert.equal(
      answer.error.message,
      "mcp-proxy: shutting down (SIGTERM); the request may or may not have been carried out",
    );
    assert.equal((await exitStatus(proxy, 5_000)).code, 0);
  } finally {
    await proxy.close();
  }
  assert.match(proxy.stderr, /SIGTERM: shutting down \(a second signal exits at once\)\./);
  assert.match(proxy.stderr, /Answering the 1 request\(s\) still owed with an error/);
  // Nothing came after the error: the answer line is the last one.
  assert.equal(JSON.parse(proxy.stdoutLines.at(-1)!).id, 2);
});

Deno.test("client mode: a second SIGINT while the remote session is being ended exits at once", async () => {
  // The call and the DELETE that ends the session are never answered.
  await using remote = new ScriptedRemote(
    legacyRemote((_, scripted) => scripted.never(), (_, scripted) => scripted.never()),
  );
  const proxy = await startProxy([`${remote.origin}/mcp`]);
  try {
    await initialize(proxy);
    await proxy.send(callTool(2, "slow") as never);
    await eventually(
      () => remote.postedMethods().includes("tools/call"),
      "the call reached the remote",
    );
    proxy.kill("SIGINT");
    const answer = await answerTo(proxy, 2, 5_000);
    assert.match(answer.error?.message ?? "", /shutting down \(SIGINT\)/, JSON.stringify(answer));
    await eventually(() => remote.requests.some((r) => r.method === "DELETE"), "the DELETE came");
    proxy.kill("SIGINT");
    // The previous code ignored it and exited 0 once the shutdown was over.
    assert.equal((await exitStatus(proxy, 5_000)).code, 130, proxy.stderr);
  } finally {
    await proxy.close();
  }
  assert.match(proxy.stderr, /SIGINT again: exiting now\./);
});

Deno.test("client mode: --debug tells each message's direction, method, id and size, the detection and the session, never bodies or whole session ids", async () => {
  const secret = "body-text-never-logged";
  await using remote = new ScriptedRemote(
    legacyRemote((request) =>
      jsonResult(request, { content: [{ type: "text", text: `echo ${secret}` }] })
    ),
  );
  const proxy = await startProxy(["--debug", `${remote.origin}/mcp`]);
  try {
    await initialize(proxy);
    const answer = await ask(proxy, callTool(2, secret));
    assert.ok(answer.result, JSON.stringify(answer));
  } finally {
    await proxy.close();
  }
  const debug = proxy.stderr.split("\n").filter((line) => line.startsWith("[D "));
  const expected = [
    /Detecting what http:\/\/127\.0\.0\.1:\d+\/mcp speaks \(attempt 1\)\.$/,
    /Detection: a 2026-07-28 server\/discover got HTTP 400\.$/,
    /From stdin: request initialize \(id 1, \d+ bytes\)\.$/,
    /Opening a session with the remote server\.$/,
    /The remote server initialised the session \(session legacy-s…\)\.$/,
    /To stdout: result \(id 1, \d+ bytes\)\.$/,
    /From stdin: notification notifications\/initialized \(\d+ bytes\)\.$/,
    /From stdin: request tools\/call \(id 2, \d+ bytes\)\.$/,
    /To stdout: result \(id 2, \d+ bytes\)\.$/,
  ];
  for (const pattern of expected) {
    assert.ok(debug.some((line) => pattern.test(line)), `no ${pattern} in\n${debug.join("\n")}`);
  }
  assert.ok(!proxy.stderr.includes(SESSION), "a whole session id was logged");
  assert.ok(!proxy.stderr.includes(secret), "a message body was logged");
});

/** A 2026-07-28 client's first request, as a dual-era client sends it to find out the era. */
const discover = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "server/discover",
  params: { _meta: envelope() },
});

/** What an API that wants a key answers without one. */
const MISSING_KEY = JSON.stringify({ detail: "Missing API key" });

Deno.test("client mode: a dual-era client whose server/discover failed falls back to initialize, served as a legacy client's", async (t) => {
  await t.step("the remote refuses every request: initialize gets the same refusal", async () => {
    await using remote = new ScriptedRemote((request) =>
      request.path.startsWith("/.well-known/")
        ? new Response(null, { status: 404 })
        : new Response(MISSING_KEY, { status: 401 })
    );
    // A token file of its own: the 401 looks for stored tokens.
    const directory = await Deno.makeTempDir();
    const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`], {
      MCP_PROXY_OAUTH_FILE: `${directory}/tokens.json`,
    });
    await proxy.start();
    try {
      const refused = await ask(proxy, discover(7));
      assert.match(refused.error?.message, /^mcp-proxy: it refused every request \(HTTP 401\)/);
      // Was "Invalid _meta envelope: _meta: missing".
      const answer = await ask(proxy, INITIALIZE);
      assert.deepEqual(answer.error, refused.error, JSON.stringify(answer));
    } finally {
      await proxy.close();
      await Deno.remove(directory, { recursive: true });
    }
    assert.equal((await proxy.status).code, 1, proxy.stderr);
  });

  await t.step("the remote refused only the first session: initialize opens one", async () => {
    // A legacy server detected from its refusal of server/discover, which refuses the first
    // initialize (its key store was still loading) and takes the next.
    let initializes = 0;
    const legacy = legacyRemote((request) =>
      jsonResult(request, { content: [{ type: "text", text: "ok" }] })
    );
    await using remote = new ScriptedRemote((request, self) =>
      request.body?.method === "initialize" && ++initializes === 1
        ? new Response("Service starting", { status: 503 })
        : legacy(request, self)
    );
    const proxy = await startProxy([`${remote.origin}/mcp`]);
    try {
      const failed = await ask(proxy, discover(7));
      assert.ok(failed.error, JSON.stringify(failed));
      // Was "Invalid _meta envelope: _meta: missing".
      const answer = await ask(proxy, INITIALIZE);
      assert.equal(answer.result?.protocolVersion, "2025-06-18", JSON.stringify(answer));
      await proxy.send(INITIALIZED as never);
      const called = await ask(proxy, callTool(3, "hi"));
      assert.equal(called.result?.content?.[0]?.text, "ok", JSON.stringify(called));
      assert.match(proxy.stderr, /server\/discover failed and it falls back to initialize/);
    } finally {
      await proxy.close();
    }
    assert.equal((await proxy.status).code, 0, proxy.stderr);
  });
});
