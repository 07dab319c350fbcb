/**
 * A small stdio MCP client for the conformance suite's client `auth/*` scenarios: it starts
 * mcp-proxy in client mode for the scenario's server URL (the last argument), with `$BROWSER`
 * the fetching browser, and sends initialize, tools/list and a call of the first tool through
 * it. Usage: `conformance client --command "deno run -A tests/conformance/oauth_stdio_driver.ts"`.
 * @module
 */
import { drive } from "./drive.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";

const url = Deno.args.at(-1)!;
const context = JSON.parse(Deno.env.get("MCP_CONFORMANCE_CONTEXT") ?? "{}");
const browser = new URL("../fixtures/fetching_browser.ts", import.meta.url).pathname;
const tokenDir = Deno.makeTempDirSync({ prefix: "mcp-proxy-conformance-" });
const args = ["--debug", "--transport", "streamablehttp"];
if (context.client_id) args.push("--oauth-client-id", context.client_id);
if (context.client_secret) args.push("--oauth-client-secret", context.client_secret);
// Without a pre-registered client, the metadata document the suite's own example client
// names: servers that support client ID metadata documents expect it, the others get
// dynamic registration.
if (!context.client_id) {
  args.push(
    "--oauth-client-metadata-url",
    context.client_metadata_url ?? "https://conformance-test.local/client-metadata.json",
  );
}
const proxy = new ProxyStdio([...args, url], {
  BROWSER: `"${Deno.execPath()}" run -A "${browser}"`,
  MCP_PROXY_OAUTH_FILE: `${tokenDir}/oauth.json`,
});
const code = await drive(proxy, async (client) => {
  const { tools } = await client.listTools();
  if (tools[0]) await client.callTool({ name: tools[0].name, arguments: {} });
});
Deno.removeSync(tokenDir, { recursive: true });
Deno.exit(code);
