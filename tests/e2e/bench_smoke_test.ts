/**
 * A cheap check that the benchmark harness works (`deno task bench` itself runs on demand,
 * not in CI): the load generator against the everything server spoken to directly on stdio,
 * for a fraction of a second, and the report rendered from what it measured; and one very short
 * round of the lean mode, every system and shape.
 */
import assert from "node:assert/strict";
import { closeAll, connectAll, percentile, runLoad } from "../../bench/load.ts";
import { renderReport } from "../../bench/report.ts";
import { aggregateTable, measureAggregate } from "../../bench/lean/aggregate_cost.ts";
import { checkAnswer, POST_HEADERS } from "../../bench/lean/clients.ts";
import { isolationTable, measureIsolation } from "../../bench/lean/isolation_cost.ts";
import { measureObservability, observabilityTable } from "../../bench/lean/observability_cost.ts";
import { answer } from "../../bench/lean/echo_child.ts";
import { renderLeanReport } from "../../bench/lean/report.ts";
import { LEAN_RUNS, runId, runLean } from "../../bench/lean/run.ts";
import { ECHO_CHILD } from "../../bench/lean/systems.ts";
import { freePort, sleep } from "../../bench/process.ts";
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

Deno.test("lean echo child answers requests with their id and ignores notifications", () => {
  const init = JSON.parse(
    answer('{"jsonrpc":"2.0","id":"a","method":"initialize","params":{"protocolVersion":"X"}}')!,
  );
  assert.equal(init.id, "a");
  assert.equal(init.result.protocolVersion, "X");
  const call = JSON.parse(answer('{"jsonrpc":"2.0","id":7,"method":"tools/call"}')!);
  assert.equal(call.id, 7);
  assert.equal(call.result.echoId, 7);
  assert.equal(answer('{"jsonrpc":"2.0","method":"notifications/initialized"}'), undefined);
  assert.equal(answer("not json"), undefined);
});

Deno.test("lean clients reject an answer with another id or an error", () => {
  checkAnswer({ id: 3, result: {} }, 3, "call");
  assert.throws(() => checkAnswer({ id: 4, result: {} }, 3, "call"), /expected a result for id 3/);
  assert.throws(() => checkAnswer({ id: 3, error: { message: "no" } }, 3, "call"), /id 3/);
  assert.throws(() => checkAnswer(undefined, 3, "call"), /id 3/);
});

Deno.test("lean bench --pin: the process under test, started under taskset on CPU 0, is the one measured", async () => {
  const options = {
    rounds: 1,
    inFlight: [2],
    sessions: 1,
    warmupMs: 100,
    durationMs: 600,
    only: /^(ours-mcp-legacy|checked-mcp-legacy|ours-client)$/,
  };
  const results = await runLean({ proxy: proxyCommand(), pin: true }, options);
  assert.deepEqual(results.map((r) => `${r.system}-${r.shape}`), [
    "ours-mcp-legacy",
    "checked-mcp-legacy",
    "ours-client",
  ]);
  for (const result of results) {
    assert.equal(result.error, undefined, `${result.system} ${result.shape}: ${result.error}`);
    const [level] = result.levels;
    assert.equal(level.errors, 0, level.firstError);
    // The measured pid is the proxy's (taskset execs it): its CPU and memory were read.
    assert.ok(level.callsPerSecond > 0 && Number.isFinite(level.cpuUsPerCall) && level.rssMb > 0);
  }
});

Deno.test("lean bench: one short round of every system and shape", async () => {
  // Windows long enough that a loaded machine (the tests run in parallel) completes a call in
  // each: 200 ms once saw none from the minimal relay.
  const options = { rounds: 1, inFlight: [1, 3], sessions: 2, warmupMs: 100, durationMs: 600 };
  const results = await runLean({ proxy: proxyCommand() }, options);
  assert.deepEqual(results.map((r) => `${r.system}-${r.shape}`), LEAN_RUNS.map(runId));
  for (const result of results) {
    const what = `${result.system} ${result.shape}`;
    assert.equal(result.error, undefined, `${what}: ${result.error}`);
    assert.ok(result.startupMs! > 0, what);
    // Today's proxy refuses modern-era requests; once it serves them they are measured.
    if (result.unsupported) {
      assert.equal(`${result.system} ${result.shape}`, "ours mcp-modern", result.unsupported);
      continue;
    }
    assert.ok(result.idleRssMb! > 0, what);
    assert.deepEqual(result.levels.map((l) => l.inFlight), [1, 3], what);
    for (const level of result.levels) {
      assert.equal(level.errors, 0, `${what}: ${level.firstError}`);
      assert.ok(level.callsPerSecond > 0, what);
      assert.ok(level.rssMb > 0 && Number.isFinite(level.cpuUsPerCall), what);
    }
  }
  const text = renderLeanReport(
    { date: new Date().toISOString(), os: "", cpu: "", cores: 2, runtimes: "", loadBefore: 0 },
    options,
    "deno task bench --lean",
    results,
  );
  assert.match(text, /\| \/mcp legacy era vs minimal relay: calls\/s, 3 in flight +\| +[\d,]+ \|/);
  assert.match(text, /\| client mode vs minimal client relay: CPU µs per call, 1 in flight +\|/);
  assert.match(text, /\| \/mcp legacy era vs minimal relay with checks: CPU µs per call, 3 in /);
});

const MINIMAL_RELAY = new URL("../../bench/lean/minimal_relay.ts", import.meta.url).pathname;

Deno.test("bench minimal relay with checks: refuses a request that fails a check", async () => {
  const port = freePort();
  const relay = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MINIMAL_RELAY, "--checks", String(port), "--", ...ECHO_CHILD],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    const url = `http://127.0.0.1:${port}/mcp`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers: { ...POST_HEADERS, ...headers }, body: "{}" });
    let foreign: Response | undefined;
    for (let tries = 0; !foreign && tries < 200; tries++) {
      foreign = await post({ origin: "http://evil.example" }).catch(() =>
        sleep(50).then(() => undefined)
      );
    }
    assert.equal(foreign?.status, 400);
    assert.equal(await foreign?.text(), "unexpected Origin");
    const notJson = await post({ "content-type": "text/plain" });
    assert.equal(notJson.status, 400);
    assert.equal(await notJson.text(), "not JSON");
  } finally {
    relay.kill();
    await relay.status;
  }
});

/**
 * Runs `deno run -A [denoFlags] bench/lean/SCRIPT args`; its stdout, once it exited 0 (else its
 * stderr says why).
 */
async function benchOutput(script: string, args: string[], denoFlags: string[] = []) {
  const path = new URL(`../../bench/lean/${script}`, import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...denoFlags, path, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return new TextDecoder().decode(stdout);
}

Deno.test("bench in-process mode: both eras and /sse answer every call and report µs per call", async () => {
  const runs = [
    { args: ["--era", "legacy"], label: "legacy era" },
    { args: ["--era", "modern"], label: "modern era" },
    { args: ["--transport", "sse"], label: "legacy era on /sse" },
    { args: ["--observe", "traces"], label: "legacy era, observe traces" },
  ];
  for (const { args, label } of runs) {
    const text = await benchOutput("in_process.ts", [...args, "--calls", "300", "--rounds", "1"]);
    assert.match(text, new RegExp(`^round 1: ${label}, [\\d.]+ µs per call, 8 in flight`, "m"));
  }
});

Deno.test("bench session memory: every figure is reported", async () => {
  const text = await benchOutput(
    "session_memory.ts",
    ["--sessions", "50", "--churn", "200"],
    ["--v8-flags=--expose-gc"],
  );
  for (
    const line of [
      /^idle \/mcp session: -?[\d.]+ KiB each \(50 open\)$/m,
      /^idle \/sse session: -?[\d.]+ KiB each \(50 open\)$/m,
      /^left after 200 \/mcp sessions opened and deleted: -?[\d.]+ KiB$/m,
      /^left after 200 \/sse sessions opened and cancelled: -?[\d.]+ KiB$/m,
      /^call in flight on \/mcp: -?[\d.]+ KiB each \(50 waiting\)$/m,
    ]
  ) assert.match(text, line);
});

Deno.test("bench allocations: bytes per call, then the sites that allocate them", async () => {
  const text = await benchOutput("allocations.ts", ["--calls", "3000", "--top", "5"]);
  const [total, ...sites] = text.trimEnd().split("\n");
  const bytes = Number(
    total.match(/^legacy era, 8 in flight: (\d+) bytes allocated per call$/)?.[1],
  );
  // A call parses and writes JSON, builds a Response and its headers: never nothing.
  assert.ok(bytes > 1_000, total);
  assert.equal(sites.length, 5);
  for (const site of sites) assert.match(site, /^ +\d+ {2}\S/);
  assert.ok(sites.some((site) => site.includes("src/")), "no site of ours among the top five");
});

Deno.test("bench session RSS: the real process, per idle /mcp session and per open /sse stream", async () => {
  const text = await benchOutput("session_rss.ts", [
    "--rounds",
    "1",
    "--sessions",
    "100",
    "--streams",
    "20",
  ]);
  assert.match(
    text,
    /^\| build \| KiB per idle \/mcp session \(100\) \| KiB per open \/sse stream \(20\) \|$/m,
  );
  const row = text.match(/^\| ours \| (-?[\d.]+) \| (-?[\d.]+) \|$/m);
  assert.ok(row, text);
  // An open stream holds a connection: it costs the process something.
  assert.ok(Number(row[2]) > 0, text);
});

Deno.test("bench gateway rows: the aggregate against a direct server, a new isolated user's first call", async () => {
  const rounds = await measureAggregate({
    rounds: 1,
    inFlight: [2],
    warmupMs: 100,
    durationMs: 600,
    sessions: 1,
  });
  assert.equal(rounds.length, 1);
  assert.ok(rounds[0].aggregate.callsPerSecond > 0 && rounds[0].direct.callsPerSecond > 0);
  assert.match(aggregateTable(rounds), /^\| 2 +\| +\d+ \| +\d+ \| +[\d.]+ \| +[\d.]+ \|$/m);

  const users = await measureIsolation(1, 2);
  assert.equal(users.length, 1);
  assert.match(isolationTable(users), /child per user.*\| +[\d.]+ \|$/m);
});

Deno.test("bench scale-out load: every setup answers every checked call and reports its figures", async () => {
  const text = await benchOutput(
    "scale_out_load.ts",
    ["--sessions", "9", "--calls", "3", "--in-flight", "4"],
  );
  assert.match(text, /^9 sessions × 3 calls, 4 in flight; every answer checked/m);
  assert.match(text, /^\| one instance, direct +\| +\d+ \| +[\d.]+ \| +\d+ \| +0 \| +9 \|$/m);
  for (const setup of ["HAProxy by instance", "HAProxy round robin \\+ --peer-url"]) {
    assert.match(
      text,
      new RegExp(`^\\| 3 instances, ${setup} +\\|( +[\\d.]+ \\|){4} +\\d+ / \\d+ / \\d+ \\|$`, "m"),
    );
  }
  assert.match(text, /^calls\/s, 3 instances behind HAProxy ÷ one instance direct: [\d.]+$/m);
  assert.match(text, /^forwarding hop, per forwarded call .*: -?\d+ µs CPU, -?[\d.]+ ms$/m);
});

Deno.test("bench observability rows: off, call log, metrics and traces, each against off", async () => {
  const rounds = await measureObservability({
    rounds: 1,
    inFlight: [2],
    warmupMs: 100,
    durationMs: 500,
    sessions: 1,
  });
  assert.equal(rounds.length, 1);
  for (const variant of ["off", "call log", "metrics", "traces"] as const) {
    assert.ok(rounds[0].windows[variant].callsPerSecond > 0, variant);
  }
  assert.match(observabilityTable(rounds), /^\| 2 +\| +traces \| +\d+ \| +[\d.]+ \|/m);
});

Deno.test("bench echo child: tools/list lists its echo tool", () => {
  const list = JSON.parse(answer('{"jsonrpc":"2.0","id":3,"method":"tools/list"}')!);
  assert.equal(list.id, 3);
  assert.deepEqual(list.result.tools.map((tool: { name: string }) => tool.name), ["echo"]);
});

Deno.test("bench footprint: ours in both modes starts, lists tools, idles and reports its RSS", async () => {
  const text = await benchOutput(
    "footprint.ts",
    ["--rounds", "1", "--idle", "0.2", "--no-peers", "--bin", "none", "--only", "^ours-"],
  );
  for (const mode of ["client mode", "client mode, 2026 remote", "server mode"]) {
    const row = new RegExp(
      `^\\| mcp-proxy \\(ours, deno run\\), ${mode} \\| 1 \\| [\\d.]+ \\| [\\d.]+ \\| \\d+ \\|$`,
      "m",
    );
    assert.match(text, row);
  }
});
