/**
 * What the conformance drivers share: an SDK client on mcp-proxy's stdio, some work, then
 * the proxy's log on stderr (the suite keeps it) and an exit code the suite reads.
 * @module
 */
import { Client } from "../support/mcp_client.ts";
import type { ProxyStdio } from "../support/proxy_stdio.ts";

/** Runs `work` with a client connected through mcp-proxy on `proxy`; resolves to the exit code. */
export async function drive(
  proxy: ProxyStdio,
  work: (client: Client) => Promise<void>,
): Promise<number> {
  const client = new Client({ name: "mcp-proxy-conformance-driver", version: "1.0.0" });
  let code = 0;
  try {
    await client.connect(proxy);
    await work(client);
  } catch (error) {
    console.error(`driver: ${(error as Error).message}`);
    code = 1;
  } finally {
    await client.close().catch(() => {});
    console.error(proxy.stderr);
  }
  return code;
}
