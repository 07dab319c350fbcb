/**
 * Stalled SSE readers: legacy SSE clients that open their stream, then never read it while
 * their requests keep producing answers. Shared by tests/server_stalled_readers_test.ts and
 * `deno task load`.
 * @module
 */
import { connectClient } from "../support/mcp_client.ts";
import { stalledSseClient } from "../support/raw_connections.ts";
import { INITIALIZE } from "../support/raw_http.ts";
import type { ServedProxy } from "../support/server_proxy.ts";
import { rssKiB } from "./scenarios.ts";

/** One stalled client: where it posts, and its (never read) connection. */
export type StalledClient = Awaited<ReturnType<typeof stalledSseClient>>;

/** Posts `message` to a legacy SSE session; returns the status. */
export async function postToSession(messages: string, message: unknown): Promise<number> {
  const response = await fetch(messages, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(message),
  });
  await response.body?.cancel();
  return response.status;
}

/**
 * Opens `clients` stalled clients and makes each ask for `mib` echoes of 1 MiB (on
 * server-everything); resolves with the clients once every flood has been posted or refused
 * (404: the session was dropped).
 */
export async function floodStalledReaders(
  base: string,
  clients: number,
  mib: number,
): Promise<StalledClient[]> {
  const stalled = await Promise.all(Array.from({ length: clients }, () => stalledSseClient(base)));
  const big = "x".repeat(1 << 20);
  await Promise.all(stalled.map(async ({ messages }) => {
    await postToSession(messages, INITIALIZE);
    await postToSession(messages, { jsonrpc: "2.0", method: "notifications/initialized" });
    for (let id = 2; id < 2 + mib; id++) {
      const status = await postToSession(messages, {
        jsonrpc: "2.0",
        id,
        method: "tools/call",
        params: { name: "echo", arguments: { message: big } },
      });
      if (status === 404) return;
    }
  }));
  return stalled;
}

/** Whether the proxy still has the session of `client` (a ping is accepted, not 404). */
export async function sessionAlive(client: StalledClient): Promise<boolean> {
  return await postToSession(client.messages, { jsonrpc: "2.0", id: 0, method: "ping" }) !== 404;
}

/** What {@linkcode stalledReaderRun} measured (RSS in KiB, of the proxy process alone). */
export interface StalledReaderResult {
  clients: number;
  mibEach: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** Once every flood was answered. */
  rssAfterFloodKiB: number;
  /** Three seconds after the clients hung up. */
  rssAfterCloseKiB: number;
  /** Stalled sessions the proxy dropped. */
  dropped: number;
  /** Whether an ordinary client was answered after the flood. */
  served: boolean;
}

/** Floods `clients` stalled readers with `mib` MiB each and follows the proxy's RSS. */
export async function stalledReaderRun(
  proxy: ServedProxy,
  clients: number,
  mib: number,
): Promise<StalledReaderResult> {
  const pid = proxy.process.child.pid;
  const rssBeforeKiB = await rssKiB(pid);
  let rssPeakKiB = rssBeforeKiB;
  const sampler = setInterval(async () => {
    rssPeakKiB = Math.max(rssPeakKiB, await rssKiB(pid).catch(() => 0));
  }, 100);
  const stalled = await floodStalledReaders(proxy.base, clients, mib);
  const reader = await connectClient(proxy.mcp.default, "mcp");
  let served = false;
  try {
    const result = await reader.callTool({ name: "echo", arguments: { message: "ok" } });
    served = JSON.stringify(result.content).includes("Echo: ok");
  } finally {
    await reader.close();
  }
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const dropped = (await Promise.all(stalled.map(sessionAlive))).filter((alive) => !alive).length;
  const rssAfterFloodKiB = await rssKiB(pid);
  for (const client of stalled) client.conn.close();
  await new Promise((resolve) => setTimeout(resolve, 3_000));
  clearInterval(sampler);
  const rssAfterCloseKiB = await rssKiB(pid);
  return {
    clients,
    mibEach: mib,
    rssBeforeKiB,
    rssPeakKiB,
    rssAfterFloodKiB,
    rssAfterCloseKiB,
    dropped,
    served,
  };
}
