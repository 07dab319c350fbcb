/**
 * Bounds and checks at the proxy's edges, on the real process: HTTP/2 streams counted against
 * the connection cap, `Mcp-Name` and `Mcp-Param-*` headers that disagree with the body of a
 * modern call, two processes updating one token file, server names too long to route, and the
 * exit code of a bad server name.
 */
import assert from "node:assert/strict";
import { MAX_STREAMS_PER_CONNECTION } from "../../src/runtime/deno_http.ts";
import { openH2cStreams } from "../load/h2c_flood.ts";
import { connectModernClient, envelope, modernPost } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { startProxy } from "../support/process.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

/** The executables tested through MCP_PROXY_BIN are Bun builds, which speak HTTP/1.1 only. */
const BUN_BUILD = Deno.env.get("MCP_PROXY_BIN") !== undefined;

/** Polls `GET /status` until it is answered 200 (the proxy has room again). */
async function statusServed(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const response = await fetch(`${base}/status`).catch(() => undefined);
    await response?.body?.cancel();
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error("/status was not answered 200 within 10 s");
}

Deno.test("h2c streams count against --max-connections, and at most 100 ride on one connection", async () => {
  const cap = MAX_STREAMS_PER_CONNECTION + 50;
  await using proxy = await startServerProxy([
    "--max-connections",
    String(cap),
    "--",
    "node",
    FIXTURE,
  ]);
  const first = await openH2cStreams(proxy.base, "/sse", MAX_STREAMS_PER_CONNECTION + 20);
  const second = await openH2cStreams(proxy.base, "/sse", 80);
  first.close();
  second.close();
  if (BUN_BUILD) {
    // Bun's server answers the HTTP/2 preface with a protocol error: no stream is served.
    assert.equal(first.held + second.held, 0);
    return;
  }
  assert.deepEqual(first.statuses, { "200": MAX_STREAMS_PER_CONNECTION, "503": 20 });
  assert.deepEqual(second.statuses, { "200": 50, "503": 30 });
  assert.match(proxy.process.stderr, /An HTTP\/2 connection has 100 exchanges in flight/);
  // Streams that end give their room back.
  await statusServed(proxy.base);
  const third = await openH2cStreams(proxy.base, "/sse", MAX_STREAMS_PER_CONNECTION);
  third.close();
  assert.deepEqual(third.statuses, { "200": MAX_STREAMS_PER_CONNECTION });
});

/** Runs the proxy with `args`; its exit code and stderr, or a failure if it still runs after 30 s. */
async function exitOf(args: string[]): Promise<{ code: number; stderr: string }> {
  const proxy = startProxy(args);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((resolve) =>
    timer = setTimeout(() => resolve(undefined), 30_000)
  );
  const status = await Promise.race([proxy.exited, late]);
  clearTimeout(timer);
  if (status === undefined) {
    await proxy.stop("SIGKILL");
    throw new Error(`still running after 30 s; stderr:\n${proxy.stderr.slice(0, 2_000)}`);
  }
  return { code: status.code, stderr: proxy.stderr };
}

Deno.test("a server name over 128 characters stops the start with exit 1; one of 128 is served", async () => {
  for (const name of ["a".repeat(129), "b".repeat(3_000)]) {
    const { code, stderr } = await exitOf(["--named-server", name, `node ${FIXTURE}`]);
    assert.equal(code, 1);
    assert.match(stderr, /Invalid name for named server '[ab]+': .*at most 128 characters/);
  }
  const dir = await Deno.makeTempDir();
  try {
    const config = `${dir}/servers.json`;
    await Deno.writeTextFile(
      config,
      JSON.stringify({ mcpServers: { ["c".repeat(200)]: { command: "node", args: [FIXTURE] } } }),
    );
    const { code, stderr } = await exitOf(["--named-server-config", config]);
    assert.equal(code, 1);
    assert.match(stderr, /Named server 'c+' from config has an invalid name \(.*at most 128/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  const longest = "d".repeat(128);
  await using proxy = await startServerProxy(["--named-server", longest, `node ${FIXTURE}`]);
  const status = await fetch(`${proxy.base}/status`);
  await status.body?.cancel();
  assert.equal(status.status, 200);
  const stream = await fetch(proxy.sse[longest]);
  assert.equal(stream.status, 200);
  await stream.body?.cancel();
});

Deno.test("a bad server name exits 1, as the original does, and the README says so", async () => {
  const { code, stderr } = await exitOf(["--named-server", "bad name!", "echo"]);
  assert.equal(code, 1);
  assert.match(stderr, /Invalid name for named server 'bad name!'/);
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const exitCodes = readme.match(/^Exit codes: (.+?)\n\n/ms)?.[1].replace(/\s+/g, " ");
  assert.ok(exitCodes, "README has an Exit codes paragraph");
  const [usage, one] = exitCodes.split(/; 1 when /);
  assert.doesNotMatch(usage, /name/);
  assert.match(one, /invalid server NAME/);
});

Deno.test("two processes updating one token file for two remotes keep every write", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-proxy-token-race-" });
  const tokenFile = `${dir}/config/oauth.json`;
  const goFile = `${dir}/go`;
  const updates = 200;
  const remotes = ["https://one.example/mcp", "https://two.example/mcp"];
  try {
    const writers = remotes.map((remote) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--quiet",
          "--no-check",
          `${ROOT}tests/fixtures/token_writer.ts`,
          tokenFile,
          remote,
          String(updates),
          goFile,
        ],
        stdout: "null",
        stderr: "piped",
      }).output()
    );
    // Both start writing at once.
    await Deno.writeTextFile(goFile, "");
    for (const { code, stderr } of await Promise.all(writers)) {
      assert.equal(code, 0, new TextDecoder().decode(stderr));
    }
    const content = JSON.parse(await Deno.readTextFile(tokenFile));
    for (const remote of remotes) {
      assert.equal(Object.keys(content.remotes[remote].issuers).length, updates, remote);
    }
    const left = [...Deno.readDirSync(`${dir}/config`)].map((entry) => entry.name);
    assert.deepEqual(left, ["oauth.json"], "no lock or temporary file is left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** The child of the `Mcp-Param-*` tests: its tool `whoami` mirrors four parameters. */
const PARAM_FIXTURE_ARGS = ["--", "node", `${ROOT}tests/fixtures/param_headers_server.mjs`];

/** A modern `tools/call` of `name` with `args`; `headers` add to (or replace) the standard ones. */
function callTool(
  url: string,
  id: number,
  name: unknown,
  args: Record<string, unknown>,
  headers: Record<string, string> = {},
) {
  return modernPost(url, {
    id,
    method: "tools/call",
    params: { name, arguments: args, _meta: envelope() },
  }, headers);
}

/** How many `whoami` calls reached the fixture. */
async function runs(url: string): Promise<number> {
  const { body } = await callTool(url, 900, "runs", {});
  return Number((body.result as { content: { text: string }[] }).content[0].text);
}

/** Asserts a -32020 HeaderMismatch refusal with status 400 and the request's id. */
function assertMismatch(answer: { status: number; body: Record<string, unknown> }, id: number) {
  assert.equal(answer.status, 400, JSON.stringify(answer.body));
  assert.equal(answer.body.id, id);
  assert.equal((answer.body.error as { code: number }).code, -32020);
}

Deno.test("Mcp-Param-* headers of a modern tools/call must match the arguments its tool mirrors", async () => {
  await using proxy = await startServerProxy(PARAM_FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const args = { tenant: "acme", count: 42, flag: true, scope: { region: "eu" } };
  const mirrored = {
    "mcp-param-tenant": "acme",
    "mcp-param-count": "42",
    "mcp-param-flag": "true",
    "mcp-param-region": "eu",
  };
  // No listing first: the proxy lists the tools itself (both pages) to learn what whoami mirrors.
  const ok = await callTool(url, 1, "whoami", args, mirrored);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(
    JSON.parse((ok.body.result as { content: { text: string }[] }).content[0].text),
    args,
  );
  // Decoded before comparing; integers compared as numbers.
  const encoded = await callTool(url, 2, "whoami", { ...args, tenant: "Zürich" }, {
    ...mirrored,
    "mcp-param-tenant": `=?base64?${
      btoa(String.fromCharCode(...new TextEncoder().encode("Zürich")))
    }?=`,
    "mcp-param-count": "42.0",
  });
  assert.equal(encoded.status, 200, JSON.stringify(encoded.body));
  assert.equal(await runs(url), 2);

  const { "mcp-param-tenant": _, ...withoutTenant } = mirrored;
  const refused: [string, Record<string, unknown>, Record<string, string>][] = [
    ["another tenant", args, { ...mirrored, "mcp-param-tenant": "other" }],
    ["no tenant header", args, withoutTenant],
    ["an empty tenant header", args, { ...mirrored, "mcp-param-tenant": "" }],
    ["a header without a value", { ...args, tenant: null }, mirrored],
    ["another nested region", args, { ...mirrored, "mcp-param-region": "us" }],
    ["hexadecimal count", args, { ...mirrored, "mcp-param-count": "0x2a" }],
    ["boolean spelt otherwise", args, { ...mirrored, "mcp-param-flag": "True" }],
    ["broken base64", args, { ...mirrored, "mcp-param-tenant": "=?base64?%%%?=" }],
    ["unpadded base64", args, { ...mirrored, "mcp-param-tenant": "=?base64?YWNtZQ?=" }],
    ["an object for a string", { ...args, tenant: { id: "acme" } }, mirrored],
  ];
  let id = 10;
  for (const [what, body, headers] of refused) {
    const answer = await callTool(url, ++id, "whoami", body, headers);
    assert.equal(answer.status, 400, `${what}: ${JSON.stringify(answer.body)}`);
    assertMismatch(answer, id);
  }
  assert.equal(await runs(url), 2, "no refused call reached the server");

  // A header no tool declares is passed over, as servers must.
  const plain = await callTool(url, 30, "plain", {}, { "mcp-param-tenant": "anything" });
  assert.equal(plain.status, 200, JSON.stringify(plain.body));
});

Deno.test("a conforming modern client's mirrored headers pass, after the tool renamed its header too", async () => {
  await using proxy = await startServerProxy(PARAM_FIXTURE_ARGS);
  const url = proxy.mcp.default;
  const client = await connectModernClient(url);
  try {
    await client.listTools();
    const result = await client.callTool({ name: "whoami", arguments: { tenant: "acme" } });
    assert.equal(
      (result.content as { text: string }[])[0].text,
      JSON.stringify({ tenant: "acme" }),
    );
  } finally {
    await client.close();
  }
  // The proxy knows whoami mirrors Tenant; the server now declares Org instead.
  assert.equal(
    (await callTool(url, 1, "whoami", { tenant: "acme" }, { "mcp-param-tenant": "acme" })).status,
    200,
  );
  await callTool(url, 2, "rename", {});
  const renamed = await callTool(url, 3, "whoami", { tenant: "acme" }, { "mcp-param-org": "acme" });
  assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
  assertMismatch(
    await callTool(url, 4, "whoami", { tenant: "acme" }, { "mcp-param-org": "evil" }),
    4,
  );
  assertMismatch(
    await callTool(url, 5, "whoami", { tenant: "acme" }, { "mcp-param-tenant": "acme" }),
    5,
  );
});

Deno.test("Mcp-Name must mirror a name that is a string", async () => {
  await using proxy = await startServerProxy(PARAM_FIXTURE_ARGS);
  const url = proxy.mcp.default;
  let id = 0;
  for (const name of [["whoami"], 5, { name: "whoami" }, null]) {
    const headerSets: Record<string, string>[] = [
      { "mcp-name": "whoami" },
      { "mcp-name": String(name) },
      {},
    ];
    for (const headers of headerSets) {
      assertMismatch(await callTool(url, ++id, name, { tenant: "acme" }, headers), id);
    }
  }
  const prompt = await modernPost(url, {
    id: 99,
    method: "prompts/get",
    params: { name: ["greet"], _meta: envelope() },
  }, { "mcp-name": "greet" });
  assertMismatch(prompt, 99);
  assert.equal(await runs(url), 0);
});
