/**
 * HTTP/2 with prior knowledge (h2c) on the proxy's plain-HTTP port: connections that each open
 * many event streams. Shared by tests/e2e/audit_surfaces_test.ts and `deno task load`.
 * @module
 */
import http2 from "node:http2";
import type { ServedProxy } from "../support/server_proxy.ts";
import { rssKiB } from "./scenarios.ts";

/** One h2c connection and what its streams were answered. */
export interface H2cConnection {
  /** Answers by status (`"200"`, `"503"`), or by error code for streams that got none. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Streams answered 200 and still open. */
  readonly held: number;
  /** Closes the connection and every stream on it. */
  close(): void;
}

/**
 * Opens one h2c connection to `base` and `streams` GET streams of `path` on it; resolves once
 * each stream was answered (an event stream stays open) or failed, or after `timeoutMs`.
 */
export function openH2cStreams(
  base: string,
  path: string,
  streams: number,
  timeoutMs = 30_000,
): Promise<H2cConnection> {
  const session = http2.connect(base);
  // A server that refuses HTTP/2 fails every stream too; that is counted there.
  session.on("error", () => {});
  const statuses: Record<string, number> = {};
  const count = (key: string) => statuses[key] = (statuses[key] ?? 0) + 1;
  let held = 0;
  let settled = 0;
  const { promise, resolve } = Promise.withResolvers<void>();
  const settle = () => {
    if (++settled === streams) resolve();
  };
  for (let i = 0; i < streams; i++) {
    const stream = session.request({ ":method": "GET", ":path": path });
    let answered = false;
    stream.on("response", (headers) => {
      answered = true;
      const status = String(headers[":status"]);
      count(status);
      if (status === "200") held++;
      settle();
    });
    stream.on("data", () => {});
    stream.on("error", (error: { code?: string }) => {
      if (answered) return;
      answered = true;
      count(error.code ?? "error");
      settle();
    });
    stream.on("close", () => {
      if (answered) return;
      answered = true;
      count("closed");
      settle();
    });
  }
  const timer = setTimeout(resolve, timeoutMs);
  return promise.then(() => {
    clearTimeout(timer);
    return { statuses, held, close: () => session.destroy() };
  });
}

/** What {@linkcode h2cStreamFlood} measured. */
export interface H2cFloodResult {
  /** Streams asked for: connections x streams per connection. */
  asked: number;
  /** Streams answered 200 (event streams held open) at the peak. */
  held: number;
  /** Streams refused with 503. */
  refused: number;
  /** The most streams any one connection held. */
  mostOnOneConnection: number;
  /** The proxy's RSS before the flood, KiB. */
  rssBeforeKiB: number;
  /** The proxy's RSS with every stream of the flood answered, KiB. */
  rssPeakKiB: number;
  /** Whether a new client was served once the flood had been closed. */
  servedAfter: boolean;
}

/**
 * `connections` h2c connections at once, each asking for `streamsPerConnection` `/sse`
 * streams; counts what was held and refused, then closes them all and checks the proxy serves.
 */
export async function h2cStreamFlood(
  proxy: ServedProxy,
  connections: number,
  streamsPerConnection: number,
): Promise<H2cFloodResult> {
  const pid = proxy.process.child.pid;
  const rssBeforeKiB = await rssKiB(pid);
  const opened = await Promise.all(
    Array.from(
      { length: connections },
      () => openH2cStreams(proxy.base, "/sse", streamsPerConnection),
    ),
  );
  const rssPeakKiB = await rssKiB(pid);
  for (const connection of opened) connection.close();
  let servedAfter = false;
  for (let i = 0; i < 100 && !servedAfter; i++) {
    const response = await fetch(`${proxy.base}/status`).catch(() => undefined);
    await response?.body?.cancel();
    servedAfter = response?.status === 200;
    if (!servedAfter) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    asked: connections * streamsPerConnection,
    held: opened.reduce((sum, connection) => sum + connection.held, 0),
    refused: opened.reduce((sum, connection) => sum + (connection.statuses["503"] ?? 0), 0),
    mostOnOneConnection: Math.max(...opened.map((connection) => connection.held)),
    rssBeforeKiB,
    rssPeakKiB,
    servedAfter,
  };
}
