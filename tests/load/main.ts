/**
 * The full load and soak runs (`deno task load`): 100 concurrent sessions x 100 calls over
 * `/mcp` and `/sse`, then 10,000 sessions opened and closed with the proxy's RSS compared after
 * the first 1,000 (with the heap capped, and for information without), then two rounds of 30,000
 * Streamable HTTP sessions abandoned with the heap capped, with the default session timeout
 * (for information) and with a 2 s one (the proxy must keep serving). Then the hostile cases:
 * 3,000 idle connections against a proxy limited to 1,024 descriptors, and 40 SSE clients that
 * stop reading while 12 MiB of answers each are sent to them, and 50 h2c connections asking for
 * 200 event streams each (the proxy must hold at most 100 per connection and --max-connections
 * in all); a subscriptions/listen naming 8,500 URIs (refused) and ten of 1,000 held open in front
 * of a modern child (it must be sent each URI once), and 1,150 calls of 11 API keys waiting for
 * their client's input at once (at most 100 a key and 1,000 in all may wait, the rest refused).
 * Prints the figures; exits 1 when a call is lost, duplicated or misrouted, memory grew
 * by more than 20%, a bound was not met, or the proxy stopped serving.
 *
 * Sizes: `deno task load [SESSIONS CALLS SOAK CHECKPOINT ABANDONED]`.
 */
import { descriptorFlood } from "./descriptor_flood.ts";
import {
  ASKING_ARGS,
  listenFlood,
  MODERN_LISTEN_ARGS,
  parkedFlood,
  parkedFloodKeys,
  parkedFloodWithinCaps,
} from "./floods.ts";
import { h2cStreamFlood } from "./h2c_flood.ts";
import { abandonedSessions, callLoad, sessionSoak, SOAK_PROXY_ENV } from "./scenarios.ts";
import { stalledReaderRun } from "./stalled_readers.ts";
import { EVERYTHING_ARGS, startServerProxy } from "../support/server_proxy.ts";
import { MAX_STREAMS_PER_CONNECTION } from "../../src/runtime/deno_http.ts";
import { DEFAULT_HTTP_LIMITS } from "../../src/runtime/types.ts";

const [sessions, calls, soak, checkpoint, abandoned] = [100, 100, 10_000, 1_000, 30_000].map((
  fallback,
  i,
) => Number(Deno.args[i] ?? fallback));

let failed = false;
{
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const load = await callLoad(proxy, sessions, calls);
  const rate = Math.round((load.ok / load.ms) * 1000);
  console.log(
    `load: ${sessions} sessions x ${calls} calls: ${JSON.stringify(load)} (${rate} calls/s)`,
  );
  failed ||= load.ok !== sessions * calls || load.unmatched > 0;
}
// Judged with the heap capped (see SOAK_PROXY_ENV); with default V8 flags, for information.
for (
  const [label, env, judged] of [["capped heap", SOAK_PROXY_ENV, true], [
    "default V8",
    {},
    false,
  ]] as const
) {
  await using proxy = await startServerProxy(EVERYTHING_ARGS, { env: { ...env } });
  const result = await sessionSoak(proxy, soak, checkpoint);
  const growth = `${(result.growth * 100).toFixed(1)}%`;
  console.log(`soak (${label}): ${JSON.stringify(result)} (growth ${growth})`);
  if (judged) failed ||= result.growth > 0.2;
}
{
  await using proxy = await startServerProxy(
    ["--header-timeout", "5", ...EVERYTHING_ARGS],
    { fdLimit: 1024 },
  );
  const flood = await descriptorFlood(proxy, 3_000);
  console.log(
    `descriptor flood (3,000 idle connections, 1,024 descriptors): ${JSON.stringify(flood)}`,
  );
  failed ||= !flood.alive || !flood.servedDuring || !flood.servedAfter;
}
{
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const stalled = await stalledReaderRun(proxy, 40, 12);
  console.log(`non-reading SSE clients: ${JSON.stringify(stalled)}`);
  failed ||= !stalled.served;
}
{
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const flood = await h2cStreamFlood(proxy, 50, 200);
  console.log(`h2c stream flood (50 connections x 200 /sse streams): ${JSON.stringify(flood)}`);
  failed ||= flood.held !== DEFAULT_HTTP_LIMITS.maxConnections ||
    flood.mostOnOneConnection > MAX_STREAMS_PER_CONNECTION || !flood.servedAfter;
}
{
  await using proxy = await startServerProxy(MODERN_LISTEN_ARGS);
  const flood = await listenFlood(proxy);
  console.log(`listen flood (modern child): ${JSON.stringify(flood)}`);
  failed ||= flood.oversized.code !== -32602 || !flood.serving ||
    flood.childUrisReceived !== flood.listens * flood.urisEach;
}
{
  // One client asks for more than its share; the others, together, for more than the rest.
  const calls = [150, ...Array(10).fill(100)];
  await using proxy = await startServerProxy([...parkedFloodKeys(calls.length), ...ASKING_ARGS]);
  const flood = await parkedFlood(proxy, calls);
  console.log(`parked-round flood (legacy child that asks): ${JSON.stringify(flood)}`);
  failed ||= !flood.serving || !parkedFloodWithinCaps(flood);
}
// Sessions nobody ends, with the heap capped: kept for the default 30 minutes (for information:
// the proxy runs out of memory), or ended after 2 s unused (judged: it must keep serving).
for (const timeout of [[], ["--session-timeout", "2"]]) {
  await using proxy = await startServerProxy([...timeout, ...EVERYTHING_ARGS], {
    env: { ...SOAK_PROXY_ENV },
  });
  const result = await abandonedSessions(proxy, abandoned);
  const label = timeout.length ? "2 s session timeout" : "default session timeout";
  console.log(`abandoned sessions (${label}, capped heap): ${JSON.stringify(result)}`);
  if (timeout.length) failed ||= !result.serving;
}
Deno.exit(failed ? 1 : 0);
