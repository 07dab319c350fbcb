/**
 * Client mode against a fixture server that records what arrives: headers, tokens, DELETE,
 * pagination, unknown methods, malformed input and stdin EOF.
 */
import assert from "node:assert/strict";
import {
  type ClientAuthMethod,
  OAUTH_CLIENT,
  RemoteMcpServer,
  RESOURCE_URIS,
} from "../fixtures/remote_mcp_server.ts";
import { runProxy } from "../support/process.ts";
import { isJsonRpcLine, ProxyStdio, withClientThrough } from "../support/proxy_stdio.ts";
import { INITIALIZE } from "../support/raw_http.ts";

const INITIALIZED = { jsonrpc: "2.0", method: "notifications/initialized" };

const TRANSPORTS = [
  { name: "sse", args: [] as string[], path: "/sse" },
  { name: "streamablehttp", args: ["--transport", "streamablehttp"], path: "/mcp" },
];

for (const transport of TRANSPORTS) {
  Deno.test(`client mode (${transport.name}): headers and API_ACCESS_TOKEN reach the server`, async () => {
    const remote = new RemoteMcpServer().start();
    const proxy = new ProxyStdio(
      [
        "--debug",
        ...transport.args,
        "-H",
        "X-Custom-Header",
        "custom header value",
        "-H",
        "Authorization",
        "Bearer overridden-by-env",
        `${remote.origin}${transport.path}?api_key=key-in-query`,
      ],
      { API_ACCESS_TOKEN: "api-access-token-value" },
    );
    await withClientThrough(proxy, remote, "headers-test", async (client) => {
      await client.callTool({ name: "any", arguments: {} });
    });
    assert.ok(remote.requests.length >= 3);
    for (const request of remote.requests) {
      const what = `${request.method} ${request.path}`;
      assert.equal(request.headers.get("x-custom-header"), "custom header value", what);
      assert.equal(request.headers.get("authorization"), "Bearer api-access-token-value", what);
    }
    // After the initialize result has passed, the negotiated version goes with every request.
    const call = remote.requests.find((r) => r.body?.method === "tools/call")!;
    assert.equal(call.headers.get("mcp-protocol-version"), "2025-11-25");
    const secrets = ["custom header value", "api-access-token-value", "overridden-by-env"];
    for (const secret of [...secrets, "key-in-query"]) {
      assert.ok(!proxy.stderr.includes(secret), `stderr shows ${secret}`);
    }
  });
}

Deno.test("client mode: a paginated list is followed through its cursor", async () => {
  const remote = new RemoteMcpServer().start();
  const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`]);
  await withClientThrough(proxy, remote, "pagination-test", async (client) => {
    const uris: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listResources(cursor ? { cursor } : undefined);
      uris.push(...page.resources.map((resource) => resource.uri));
      cursor = page.nextCursor;
    } while (cursor);
    assert.deepEqual(uris, RESOURCE_URIS);
    const cursors = remote.requests.filter((r) => r.body?.method === "resources/list")
      .map((r) => (r.body!.params as { cursor?: string } | undefined)?.cursor);
    assert.deepEqual(cursors, [undefined, "2", "4"]);
  });
});

Deno.test("client mode: malformed lines get -32700, unknown methods relay, EOF sends DELETE and exits 0", async () => {
  const remote = new RemoteMcpServer().start();
  const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`]);
  let status: Deno.CommandStatus;
  try {
    await proxy.start();
    await proxy.send(INITIALIZE as never);
    await proxy.waitForLine((line) => JSON.parse(line).id === 1);
    await proxy.send(INITIALIZED as never);
    await proxy.sendLine("{this is not json");
    const parseError = JSON.parse(await proxy.waitForLine((line) => line.includes("-32700")));
    assert.deepEqual(
      { id: parseError.id, code: parseError.error.code },
      { id: null, code: -32700 },
    );
    await proxy.sendLine("[1, 2]");
    await proxy.waitForLine((line) => line.includes("-32600"));
    // The relay goes on, and passes on a method nobody has heard of.
    await proxy.send(
      { jsonrpc: "2.0", id: "x-7", method: "vendor/frobnicate", params: { knob: 11 } } as never,
    );
    const answer = JSON.parse(await proxy.waitForLine((line) => line.includes('"x-7"')));
    assert.deepEqual(answer.result.echo, { method: "vendor/frobnicate", params: { knob: 11 } });
    await proxy.send({ jsonrpc: "2.0", method: "vendor/notice", params: { n: 1 } } as never);
  } finally {
    await proxy.close();
    status = await proxy.status;
    await remote.close();
  }
  assert.equal(status.code, 0);
  // The notification written just before EOF was still delivered, then the session ended.
  assert.deepEqual(remote.postedMethods().slice(-2), ["vendor/frobnicate", "vendor/notice"]);
  // First the era probe (a 2026-07-28 server/discover, refused by this legacy server), then
  // the session: its initialize, and a DELETE at the end.
  const [probe, session, next] = remote.requestsTo("POST", "/mcp");
  assert.equal(probe.body?.method, "server/discover");
  const deletes = remote.requestsTo("DELETE", "/mcp");
  assert.equal(deletes.length, 1);
  assert.equal(deletes[0].headers.get("mcp-session-id"), next.headers.get("mcp-session-id"));
  assert.equal(session.body?.method, "initialize");
  assert.equal(proxy.stdoutLines.length, 4);
  for (const line of proxy.stdoutLines) assert.ok(isJsonRpcLine(line), `not JSON-RPC: ${line}`);
});

Deno.test("client mode: SIGTERM ends the remote session and exits 0", async () => {
  const remote = new RemoteMcpServer().start();
  const proxy = new ProxyStdio(["--transport", "streamablehttp", `${remote.origin}/mcp`]);
  try {
    await proxy.start();
    await proxy.send(INITIALIZE as never);
    await proxy.waitForLine((line) => JSON.parse(line).id === 1);
    proxy.kill("SIGTERM");
    assert.equal((await proxy.status).code, 0);
  } finally {
    await proxy.close();
    await remote.close();
  }
  assert.equal(remote.requestsTo("DELETE", "/mcp").length, 1);
});

Deno.test("client mode: OAuth2 client credentials, one token per lifetime, renewed after 401", async () => {
  const lifetimeSeconds = 2;
  const remote = new RemoteMcpServer({ tokenLifetimeSeconds: lifetimeSeconds }).start();
  const proxy = new ProxyStdio(remote.oauthClientArgs());
  const started = Date.now();
  await withClientThrough(proxy, remote, "oauth-test", async (client) => {
    while (Date.now() - started < 2.5 * lifetimeSeconds * 1000) {
      await client.callTool({ name: "any", arguments: {} });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const elapsedMs = Date.now() - started;
    const mcpRequests = remote.requests.length;
    const tokens = remote.tokenRequests.length;
    assert.equal(remote.unauthorized, 0, "a request went out with a missing or expired token");
    assert.ok(tokens >= 2, `the token was never renewed (${tokens} token request(s))`);
    // Renewal comes at 90 % of the lifetime at the earliest.
    const most = Math.ceil(elapsedMs / (lifetimeSeconds * 900)) + 1;
    assert.ok(tokens <= most, `${tokens} token requests in ${elapsedMs} ms (at most ${most})`);
    assert.ok(mcpRequests > 3 * tokens, "a token was fetched for every request");
    for (const request of remote.requests) {
      assert.match(request.headers.get("authorization") ?? "", /^Bearer token-\d+$/);
    }
    for (const { form, clientAuth, accepted } of remote.tokenRequests) {
      assert.equal(form.get("grant_type"), "client_credentials");
      assert.equal(clientAuth, "client_secret_basic");
      assert.ok(accepted);
    }

    remote.revokeTokens();
    await client.callTool({ name: "any", arguments: {} });
    assert.equal(remote.unauthorized, 1);
    assert.equal(remote.tokenRequests.length, tokens + 1);
  });
  assert.ok(!proxy.stderr.includes(OAUTH_CLIENT.secret), "stderr shows the client secret");
  assert.ok(!/token-\d/.test(proxy.stderr), "stderr shows an access token");
});

Deno.test("client mode: OAuth2 client authentication, HTTP Basic first, the form body once if refused", async (t) => {
  const cases: { accepts: ClientAuthMethod; sent: ClientAuthMethod[] }[] = [
    { accepts: "client_secret_basic", sent: ["client_secret_basic", "client_secret_basic"] },
    // Refused once, then remembered: the renewal goes straight to the form body.
    {
      accepts: "client_secret_post",
      sent: ["client_secret_basic", "client_secret_post", "client_secret_post"],
    },
  ];
  for (const { accepts, sent } of cases) {
    await t.step(`a token endpoint that accepts only ${accepts}`, async () => {
      const remote = new RemoteMcpServer({ tokenLifetimeSeconds: 3600, clientAuth: accepts })
        .start();
      const proxy = new ProxyStdio(remote.oauthClientArgs());
      await withClientThrough(proxy, remote, "oauth-test", async (client) => {
        await client.callTool({ name: "any", arguments: {} });
        remote.revokeTokens();
        await client.callTool({ name: "any", arguments: {} });
        assert.deepEqual(remote.tokenRequests.map((r) => r.clientAuth), sent);
        assert.deepEqual(remote.tokenRequests.at(-1)?.accepted, true);
      });
      assert.ok(!proxy.stderr.includes(OAUTH_CLIENT.secret), "stderr shows the client secret");
    });
  }
});

Deno.test("client mode: the token request follows a same-origin redirect, refuses another origin", async (t) => {
  await t.step("307 to the same origin: followed", async () => {
    const remote = new RemoteMcpServer({
      tokenLifetimeSeconds: 3600,
      redirects: { "/old-token": "/token" },
    }).start();
    const proxy = new ProxyStdio(remote.oauthClientArgs("/old-token"));
    await withClientThrough(proxy, remote, "oauth-test", async (client) => {
      await client.callTool({ name: "any", arguments: {} });
      assert.equal(remote.tokenRequests.length, 1);
      assert.equal(remote.unauthorized, 0);
    });
  });
  await t.step("307 to another port: refused, the secret never sent there", async () => {
    const elsewhere = new RemoteMcpServer().start();
    const remote = new RemoteMcpServer({
      tokenLifetimeSeconds: 3600,
      redirects: { "/token": `${elsewhere.origin}/token` },
    }).start();
    try {
      const result = await runProxy(remote.oauthClientArgs(), { stdin: "" });
      assert.equal(result.code, 1, result.stderr);
      assert.ok(
        result.stderr.includes(`Token endpoint redirected to another origin (${elsewhere.origin})`),
        result.stderr,
      );
      assert.deepEqual(elsewhere.tokenRequests, [], "the token request reached the other origin");
      assert.equal(remote.requests.length, 0);
    } finally {
      await remote.close();
      await elsewhere.close();
    }
  });
});

Deno.test("client mode: rejected OAuth2 credentials stop the proxy at start-up", async () => {
  const remote = new RemoteMcpServer({ tokenLifetimeSeconds: 60 }).start();
  try {
    const result = await runProxy([
      "--client-id",
      OAUTH_CLIENT.id,
      "--client-secret",
      "wrong-secret",
      "--token-url",
      `${remote.origin}/token`,
      `${remote.origin}/sse`,
    ], { stdin: "" });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Token endpoint answered HTTP 401 \(invalid_client\)/);
    assert.equal(result.stdout, "");
    assert.ok(!result.stderr.includes("wrong-secret"));
    assert.equal(remote.requests.length, 0);
  } finally {
    await remote.close();
  }
});
