/**
 * The full load and soak runs (`deno task load`): 100 concurrent sessions x 100 calls over
 * `/mcp` and `/sse`, then 10,000 sessions opened and closed with the proxy's RSS compared after
 * the first 1,000. Prints the figures; exits 1 when a call is lost, duplicated or misrouted, or
 * memory grew by more than 20%.
 *
 * Sizes: `deno task load [SESSIONS CALLS SOAK CHECKPOINT]`.
 */
import { callLoad, sessionSoak } from "./scenarios.ts";
import { EVERYTHING_ARGS, startServerProxy } from "../support/server_proxy.ts";

const [sessions, calls, soak, checkpoint] = [100, 100, 10_000, 1_000].map((fallback, i) =>
  Number(Deno.args[i] ?? fallback)
);

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
{
  await using proxy = await startServerProxy(EVERYTHING_ARGS);
  const result = await sessionSoak(proxy, soak, checkpoint);
  console.log(`soak: ${JSON.stringify(result)} (growth ${(result.growth * 100).toFixed(1)}%)`);
  failed ||= result.growth > 0.2;
}
Deno.exit(failed ? 1 : 0);
