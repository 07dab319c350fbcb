/**
 * A descriptor flood: far more idle TCP connections than the proxy has file descriptors, with
 * one established client asking throughout. Used by `deno task load`.
 * @module
 */
import { openDescriptors, openRaw, type RawConnection } from "../support/raw_connections.ts";
import type { ServedProxy } from "../support/server_proxy.ts";
import { rssKiB } from "./scenarios.ts";

/** What {@linkcode descriptorFlood} measured. */
export interface DescriptorFloodResult {
  /** Connections opened by the flood (some may have been shed at once). */
  opened: number;
  descriptorsBefore: number;
  descriptorsPeak: number;
  descriptorsAfter: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** Whether the established client was answered during the flood. */
  servedDuring: boolean;
  /** Whether a new client was answered once the flood had been closed. */
  servedAfter: boolean;
  /** Whether the proxy process was still running at the end. */
  alive: boolean;
}

/** Opens `connections` idle connections to `proxy` and waits until it has closed them all. */
export async function descriptorFlood(
  proxy: ServedProxy,
  connections: number,
): Promise<DescriptorFloodResult> {
  const pid = proxy.process.child.pid;
  const sample = async () => [await openDescriptors(pid), await rssKiB(pid)] as const;
  const [descriptorsBefore, rssBeforeKiB] = await sample();
  let [descriptorsPeak, rssPeakKiB] = [descriptorsBefore, rssBeforeKiB];
  let exited = false;
  proxy.process.exited.then(() => exited = true);
  const sampler = setInterval(async () => {
    if (exited) return;
    const [fds, rss] = await sample().catch(() => [0, 0] as const);
    descriptorsPeak = Math.max(descriptorsPeak, fds);
    rssPeakKiB = Math.max(rssPeakKiB, rss);
  }, 100);
  const established = await openRaw(proxy.base);
  await established.get("/status");
  const flood: RawConnection[] = [];
  for (let i = 0; i < connections; i++) {
    try {
      flood.push(await openRaw(proxy.base));
    } catch {
      break; // Refused: the proxy is gone (or the listen queue is full).
    }
  }
  const servedDuring = !exited && await established.get("/status") === 200;
  await Promise.race([
    Promise.all(flood.map((connection) => connection.closedByServer)),
    proxy.process.exited,
  ]);
  for (const connection of flood) connection.close();
  established.close();
  clearInterval(sampler);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const servedAfter = !exited && await fetch(`${proxy.base}/status`)
    .then(async (response) => {
      await response.body?.cancel();
      return response.status === 200;
    }, () => false);
  return {
    opened: flood.length,
    descriptorsBefore,
    descriptorsPeak,
    descriptorsAfter: exited ? 0 : await openDescriptors(pid),
    rssBeforeKiB,
    rssPeakKiB,
    servedDuring,
    servedAfter,
    alive: !exited,
  };
}
