/**
 * Client mode against a remote that wants credentials it was not given (an API key, a token):
 * the remote's 401 is reported with its own message and what to pass, and no OAuth sign-in is
 * tried unless the remote offers OAuth (metadata named in its refusal or under /.well-known/).
 * And in server mode, a named server that is mcp-proxy in client mode against such a remote
 * fails its start (`/status` says `failed`, never `running`). All real processes, against a
 * remote scripted in the test process.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { proxyCommand } from "../support/paths.ts";
import { runProxy } from "../support/process.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";
import { type ScriptedHandler, ScriptedRemote } from "../fixtures/scripted_remote.ts";

/** What an API that wants a key answers without one. */
const MISSING_KEY = JSON.stringify({ detail: "Missing API key: send X-API-Key" });

/** Where credentials go, as every refusal's advice names it. */
const EXAMPLES = "e.g. -H Authorization 'Bearer …' or -H X-API-Key …";

/** A remote that wants an API key: 401 with `body` for MCP, 404 for every metadata document. */
function apiKeyRemote(body: (request: { headers: Headers }) => string = () => MISSING_KEY) {
  const handler: ScriptedHandler = (request) =>
    request.path.startsWith("/.well-known/")
      ? new Response("Not Found", { status: 404 })
      : new Response(body(request), {
        status: 401,
        headers: { "content-type": "application/json" },
      });
  return new ScriptedRemote(handler);
}

/**
 * A scratch directory for the token file (`MCP_PROXY_OAUTH_FILE` in the environment `use`
 * gets); unless `signsIn`, nothing may be created there: a sign-in makes its directory first.
 */
async function withTokenDir(
  use: (env: Record<string, string>) => Promise<void>,
  signsIn = false,
): Promise<void> {
  const directory = await Deno.makeTempDir();
  try {
    await use({ MCP_PROXY_OAUTH_FILE: `${directory}/oauth/tokens.json` });
    const left = await Array.fromAsync(Deno.readDir(directory));
    if (!signsIn) assert.deepEqual(left.map((entry) => entry.name), [], "no sign-in was tried");
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

/** Runs client mode against `url` with `flags`, an initialize on stdin; its error lines too. */
async function initializeThrough(url: string, flags: string[], env: Record<string, string>) {
  const result = await runProxy([...flags, url], {
    env: { NO_COLOR: "1", ...env },
    stdin: `${JSON.stringify(INITIALIZE)}\n`,
  });
  const errors = result.stderr.split("\n").filter((line) => line.startsWith("[E "))
    .map((line) => line.replace(/^\[E [^\]]*\] /, ""));
  return { ...result, errors };
}

Deno.test("a 401 without OAuth metadata: the remote's message and -H advice, no sign-in", async (t) => {
  await withTokenDir(async (env) => {
    await t.step("no credentials given", async () => {
      await using remote = apiKeyRemote();
      const run = await initializeThrough(`${remote.origin}/mcp`, [], env);
      assert.equal(
        run.errors[0],
        `The remote server refused the request (HTTP 401: ${MISSING_KEY}): it wants credentials ` +
          `this proxy was not given; pass them with -H (${EXAMPLES})`,
        run.stderr,
      );
      // Once, however many requests the detection made.
      assert.equal(
        run.errors.filter((line) => line.startsWith("The remote server refused")).length,
        1,
      );
      assert.ok(!/sign-in|Dynamic Client Registration/i.test(run.stderr), run.stderr);
      // The metadata was looked for once, and nothing registered.
      assert.ok(!remote.requests.some((r) => r.path === "/register"), "no registration");
      const probes = remote.requests.filter((r) => r.path.startsWith("/.well-known/"));
      assert.deepEqual(probes.map((r) => r.path), [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
      ]);
      // The stdio client's initialize is answered with an error, and the proxy exits 1.
      const answer = JSON.parse(run.stdout.trim().split("\n")[0]);
      assert.equal(answer.id, 1);
      assert.ok(answer.error, run.stdout);
      assert.equal(run.code, 1, run.stderr);
    });

    await t.step("-H X-API-Key with a wrong key: named, its value kept out", async () => {
      const key = "wrong-key-0123456789";
      await using remote = apiKeyRemote((request) =>
        JSON.stringify({ detail: `Unknown key ${request.headers.get("x-api-key")}` })
      );
      const run = await initializeThrough(`${remote.origin}/mcp`, ["-H", "X-API-Key", key], env);
      assert.equal(
        run.errors[0],
        'The remote server refused the request (HTTP 401: {"detail":"Unknown key ***"}): it ' +
          "wants credentials other than the headers given (-H X-API-Key); check their values, " +
          `or pass what it asks for with -H (${EXAMPLES})`,
        run.stderr,
      );
      assert.ok(!run.stderr.includes(key));
      assert.ok(!remote.requests.some((r) => r.path === "/register"));
    });

    await t.step("-H Authorization refused: its value is to be checked", async () => {
      await using remote = apiKeyRemote();
      const token = "Bearer not-the-right-token";
      const run = await initializeThrough(
        `${remote.origin}/mcp`,
        ["-H", "Authorization", token],
        env,
      );
      assert.equal(
        run.errors[0],
        `The remote server refused the request (HTTP 401: ${MISSING_KEY}): it refused the ` +
          "Authorization header sent (from -H Authorization or API_ACCESS_TOKEN); check its value",
        run.stderr,
      );
      assert.ok(!run.stderr.includes("not-the-right-token"));
    });

    await t.step("a long message is cut short", async () => {
      await using remote = apiKeyRemote(() => "x".repeat(5_000));
      const run = await initializeThrough(`${remote.origin}/mcp`, [], env);
      assert.match(run.errors[0], /^The remote server refused the request \(HTTP 401: x{300}…\): /);
    });
  });
});

Deno.test("a 401 from a remote with OAuth metadata under /.well-known/ still signs in", async () => {
  await withTokenDir(async (env) => {
    // No resource_metadata in the refusal, but authorization-server metadata at the origin (as
    // servers of the 2025-03-26 revision publish it): the sign-in registers there.
    await using remote = new ScriptedRemote((request, remote) => {
      if (request.path === "/.well-known/oauth-authorization-server") {
        return Response.json({
          issuer: remote.origin,
          authorization_endpoint: `${remote.origin}/authorize`,
          token_endpoint: `${remote.origin}/token`,
          registration_endpoint: `${remote.origin}/register`,
          response_types_supported: ["code"],
          code_challenge_methods_supported: ["S256"],
        });
      }
      if (request.path === "/register") {
        return Response.json({ error: "temporarily_unavailable" }, { status: 503 });
      }
      if (request.path.startsWith("/.well-known/")) return new Response(null, { status: 404 });
      return new Response(MISSING_KEY, { status: 401 });
    });
    const run = await initializeThrough(`${remote.origin}/mcp`, [], env);
    assert.ok(remote.requests.some((r) => r.path === "/register"), run.stderr);
    assert.match(run.errors[0], /^Sign-in to the remote server failed: /);
    // No report of a remote without OAuth (detection still says that every request was refused).
    assert.ok(
      !run.errors.some((line) => line.startsWith("The remote server refused the request")),
      run.stderr,
    );
  }, true);
});

/** A command string for `--named-server` that runs this mcp-proxy with `args`. */
function proxyCommandString(args: string[]): string {
  const { command, args: prefix } = proxyCommand();
  return [command, ...prefix, ...args].map((word) => `'${word.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

/** The named servers that are mcp-proxy in client mode against the refusing remote. */
const REFUSED = {
  // Detects the transport: the stdio client's initialize gets the detection's error.
  detected: [] as string[],
  // Skips detection: the inner proxy answers a server/discover from the remote's initialize,
  // which the remote refused.
  forced: ["--transport", "streamablehttp"],
};

Deno.test("server mode: a named mcp-proxy whose remote refuses it is failed, never running", async () => {
  await withTokenDir(async (env) => {
    await using remote = apiKeyRemote();
    const named = Object.entries(REFUSED).flatMap(([name, flags]) => [
      "--named-server",
      name,
      proxyCommandString([...flags, `${remote.origin}/mcp`]),
    ]);
    await using proxy = await startServerProxy([
      "--port",
      "0",
      // The inner proxies get MCP_PROXY_OAUTH_FILE: a sign-in would show in the token directory.
      "--pass-environment",
      "--named-server",
      "good",
      `node ${FIXTURE}`,
      ...named,
    ], { env });
    const states: Record<string, string[]> = { detected: [], forced: [] };
    const refusals = (name: string) =>
      proxy.process.stderr.split("\n").filter((line) =>
        line.startsWith(`[${name}] `) && line.includes("The remote server refused the request")
      ).length;
    // Two starts of each, each refused: the states are read all along.
    await eventually(
      async () => {
        const status = await (await fetch(`${proxy.base}/status`)).json();
        assert.equal(status.server_instances.good, "running");
        let done = true;
        for (const name of Object.keys(REFUSED)) {
          states[name].push(status.server_instances[name]);
          done &&= refusals(name) >= 2 && status.server_instances[name] === "failed";
        }
        return done;
      },
      "each refused server failed twice",
      60_000,
    );
    for (const name of Object.keys(REFUSED)) {
      assert.ok(!states[name].includes("running"), `${name}: ${states[name].join(", ")}`);

      // Its clients are told that it does not run.
      const response = await fetch(proxy.mcp[name], {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
        },
        body: JSON.stringify(INITIALIZE),
      });
      const text = await response.text();
      assert.ok(!text.includes('"result"'), text);
      assert.match(text, /not running/);
    }
    assert.ok(!remote.requests.some((r) => r.path === "/register"));
  });
});

/** What client mode says, on stderr and to waiting requests, when every probe is refused. */
const refusedEveryRequest = (statuses: string) =>
  `it refused every request (HTTP ${statuses}): it wants credentials this proxy was not given ` +
  `(or refused those given); pass them with -H (${EXAMPLES})`;

Deno.test("a remote that refuses every request: the credentials are named, not the URL, and exit 1", async (t) => {
  await withTokenDir(async (env) => {
    // Each was "answers as no MCP server does (…); check the URL"; the forced transport took
    // the 401 for a legacy server and exited 0.
    for (const flags of [[], ["--transport", "streamablehttp"], ["--transport", "sse"]]) {
      await t.step(flags.join(" ") || "detected transport", async () => {
        await using remote = apiKeyRemote();
        const run = await initializeThrough(`${remote.origin}/mcp`, flags, env);
        assert.ok(
          run.errors.includes(`Cannot use the remote server: ${refusedEveryRequest("401")}.`),
          run.stderr,
        );
        assert.ok(!run.stderr.includes("check the URL"), run.stderr);
        const answer = JSON.parse(run.stdout.trim().split("\n")[0]);
        assert.equal(answer.id, 1);
        assert.equal(answer.error?.message, `mcp-proxy: ${refusedEveryRequest("401")}`);
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /Exiting with status 1: no MCP server was ever reached at /);
      });
    }

    await t.step("403 to every probe", async () => {
      await using remote = new ScriptedRemote(() => new Response("Forbidden", { status: 403 }));
      const run = await initializeThrough(`${remote.origin}/mcp`, [], env);
      assert.ok(
        run.errors.includes(`Cannot use the remote server: ${refusedEveryRequest("403")}.`),
        run.stderr,
      );
      assert.equal(run.code, 1, run.stderr);
    });
  });
});
