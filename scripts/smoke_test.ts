/**
 * Smoke test of a built mcp-proxy executable, run before a release asset is uploaded (and by
 * tests/e2e/binary_test.ts on the Bun build): `--version`, then one server-mode round trip, an
 * `echo` tool call through both `/mcp` and `/sse`, then a clean SIGTERM shutdown.
 *
 *     deno run -A scripts/smoke_test.ts <executable> [-- <server command...>]
 *
 * The server defaults to `npx -y @modelcontextprotocol/server-everything`.
 * @module
 */
import assert from "node:assert/strict";
import { connectClient } from "../tests/support/mcp_client.ts";
import { RunningProcess } from "../tests/support/process.ts";
import { PROXY_VERSION } from "../src/protocol/handshake.ts";

const DEFAULT_SERVER = ["npx", "-y", "@modelcontextprotocol/server-everything"];

/** Checks that `executable --version` prints this checkout's version. */
async function checkVersion(executable: string): Promise<void> {
  const { code, stdout } = await new Deno.Command(executable, { args: ["--version"] }).output();
  assert.equal(code, 0, "--version failed");
  assert.equal(new TextDecoder().decode(stdout).trim(), `mcp-proxy ${PROXY_VERSION}`);
}

/** Calls the `echo` tool through `url` and checks the answer. */
async function echoThrough(url: string, kind: "mcp" | "sse"): Promise<void> {
  const client = await connectClient(url, kind, { name: "smoke-test" });
  try {
    const result = await client.callTool({ name: "echo", arguments: { message: kind } });
    assert.deepEqual(result.content, [{ type: "text", text: `Echo: ${kind}` }]);
  } finally {
    await client.close();
  }
}

/**
 * Serves `server` through the proxy started by `proxy` (command and leading arguments) on a
 * random port, round-trips an `echo` call over `/mcp` and `/sse`, then stops it with SIGTERM.
 */
export async function checkServerMode(
  proxy: string[],
  server: string[],
  options: { cwd?: string } = {},
): Promise<void> {
  const [command, ...prefix] = proxy;
  const running = new RunningProcess(command, [...prefix, "--port", "0", "--", ...server], options);
  try {
    // The start-up lines name the URLs with the real port; npx may first have to download.
    const [, origin] = await running.waitForStderr(/(http:\/\/[\w.]+:\d+)\//, 120_000);
    await echoThrough(`${origin}/mcp`, "mcp");
    await echoThrough(`${origin}/sse`, "sse");
  } catch (error) {
    throw new Error(`${error}\nproxy stderr:\n${running.stderr}`);
  } finally {
    const status = await running.stop("SIGTERM");
    // A signal-terminated exit is not a clean shutdown: the proxy handles SIGTERM itself.
    assert.equal(status.signal, null, `proxy died of ${status.signal}:\n${running.stderr}`);
  }
}

if (import.meta.main) {
  const [executable, separator, ...server] = Deno.args;
  if (!executable || (separator !== undefined && separator !== "--")) {
    console.error("usage: smoke_test.ts <executable> [-- <server command...>]");
    Deno.exit(2);
  }
  await checkVersion(executable);
  console.error(`ok: ${executable} --version`);
  await checkServerMode([executable], server.length ? server : DEFAULT_SERVER);
  console.error(`ok: ${executable} server mode round trip over /mcp and /sse`);
}
