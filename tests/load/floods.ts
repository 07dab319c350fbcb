/**
 * Floods of subscriptions and of calls waiting for their client's input, against the bounds
 * the proxy sets them (see README, Limits under hostile load). Used by `deno task load`.
 * @module
 */
import { MAX_LISTEN_URIS } from "../../src/core/listen_stream.ts";
import { MAX_PARKED_CALLS, MAX_PARKED_CALLS_PER_CLIENT } from "../../src/core/parked_calls.ts";
import { MAX_CHILD_SUBSCRIPTIONS } from "../../src/core/modern_adapter.ts";
import { envelope, modernHeaders, modernPost } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { post, SseReader } from "../support/raw_http.ts";
import type { ServedProxy } from "../support/server_proxy.ts";
import { rssKiB } from "./scenarios.ts";

/** The proxy's arguments that make the modern fixture, which counts its listen streams, the child. */
export const MODERN_LISTEN_ARGS: readonly string[] = [
  "--",
  "node",
  `${ROOT}tests/fixtures/modern_listen_server.mjs`,
];

/** The proxy's arguments that make the legacy fixture whose tool asks its client the child. */
export const ASKING_ARGS: readonly string[] = [
  "--",
  "node",
  `${ROOT}tests/fixtures/era_legacy_server.mjs`,
];

/** CPU time process `pid` has used so far (user and system), in ms (Linux `/proc`). */
async function cpuMs(pid: number): Promise<number> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  // The fields after the command name (in parentheses, which may hold spaces).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime: 100 ticks a second
}

/** Samples the peak RSS of `pid` until stopped. */
function peakRss(pid: number): { stop(): Promise<number> } {
  let peak = 0;
  const sample = async () => peak = Math.max(peak, await rssKiB(pid).catch(() => 0));
  const timer = setInterval(sample, 20);
  return {
    async stop() {
      clearInterval(timer);
      await sample();
      return peak;
    },
  };
}

const uris = (count: number, prefix: string) =>
  Array.from({ length: count }, (_, i) => `file:///${prefix}/some/longer/path/resource-${i}.txt`);

const listenRequest = (id: number, resourceSubscriptions: string[]) => ({
  jsonrpc: "2.0",
  id,
  method: "subscriptions/listen",
  params: { notifications: { resourceSubscriptions, toolsListChanged: true }, _meta: envelope() },
});

/** What {@linkcode listenFlood} measured. */
export interface ListenFloodResult {
  /** The oversized listen: its URIs, body size, error code and answer time. */
  oversized: { uris: number; bodyBytes: number; code: number | undefined; ms: number };
  /** Listens held open at once, and the URIs each named. */
  listens: number;
  urisEach: number;
  /** Listen requests the child got, and the URIs named in them all together. */
  childListens: number;
  childUrisReceived: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** Proxy CPU time over the whole flood. */
  cpuMs: number;
  /** Whether the proxy answered a call after the flood. */
  serving: boolean;
}

/**
 * One `subscriptions/listen` naming `oversized` URIs (refused past the cap), then `listens`
 * listens of the cap's size held open at once (up to the child's cap), against the modern
 * fixture; measures the proxy and what the child was sent.
 */
export async function listenFlood(
  proxy: ServedProxy,
  { oversized = 8_500, listens = MAX_CHILD_SUBSCRIPTIONS / MAX_LISTEN_URIS } = {},
): Promise<ListenFloodResult> {
  const url = proxy.mcp.default;
  const pid = proxy.process.child.pid;
  const rssBeforeKiB = await rssKiB(pid);
  const cpuBefore = await cpuMs(pid);
  const peak = peakRss(pid);
  const big = listenRequest(0, uris(oversized, "oversized"));
  let started = performance.now();
  const refused = await modernPost(url, big);
  const oversizedResult = {
    uris: oversized,
    bodyBytes: JSON.stringify(big).length,
    code: (refused.body.error as { code?: number } | undefined)?.code,
    ms: Math.round(performance.now() - started),
  };
  started = performance.now();
  const streams = await Promise.all(Array.from({ length: listens }, async (_, i) => {
    const request = listenRequest(i + 1, uris(MAX_LISTEN_URIS, `listen-${i}`));
    const response = await post(url, request, modernHeaders(request));
    const events = new SseReader(response.body!);
    await events.nextMessage(); // the acknowledgement
    return events;
  }));
  let serving = false;
  let stats = { listens: 0, urisReceived: 0 };
  try {
    const answer = await modernPost(url, {
      id: 0,
      method: "tools/call",
      params: { name: "stats", arguments: {}, _meta: envelope() },
    });
    const content = (answer.body.result as { content: { text: string }[] }).content;
    stats = JSON.parse(content[0].text);
    serving = true;
  } catch {
    // Not answered: the proxy stopped serving.
  }
  await Promise.all(streams.map((events) => events.cancel()));
  return {
    oversized: oversizedResult,
    listens,
    urisEach: MAX_LISTEN_URIS,
    childListens: stats.listens,
    childUrisReceived: stats.urisReceived,
    rssBeforeKiB,
    rssPeakKiB: await peak.stop(),
    cpuMs: (await cpuMs(pid)) - cpuBefore,
    serving,
  };
}

/** The API keys of {@linkcode parkedFlood}'s clients, as proxy arguments. */
export function parkedFloodKeys(clients: number): string[] {
  return Array.from({ length: clients }, (_, i) => ["--api-key", `client-${i}-key`]).flat();
}

/** What {@linkcode parkedFlood} measured. */
export interface ParkedFloodResult {
  /** The calls each client started. */
  calls: number[];
  /** Calls answered with `input_required` (now waiting for their client). */
  parked: number;
  /** The most any one client got parked. */
  parkedPerClientMax: number;
  /** Calls refused because their client had as many waiting as it may. */
  refusedPerClient: number;
  /** Calls refused because the process had as many waiting as it keeps. */
  refusedOverall: number;
  rssBeforeKiB: number;
  rssPeakKiB: number;
  /** Proxy CPU time over the flood. */
  cpuMs: number;
  ms: number;
  /** Whether the proxy answered a request after the flood. */
  serving: boolean;
}

/**
 * Clients (API keys from {@linkcode parkedFloodKeys}) start `calls[i]` calls each, all at
 * once, whose tool asks the client, and never answer: the asking fixture asks once every call
 * has reached it, each question naming its call. Counts what was parked and what refused.
 */
export async function parkedFlood(proxy: ServedProxy, calls: number[]): Promise<ParkedFloodResult> {
  const url = proxy.mcp.default;
  const pid = proxy.process.child.pid;
  const rssBeforeKiB = await rssKiB(pid);
  const cpuBefore = await cpuMs(pid);
  const peak = peakRss(pid);
  const started = performance.now();
  const clientOfCall = calls.flatMap((count, client) => Array(count).fill(client));
  const total = clientOfCall.length;
  const outcomes = await Promise.all(clientOfCall.map(async (client: number, i) => {
    const answer = await modernPost(url, {
      id: i + 1,
      method: "tools/call",
      params: {
        name: "ask",
        arguments: { together: total },
        _meta: { ...envelope({ elicitation: {} }), progressToken: i + 1 },
      },
    }, { "x-api-key": `client-${client}-key` });
    const result = answer.body.result as { resultType?: string } | undefined;
    const error = answer.body.error as { message?: string } | undefined;
    return { client, outcome: result?.resultType ?? error?.message ?? "no answer" };
  }));
  const ms = Math.round(performance.now() - started);
  const parkedBy = calls.map(() => 0);
  let refusedPerClient = 0, refusedOverall = 0;
  for (const { client, outcome } of outcomes) {
    if (outcome === "input_required") parkedBy[client]++;
    else if (/this client already has/.test(outcome)) refusedPerClient++;
    else if (/the most it keeps/.test(outcome)) refusedOverall++;
  }
  // Listing tools cannot ask: it flows while the parked calls hold the server's questions.
  const listed = await modernPost(url, {
    id: 0,
    method: "tools/list",
    params: { _meta: envelope() },
  }, { "x-api-key": "client-0-key" }).catch(() => undefined);
  return {
    calls,
    parked: parkedBy.reduce((sum, n) => sum + n, 0),
    parkedPerClientMax: Math.max(...parkedBy),
    refusedPerClient,
    refusedOverall,
    rssBeforeKiB,
    rssPeakKiB: await peak.stop(),
    cpuMs: (await cpuMs(pid)) - cpuBefore,
    ms,
    serving: listed?.body.result !== undefined,
  };
}

/** Whether a parked flood met the caps: none exceeded, and the overall one reached. */
export function parkedFloodWithinCaps(result: ParkedFloodResult): boolean {
  return result.parked <= MAX_PARKED_CALLS &&
    result.parkedPerClientMax <= MAX_PARKED_CALLS_PER_CLIENT &&
    result.parked + result.refusedPerClient + result.refusedOverall ===
      result.calls.reduce((sum, n) => sum + n, 0);
}
