/**
 * A cheap check that the benchmark harness works (`deno task bench` itself runs on demand,
 * not in CI): the load generator against the everything server spoken to directly on stdio,
 * for a fraction of a second, and the report rendered from what it measured.
 */
import assert from "node:assert/strict";
import { closeAll, connectAll, percentile, runLoad } from "../../bench/load.ts";
import { renderReport } from "../../bench/report.ts";
import { SCENARIOS, startEndpoint } from "../../bench/scenarios.ts";
import { EVERYTHING_SERVER, proxyCommand } from "../support/paths.ts";

Deno.test("percentile uses the nearest rank", () => {
  const values = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.equal(percentile(values, 0.5), 50);
  assert.equal(percentile(values, 0.99), 99);
  assert.equal(percentile([7], 0.99), 7);
  assert.ok(Number.isNaN(percentile([], 0.5)));
});

Deno.test("bench harness: echo calls against the direct stdio server", async () => {
  const scenario = SCENARIOS.find((s) => s.id === "direct-stdio-c1")!;
  const ctx = { everything: EVERYTHING_SERVER, proxy: proxyCommand() };
  const endpoint = await startEndpoint(ctx, scenario);
  const sessions = await connectAll(endpoint.newTransport, 2);
  let opened = 0, closed = 0;
  try {
    const load = await runLoad(sessions, {
      warmupMs: 100,
      durationMs: 300,
      onWindowStart: () => void opened++,
      onWindowEnd: () => void closed++,
    });
    assert.equal(load.errors, 0, load.firstError);
    assert.ok(load.calls > 0, "no call completed in the window");
    assert.ok(load.p50Ms > 0 && load.p50Ms <= load.p99Ms);
    assert.deepEqual([opened, closed], [1, 1]);

    const text = renderReport({
      machine: {
        date: new Date().toISOString(),
        os: "",
        cpu: "",
        cores: 2,
        runtimes: "",
        loadBefore: 0,
      },
      warmupMs: 100,
      durationMs: 300,
      results: [{ scenario, load }],
      startup: [],
    });
    assert.match(text, /\| server, direct +\| +stdio \| +1 \| +\d+ \|/);
  } finally {
    await closeAll(sessions);
    await endpoint.stop();
  }
});
