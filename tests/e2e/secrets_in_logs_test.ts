/**
 * No secret reaches stderr, even at DEBUG: a child's secret-looking arguments in server mode
 * (start-up lines and the "could not start" error), the token URL's query, the client secret
 * and the `--password` in client mode. The real process, with secrets that are easy to search
 * for.
 */
import assert from "node:assert/strict";
import { PasswordRemote } from "../fixtures/digest_remote.ts";
import { OAUTH_CLIENT, RemoteMcpServer } from "../fixtures/remote_mcp_server.ts";
import { connectClient } from "../support/mcp_client.ts";
import { runProxy } from "../support/process.ts";
import { ProxyStdio, withClientThrough } from "../support/proxy_stdio.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import { FIXTURE, startServerProxy } from "../support/server_proxy.ts";

/** Asserts that none of `secrets` occurs in `stderr`. */
function assertNoSecret(stderr: string, secrets: readonly string[]): void {
  const shown = secrets.filter((secret) => stderr.includes(secret));
  assert.deepEqual(shown, [], `secrets in stderr:\n${stderr}`);
}

Deno.test("server mode at DEBUG: a child's secret arguments are masked in every line", async () => {
  const secrets = ["s3cret-one", "s3cret-two", "s3cret-three", "s3cret-four", "s3cret-five"];
  await using proxy = await startServerProxy([
    "--debug",
    "--named-server",
    "named",
    `node ${FIXTURE} --password ${secrets[3]} --client-secret=${secrets[4]}`,
    "--",
    "node",
    FIXTURE,
    `--token=${secrets[0]}`,
    "--api-key",
    secrets[1],
    `GITHUB_TOKEN=${secrets[2]}`,
  ]);
  for (const url of [proxy.mcp.default, proxy.mcp.named]) {
    const client = await connectClient(url, "mcp");
    try {
      assert.ok((await client.listTools()).tools.length > 0);
    } finally {
      await client.close();
    }
  }
  await proxy.stop();
  const { stderr } = proxy.process;
  assert.match(stderr, /Configured default server: node \S+ --token=\*\*\* --api-key \*\*\* /);
  assert.match(stderr, /Configured named server 'named': node \S+ --password \*\*\* /);
  assertNoSecret(stderr, secrets);
});

Deno.test("server mode: the 'could not start' error masks the commands' secret arguments", async () => {
  const missing = "mcp-proxy-test-no-such-command";
  const { code, stderr } = await runProxy(["--debug", "--", missing, "--api-key", "s3cret-six"]);
  assert.equal(code, 1, stderr);
  assert.match(
    stderr,
    /No MCP server could start \('mcp-proxy-test-no-such-command --api-key \*\*\*'\)/,
  );
  assertNoSecret(stderr, ["s3cret-six"]);
});

Deno.test("client mode at DEBUG: neither the token URL's query nor the client secret is logged", async () => {
  const remote = new RemoteMcpServer({ tokenLifetimeSeconds: 3600 }).start();
  const querySecret = "s3cret-in-query";
  const proxy = new ProxyStdio(remote.oauthClientArgs(`/token?tenant=${querySecret}`));
  await withClientThrough(proxy, remote, "secrets-test", async (client) => {
    await client.callTool({ name: "any", arguments: {} });
  });
  assert.match(
    proxy.stderr,
    /Requesting an OAuth2 access token from http:\/\/127\.0\.0\.1:\d+\/token\n/,
  );
  assertNoSecret(proxy.stderr, [querySecret, OAUTH_CLIENT.secret]);
});

Deno.test("client mode at DEBUG: the --password is never logged, plain or in Basic's Base64", async (t) => {
  const username = "secrets-user";
  const password = "s3cret-password-value";
  const base64 = (text: string) => btoa(String.fromCharCode(...new TextEncoder().encode(text)));
  const cases = [
    { scheme: "basic", flags: [] as string[], given: password },
    { scheme: "digest", flags: ["--digest"], given: password },
    // Refused: the refusal's log line quotes the remote, and not the password.
    { scheme: "basic", flags: [], given: "s3cret-wrong-password" },
    { scheme: "digest", flags: ["--digest"], given: "s3cret-wrong-password" },
  ] as const;
  for (const { scheme, flags, given } of cases) {
    await t.step(`${scheme}${given === password ? "" : ", refused"}`, async () => {
      const remote = new PasswordRemote({ scheme, username, password }).start();
      const proxy = new ProxyStdio([
        "--debug",
        "--username",
        username,
        "--password",
        given,
        ...flags,
        `${remote.origin}/mcp`,
      ]);
      if (given === password) {
        await withClientThrough(proxy, remote, "secrets-test", async (client) => {
          await client.callTool({ name: "any", arguments: {} });
        });
      } else {
        await proxy.start();
        await proxy.send(INITIALIZE as never);
        await proxy.waitForLine((line) => JSON.parse(line).id === 1);
        await proxy.close();
        await remote.close();
        assert.match(proxy.stderr, /refused the username and password/);
      }
      assertNoSecret(proxy.stderr, [given, base64(`${username}:${given}`)]);
    });
  }
  await t.step("--password without --username", async () => {
    const { code, stderr } = await runProxy([
      "--debug",
      "--password",
      password,
      "http://127.0.0.1:9/sse",
    ]);
    assert.equal(code, 1);
    assertNoSecret(stderr, [password]);
  });
});
