/**
 * The pieces of the OAuth sign-in that need no authorization server: the `--oauth-*` options,
 * the browser commands, the token file's place, and the token store.
 */
import assert from "node:assert/strict";
import type { ClientSettings } from "../../../../src/config.ts";
import { browserCommands } from "../../../../src/client/auth/browser.ts";
import { defaultTokenFilePath } from "../../../../src/client/auth/token_file.ts";
import { TokenStore } from "../../../../src/client/auth/token_store.ts";
import { runProxy } from "../../../support/process.ts";
import { settingsFor } from "../../../support/settings.ts";

async function signInOf(argv: string[], env: Record<string, string> = {}) {
  const outcome = await settingsFor([...argv, "https://h/mcp"], {
    env: { HOME: "/home/u", ...env },
  });
  assert.equal(outcome.kind, "settings", JSON.stringify(outcome));
  if (outcome.kind !== "settings") throw new Error("unreachable");
  return (outcome.settings as ClientSettings).signIn;
}

Deno.test("--oauth-* options: defaults, every flag, MCP_PROXY_OAUTH_FILE, and bad combinations", async () => {
  assert.deepEqual(await signInOf([]), {
    clientId: undefined,
    clientSecret: undefined,
    clientMetadataUrl: undefined,
    scope: undefined,
    resourceIndicator: true,
    callbackPort: undefined,
    tokenFile: undefined,
    signOut: false,
  });
  assert.deepEqual(
    await signInOf([
      "--oauth-client-id",
      "id",
      "--oauth-client-secret",
      "secret",
      "--oauth-client-metadata-url",
      "https://me.example/client.json",
      "--oauth-scope",
      "read write",
      "--no-oauth-resource",
      "--oauth-callback-port",
      "33418",
      "--oauth-token-file",
      "/flag/oauth.json",
      "--oauth-sign-out",
    ], { MCP_PROXY_OAUTH_FILE: "/env/oauth.json" }),
    {
      clientId: "id",
      clientSecret: "secret",
      clientMetadataUrl: "https://me.example/client.json",
      scope: "read write",
      resourceIndicator: false,
      callbackPort: 33418,
      tokenFile: "/flag/oauth.json",
      signOut: true,
    },
  );
  assert.equal(
    (await signInOf([], { MCP_PROXY_OAUTH_FILE: "/env/oauth.json" })).tokenFile,
    "/env/oauth.json",
  );
  for (
    const argv of [["--oauth-client-secret", "s"], ["--oauth-callback-port", "70000"]]
  ) {
    const outcome = await settingsFor([...argv, "https://h/mcp"]);
    assert.equal(outcome.kind, "error", argv.join(" "));
    if (outcome.kind === "error") assert.equal(outcome.exitCode, 2);
  }
});

Deno.test("--help shows the --oauth-* options as mcp-proxy additions", async () => {
  const { stdout } = await runProxy(["--help"]);
  assert.ok(stdout.includes("\nOAuth sign-in options (mcp-proxy additions):\n"), stdout);
  for (
    const flag of [
      "--oauth-client-id ID",
      "--oauth-client-secret SECRET",
      "--oauth-client-metadata-url URL",
      "--oauth-scope SCOPES",
      "--oauth-resource, --no-oauth-resource",
      "--oauth-callback-port PORT",
      "--oauth-token-file PATH",
      "--oauth-sign-out",
    ]
  ) assert.ok(stdout.includes(`\n  ${flag}`), `missing ${flag}`);
});

Deno.test("browser commands: $BROWSER entries in order, %s, else the platform opener", () => {
  const url = "https://as.example/authorize?a=1&b=2";
  assert.deepEqual(browserCommands(url, {}, "linux"), [["xdg-open", url]]);
  assert.deepEqual(browserCommands(url, {}, "darwin"), [["open", url]]);
  assert.deepEqual(browserCommands(url, {}, "win32"), [
    ["rundll32", "url.dll,FileProtocolHandler", url],
  ]);
  assert.deepEqual(
    browserCommands(url, { BROWSER: "w3m:'my browser' --new %s:" }, "linux"),
    [["w3m", url], ["my browser", "--new", url]],
  );
  assert.deepEqual(browserCommands(url, { BROWSER: "a;b" }, "win32"), [["a", url], ["b", url]]);
});

Deno.test("the token file lives in the user's configuration directory", () => {
  const home = { HOME: "/home/u" };
  assert.equal(defaultTokenFilePath(home, "linux"), "/home/u/.config/mcp-proxy/oauth.json");
  assert.equal(
    defaultTokenFilePath({ ...home, XDG_CONFIG_HOME: "/xdg" }, "linux"),
    "/xdg/mcp-proxy/oauth.json",
  );
  assert.equal(
    defaultTokenFilePath(home, "darwin"),
    "/home/u/Library/Application Support/mcp-proxy/oauth.json",
  );
  assert.match(defaultTokenFilePath({ APPDATA: "C:\\AppData" }, "win32"), /mcp-proxy.oauth\.json$/);
});

Deno.test("token store: per remote, mode 0600, forgotten on remove", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const store = new TokenStore(`${dir}/nested/oauth.json`);
    await store.update("https://a/mcp", (record) => {
      record.currentIssuer = "https://as";
      record.issuers["https://as"] = { tokens: { access_token: "t", token_type: "Bearer" } };
    });
    await store.update("https://b/mcp", (record) => record.callbackPort = 1234);
    assert.equal((await store.read("https://a/mcp")).currentIssuer, "https://as");
    assert.equal((await store.read("https://b/mcp")).callbackPort, 1234);
    assert.deepEqual(await store.read("https://c/mcp"), { issuers: {} });
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(`${dir}/nested/oauth.json`)).mode! & 0o777, 0o600);
    }
    assert.equal(await store.remove("https://a/mcp"), true);
    assert.equal(await store.remove("https://a/mcp"), false);
    assert.deepEqual(await store.read("https://a/mcp"), { issuers: {} });
    assert.equal((await store.read("https://b/mcp")).callbackPort, 1234);
    // No temporary files are left next to it.
    const names = [...Deno.readDirSync(`${dir}/nested`)].map((entry) => entry.name);
    assert.deepEqual(names, ["oauth.json"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
