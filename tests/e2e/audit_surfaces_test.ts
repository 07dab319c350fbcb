/**
 * Bounds and checks at the proxy's edges, on the real process: HTTP/2 streams counted against
 * the connection cap, `Mcp-Name` and `Mcp-Param-*` headers that disagree with the body of a
 * modern call, two processes updating one token file, server names too long to route, and the
 * exit code of a bad server name.
 */
import assert from "node:assert/strict";
import { MAX_STREAMS_PER_CONNECTION } from "../../src/runtime/deno_http.ts";
import { openH2cStreams } from "../load/h2c_flood.ts";
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
