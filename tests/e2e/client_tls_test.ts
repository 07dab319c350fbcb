/**
 * Client mode TLS options against an HTTPS fixture whose certificate is signed by a test CA:
 * `--verify-ssl CA_BUNDLE` trusts it, `--no-verify-ssl` skips checks, the default rejects it,
 * and a bundle that cannot be used stops the proxy at start-up.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { RemoteMcpServer } from "../fixtures/remote_mcp_server.ts";
import { Client } from "../support/mcp_client.ts";
import { runProxy } from "../support/process.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";

const TLS_DIR = new URL("../fixtures/tls/", import.meta.url);
const CA_BUNDLE = new URL("ca.pem", TLS_DIR).pathname;
const tls = {
  cert: Deno.readTextFileSync(new URL("server.pem", TLS_DIR)),
  key: Deno.readTextFileSync(new URL("server.key", TLS_DIR)),
};

const CASES = [
  { option: ["--verify-ssl", CA_BUNDLE], transport: "streamablehttp", path: "/mcp" },
  { option: ["--no-verify-ssl"], transport: "streamablehttp", path: "/mcp" },
  { option: ["--no-verify-ssl"], transport: "sse", path: "/sse" },
  { option: ["--verify-ssl", "off"], transport: "sse", path: "/sse" },
];

for (const { option, transport, path } of CASES) {
  const label = option.join(" ").replace(CA_BUNDLE, "CA_BUNDLE");
  Deno.test(`client mode (${transport}, https): ${label} reaches the server`, async () => {
    const remote = new RemoteMcpServer({ tls }).start();
    const proxy = new ProxyStdio([...option, "--transport", transport, `${remote.origin}${path}`]);
    const client = new Client({ name: "tls-test", version: "1.0.0" });
    try {
      await client.connect(proxy);
      const result = await client.callTool({ name: "any", arguments: { over: "tls" } });
      assert.match(JSON.stringify(result.content), /tls/);
    } finally {
      await client.close();
      await remote.close();
    }
    assert.equal((await proxy.status).code, 0);
    assert.ok(remote.requests.length >= 3);
  });
}

Deno.test("client mode (https): by default an untrusted certificate is refused", async () => {
  const remote = new RemoteMcpServer({ tls }).start();
  const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`]);
  try {
    await proxy.start();
    await proxy.sendLine(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }));
    // Refused at once with an error naming the certificate, on Deno (rustls) and Bun alike.
    await eventually(() => proxy.stdoutLines.length > 0, "the proxy answered");
  } finally {
    await proxy.close();
    await remote.close();
  }
  assert.equal(remote.requests.length, 0);
  assert.equal(proxy.stdoutLines.length, 1);
  const reply = JSON.parse(proxy.stdoutLines[0]);
  assert.equal(reply.id, 1);
  assert.match(reply.error.message, /certificate|unable to verify/i);
  assert.match(proxy.stderr, /certificate|unable to verify/i);
});

Deno.test("client mode: an unusable --verify-ssl bundle stops the proxy at start-up", async () => {
  const missing = await runProxy(
    ["--verify-ssl", "/nonexistent/ca.pem", "http://127.0.0.1:9/sse"],
    {
      stdin: "",
    },
  );
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read the CA bundle given to --verify-ssl/);
  assert.equal(missing.stdout, "");

  const notPem = await runProxy([
    "--verify-ssl",
    new URL(import.meta.url).pathname,
    "http://127.0.0.1:9/sse",
  ], {
    stdin: "",
  });
  assert.equal(notPem.code, 1);
  assert.match(notPem.stderr, /no PEM certificate/);
});
