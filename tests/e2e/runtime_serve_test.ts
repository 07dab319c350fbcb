/**
 * The HTTP engine behind server mode and the sign-in callback listener (src/runtime), against
 * real client processes, and the proxy's listener as a process: under `deno run`, and under the
 * Bun executable when tests/e2e/binary_test.ts reruns this file with `MCP_PROXY_BIN` set.
 */
import assert from "node:assert/strict";
import { runtime } from "../../src/runtime/mod.ts";
import { startProxy } from "../support/process.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

Deno.test({
  name: "shutting down right after a client process exited does not crash the process",
  // In process: this is Deno's engine whatever MCP_PROXY_BIN names, and binary_test's rerun
  // would only repeat it.
  ignore: Deno.env.has("MCP_PROXY_BIN"),
  async fn() {
    // The client's exit closes its connection while the engine still holds it; the shutdown's
    // close of it then raced (BadResource thrown inside Deno's engine, ending the process).
    for (let i = 0; i < 40; i++) {
      const server = await runtime.serve({
        hostname: "127.0.0.1",
        port: 0,
        handler: () => new Response("ok"),
      });
      const { success } = await new Deno.Command(Deno.execPath(), {
        args: [
          "eval",
          `const r = await fetch("http://127.0.0.1:${server.port}/"); await r.text(); Deno.exit(0);`,
        ],
        stdout: "null",
        stderr: "null",
      }).output();
      assert.ok(success);
      await server.shutdown();
    }
  },
});

Deno.test("a second proxy on the port another one serves exits 1; the first keeps it", async () => {
  await using first = await startServerProxy(["--port", "0", "--", "node", FIXTURE]);
  const port = new URL(first.base).port;
  const second = startProxy(["--port", port, "--", "node", FIXTURE]);
  // Bun's listener shares a port by default (SO_REUSEPORT): the second one would print its
  // URLs and take every other connection instead of failing.
  const listened = await second.waitForStderr(/via Streamable HTTP:\n/, 30_000).then(
    () => true,
    () => false,
  );
  const { code } = await second.stop("SIGKILL");
  assert.equal(listened, false, `the second proxy listened too:\n${second.stderr}`);
  assert.equal(code, 1, second.stderr);
  assert.match(
    second.stderr,
    new RegExp(`Could not listen on 127\\.0\\.0\\.1:${port}: .*\\bin use\\b`, "i"),
  );
  const status = await fetch(`${first.base}/status`);
  assert.equal(status.status, 200);
  await status.body?.cancel();
});
