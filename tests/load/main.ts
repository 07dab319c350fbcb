/**
 * The full load and soak runs (`deno task load`): 100 concurrent sessions x 100 calls over
 * `/mcp` and `/sse`, then 10,000 sessions opened and closed with the proxy's RSS compared after
 * the first 1,000 (with the heap capped, and for information without). Prints the figures; exits 1 when a call is lost, duplicated or misrouted, or
 * memory grew by more than 20%.
 *
 * Sizes: `deno task load [SESSIONS CALLS SOAK CHECKPOINT]`.
 */
import { callLoad, sessionSoak, SOAK_PROXY_ENV } from "./scenarios.ts";
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
Deno.exit(failed ? 1 : 0);
