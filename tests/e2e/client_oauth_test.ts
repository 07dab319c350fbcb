/**
 * Client mode signs in to an OAuth-protected remote (tests/fixtures/oauth_server.ts) through
 * the real proxy process: the browser step is a `$BROWSER` script that fetches the
 * authorization URL and follows its redirects back to the proxy's loopback listener.
 */
import assert from "node:assert/strict";
import { OAuthFixture, type OAuthFixtureOptions } from "../fixtures/oauth_server.ts";
import { Client } from "../support/mcp_client.ts";
import { runProxy } from "../support/process.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";

const BROWSER_SCRIPT = new URL("../fixtures/fetching_browser.ts", import.meta.url).pathname;

/** A scratch directory with a token file path and a browser log. */
function scratch() {
  const dir = Deno.makeTempDirSync({ prefix: "mcp-proxy-oauth-" });
  return {
    dir,
    tokenFile: `${dir}/config/oauth.json`,
    browserLog: `${dir}/browser.log`,
    browserOpenings(): number {
      try {
        return Deno.readTextFileSync(this.browserLog).split("\n").filter(Boolean).length;
      } catch {
        return 0;
      }
    },
  };
}

function proxyFor(
  fixture: OAuthFixture,
  place: ReturnType<typeof scratch>,
  options: { args?: string[]; browser?: string } = {},
): ProxyStdio {
  return new ProxyStdio(
    ["--debug", "--transport", "streamablehttp", ...(options.args ?? []), fixture.mcpUrl],
    {
      BROWSER: options.browser ?? `"${Deno.execPath()}" run -A "${BROWSER_SCRIPT}"`,
      BROWSER_LOG: place.browserLog,
      MCP_PROXY_OAUTH_FILE: place.tokenFile,
    },
  );
}

/** Connects a client through `proxy`, lists the tools, and closes; resolves to the tool names. */
async function listTools(proxy: ProxyStdio): Promise<string[]> {
  const client = new Client({ name: "oauth-test", version: "1.0.0" });
  try {
    await client.connect(proxy);
    return (await client.listTools()).tools.map((tool) => tool.name);
  } finally {
    await client.close();
  }
}

/** Runs `body` with a started fixture and a scratch directory, cleaning both up after. */
async function withFixture(
  options: OAuthFixtureOptions,
  body: (fixture: OAuthFixture, place: ReturnType<typeof scratch>) => Promise<void>,
): Promise<void> {
  const fixture = new OAuthFixture(options).start();
  const place = scratch();
  try {
    await body(fixture, place);
  } finally {
    await fixture.close();
    Deno.removeSync(place.dir, { recursive: true });
  }
}

/** Runs `body` with a client connected (and so signed in) through one proxy; checks its stderr. */
function withSignedInClient(
  options: OAuthFixtureOptions,
  body: (client: Client, fixture: OAuthFixture, place: ReturnType<typeof scratch>) => Promise<void>,
): Promise<void> {
  return withFixture(options, async (fixture, place) => {
    const proxy = proxyFor(fixture, place);
    const client = new Client({ name: "oauth-test", version: "1.0.0" });
    try {
      await client.connect(proxy);
      await body(client, fixture, place);
    } finally {
      await client.close();
    }
    assertNoSecretIn(proxy.stderr, fixture);
  });
}

function assertNoSecretIn(stderr: string, fixture: OAuthFixture) {
  assert.ok(fixture.secrets.length > 0);
  for (const line of stderr.split("\n")) {
    for (const secret of fixture.secrets) {
      assert.ok(!line.includes(secret), `stderr line shows a secret: ${line}`);
    }
  }
}

function storedTokens(tokenFile: string) {
  const content = JSON.parse(Deno.readTextFileSync(tokenFile));
  return Object.values(content.remotes as Record<string, { issuers: Record<string, unknown> }>);
}

Deno.test("oauth: a full sign-in through the proxy, tokens kept in a 0600 file and reused", () =>
  withFixture({}, async (fixture, place) => {
    const first = proxyFor(fixture, place);
    assert.deepEqual(await listTools(first), ["whoami"]);
    assert.equal(fixture.registrations.length, 1);
    assert.equal(fixture.authorizations.length, 1);
    assert.equal(place.browserOpenings(), 1);
    // The era probe comes first: a sign-in answers its 401, then the legacy session starts.
    assert.deepEqual(fixture.mcpMethods.slice(0, 4), [
      "server/discover",
      "initialize",
      "notifications/initialized",
      "tools/list",
    ]);
    // PKCE, the resource indicator and the registered loopback redirect went out.
    const request = fixture.authorizations[0];
    assert.equal(request.get("code_challenge_method"), "S256");
    assert.equal(request.get("resource"), fixture.mcpUrl);
    assert.match(request.get("redirect_uri")!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    // The URL is always printed, for machines without a browser.
    assert.ok(first.stderr.includes(`${fixture.issuer()}/authorize?`));
    assertNoSecretIn(first.stderr, fixture);

    if (Deno.build.os !== "windows") {
      assert.equal(Deno.statSync(place.tokenFile).mode! & 0o777, 0o600);
    }
    const [remote] = storedTokens(place.tokenFile);
    assert.deepEqual(Object.keys(remote.issuers), [fixture.issuer()]);

    // A second run finds the tokens: no registration, no browser.
    const second = proxyFor(fixture, place);
    assert.deepEqual(await listTools(second), ["whoami"]);
    assert.equal(fixture.registrations.length, 1);
    assert.equal(fixture.authorizations.length, 1);
    assertNoSecretIn(second.stderr, fixture);
  }));

Deno.test("oauth: tokens are refreshed before they expire and after a 401", () =>
  withSignedInClient({ accessTokenSeconds: 1 }, async (client, fixture) => {
    assert.deepEqual(fixture.grants, ["authorization_code"]);
    // Past 90 % of the one-second lifetime the next request renews the token first.
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    await client.listTools();
    assert.deepEqual(fixture.grants, ["authorization_code", "refresh_token"]);
    const methodsBefore = fixture.mcpMethods.length;
    // The server refuses a token the proxy still thinks valid: refresh on the 401, then retry.
    fixture.expireAccessTokens();
    await client.listTools();
    assert.equal(fixture.grants.at(-1), "refresh_token");
    assert.equal(fixture.mcpMethods.length, methodsBefore + 1);
    assert.equal(fixture.authorizations.length, 1);
  }));

Deno.test("oauth: a revoked refresh token leads to a new sign-in", () =>
  withSignedInClient({}, async (client, fixture, place) => {
    fixture.revokeAll();
    assert.deepEqual((await client.listTools()).tools.map((tool) => tool.name), ["whoami"]);
    assert.deepEqual(fixture.grants, ["authorization_code", "refresh_token", "authorization_code"]);
    assert.equal(fixture.authorizations.length, 2);
    assert.equal(place.browserOpenings(), 2);
  }));

Deno.test("oauth: two proxies started together share one sign-in", () =>
  withFixture({}, async (fixture, place) => {
    const proxies = [proxyFor(fixture, place), proxyFor(fixture, place)];
    const tools = await Promise.all(proxies.map(listTools));
    assert.deepEqual(tools, [["whoami"], ["whoami"]]);
    assert.equal(fixture.authorizations.length, 1);
    assert.equal(fixture.registrations.length, 1);
    assert.equal(place.browserOpenings(), 1);
    // The waiting proxy takes the stored tokens as they are, without refreshing them.
    assert.deepEqual(fixture.grants, ["authorization_code"]);
    // One signed in; the other waited on the lock or, starting later, found the stored tokens.
    assert.equal(proxies.filter((proxy) => proxy.stderr.includes("Signed in to")).length, 1);
  }));

Deno.test("oauth: a new authorization server means a new registration and sign-in", () =>
  withFixture({}, async (fixture, place) => {
    await listTools(proxyFor(fixture, place));
    fixture.currentAs = 2;
    assert.deepEqual(await listTools(proxyFor(fixture, place)), ["whoami"]);
    assert.deepEqual(fixture.registrations.map((r) => r.issuer), [
      fixture.issuer(1),
      fixture.issuer(2),
    ]);
    const [remote] = storedTokens(place.tokenFile);
    assert.deepEqual(Object.keys(remote.issuers).sort(), [fixture.issuer(1), fixture.issuer(2)]);
  }));

Deno.test("oauth: without a browser the URL is printed and the sign-in waits for it", () =>
  withFixture({}, async (fixture, place) => {
    // `false` stands for a machine where no browser can be opened.
    const proxy = proxyFor(fixture, place, { browser: "false" });
    const listing = listTools(proxy);
    try {
      // The proxy prints the URL, then says no browser opened, then waits: the user reads both.
      let ended = false;
      listing.finally(() => ended = true).catch(() => {});
      while (!ended && !/No browser could be opened/.test(proxy.stderr)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.match(proxy.stderr, /No browser could be opened/);
      const url = proxy.stderr.match(/opening this URL in a browser: (\S+)/)?.[1];
      assert.ok(url, "the URL is printed before the warning");
      // The user opens the printed URL elsewhere (through an SSH port forward, say).
      await (await fetch(url)).body?.cancel();
      assert.deepEqual(await listing, ["whoami"]);
    } finally {
      await listing.catch(() => {});
    }
  }));

Deno.test("oauth: --oauth-sign-out deletes the stored tokens for the URL", () =>
  withFixture({}, async (fixture, place) => {
    await listTools(proxyFor(fixture, place));
    assert.equal(storedTokens(place.tokenFile).length, 1);
    const result = await runProxy(
      ["--oauth-sign-out", "--oauth-token-file", place.tokenFile, fixture.mcpUrl],
    );
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /Signed out of/);
    assert.equal(storedTokens(place.tokenFile).length, 0);
  }));
