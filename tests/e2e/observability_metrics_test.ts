/**
 * `--metrics` in the real process: `promtool check metrics` accepts what `/metrics` serves, a
 * real Prometheus (Debian's `prometheus`, scraping every second with the API key) sees the
 * target up and the calls moving as they are made, and a child killed shows in the restart
 * and exit counters. Off by default: `/metrics` is not served then. Client mode serves its
 * own with `--metrics-port`.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { connectClient } from "../support/mcp_client.ts";
import { ROOT } from "../support/paths.ts";
import { freePort } from "../support/ports.ts";
import { openRaw } from "../support/raw_connections.ts";
import { statusOf } from "../support/raw_http.ts";
import { RunningProcess } from "../support/process.ts";
import { startServerProxy } from "../support/server_proxy.ts";
import { Client } from "../support/mcp_client.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";
import { RemoteMcpServer } from "../fixtures/remote_mcp_server.ts";

const META_SERVER = `${ROOT}tests/fixtures/meta_echo_server.mjs`;
const KEY = "metrics-test-key";

/** `promtool check metrics` on `text`: its exit code and what it said. */
async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, output: decoder.decode(stdout) + decoder.decode(stderr) };
}

/** A Prometheus scraping `target` (`host:port`) every second, with the API key. */
async function startPrometheus(target: string, dir: string) {
  const port = freePort();
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    `global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: mcp-proxy
    scrape_interval: 1s
    scrape_timeout: 1s
    authorization:
      credentials: ${KEY}
    static_configs:
      - targets: ["${target}"]
`,
  );
  const process = new RunningProcess("prometheus", [
    `--config.file=${dir}/prometheus.yml`,
    `--storage.tsdb.path=${dir}/data`,
    `--web.listen-address=127.0.0.1:${port}`,
  ]);
  const api = `http://127.0.0.1:${port}`;
  await eventually(
    async () => await statusOf(`${api}/-/ready`).catch(() => 0) === 200,
    "Prometheus is ready",
    20_000,
  );
  /** The value of the instant query `query` (the sum of its series), or undefined if none. */
  const query = async (expression: string): Promise<number | undefined> => {
    const response = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const { data } = await response.json();
    if (data.result.length === 0) return undefined;
    return data.result.reduce(
      (sum: number, { value }: { value: [number, string] }) => sum + Number(value[1]),
      0,
    );
  };
  const targetHealth = async (): Promise<string | undefined> => {
    const response = await fetch(`${api}/api/v1/targets`);
    const { data } = await response.json();
    return data.activeTargets[0]?.health;
  };
  return {
    query,
    targetHealth,
    async [Symbol.asyncDispose]() {
      await process.stop("SIGTERM");
    },
  };
}

Deno.test("Prometheus scrapes /metrics: promtool accepts it, calls move, a killed child shows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "mcp-proxy-prometheus-" });
  try {
    await using proxy = await startServerProxy([
      "--metrics",
      "--api-key",
      KEY,
      "--",
      "node",
      META_SERVER,
    ]);
    const headers = { authorization: `Bearer ${KEY}` };
    assert.equal(await statusOf(`${proxy.base}/metrics`), 401, "behind the API key");
    const client = await connectClient(proxy.mcp.default, "mcp", { headers });
    const sseClient = await connectClient(proxy.sse.default, "sse", { headers });
    try {
      await client.listTools();
      for (let i = 0; i < 3; i++) await client.callTool({ name: "echo", arguments: { text: "x" } });
      await sseClient.callTool({ name: "fail", arguments: {} }).catch(() => {});

      const scraped = await fetch(`${proxy.base}/metrics`, { headers });
      assert.equal(scraped.status, 200);
      assert.equal(scraped.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      const text = await scraped.text();
      const checked = await promtoolCheck(text);
      assert.equal(checked.code, 0, checked.output);
      assert.equal(checked.output.trim(), "", "no lint problems");
      for (
        const line of [
          'mcp_proxy_calls_total{server="default",method="tools/call",tool="echo",outcome="ok"} 3',
          'mcp_proxy_calls_total{server="default",method="tools/call",tool="fail",outcome="error"} 1',
          'mcp_proxy_call_duration_seconds_count{server="default",method="tools/call"} 4',
          'mcp_proxy_calls_in_flight{server="default"} 0',
          'mcp_proxy_sessions_open{server="default",transport="sse"} 1',
          'mcp_proxy_sessions_open{server="default",transport="streamable_http"} 1',
          'mcp_proxy_child_starts_total{server="default"} 1',
        ]
      ) {
        assert.ok(text.includes(`${line}\n`), `${line} in:\n${text}`);
      }
      assert.match(text, /^mcp_proxy_http_sent_bytes_total\{server="default",route="mcp"\} [1-9]/m);
      assert.match(text, /^mcp_proxy_http_sent_bytes_total\{server="default",route="sse"\} [1-9]/m);
      assert.match(
        text,
        /^mcp_proxy_http_received_bytes_total\{server="default",route="messages"\} [1-9]/m,
      );
      assert.match(text, /^mcp_proxy_sse_streams_open [1-9]/m);

      await using prometheus = await startPrometheus(new URL(proxy.base).host, dir);
      await eventually(async () => await prometheus.targetHealth() === "up", "the target is up");
      const calls = 'mcp_proxy_calls_total{method="tools/call",outcome="ok"}';
      await eventually(async () => await prometheus.query(calls) === 3, "3 calls scraped");
      for (let i = 0; i < 2; i++) await client.callTool({ name: "echo", arguments: { text: "x" } });
      await eventually(async () => await prometheus.query(calls) === 5, "5 calls scraped");

      const pid = Number(
        ((await client.callTool({ name: "pid", arguments: {} })).content as { text: string }[])[0]
          .text,
      );
      Deno.kill(pid, "SIGKILL");
      await eventually(
        async () =>
          await prometheus.query('mcp_proxy_child_restarts_total{server="default"}') === 1 &&
          await prometheus.query('mcp_proxy_child_exits_total{cause="signal"}') === 1,
        "the restart scraped",
      );
      await eventually(
        () =>
          client.callTool({ name: "echo", arguments: { text: "x" } }).then(() => true, () => false),
        "the restarted child answers",
      );
    } finally {
      await client.close();
      await sseClient.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without --metrics, /metrics is not served", async () => {
  await using proxy = await startServerProxy(["--", "node", META_SERVER]);
  assert.equal(await statusOf(`${proxy.base}/metrics`), 404);
});

Deno.test({
  name: "connections refused at --max-connections are counted",
  // The executables tested through MCP_PROXY_BIN are Bun builds, which have no cap (README).
  ignore: Deno.env.get("MCP_PROXY_BIN") !== undefined,
}, async () => {
  await using proxy = await startServerProxy([
    "--metrics",
    "--max-connections",
    "2",
    "--",
    "node",
    META_SERVER,
  ]);
  const held = [await openRaw(proxy.base), await openRaw(proxy.base)];
  const refused = await openRaw(proxy.base);
  try {
    await refused.closedByServer;
    assert.match(refused.received(), /^HTTP\/1\.1 503 /);
    assert.equal(await held[0].get("/metrics"), 200);
    await eventually(
      () =>
        held[0].received().includes('mcp_proxy_connections_refused_total{reason="connection"} 1\n'),
      "the refusal counted",
    );
  } finally {
    for (const connection of [...held, refused]) connection.close();
  }
});

Deno.test("client mode --metrics-port: the relayed calls and a reconnection, on 127.0.0.1", async () => {
  const remote = new RemoteMcpServer().start();
  const port = freePort();
  const proxy = new ProxyStdio([
    "--transport",
    "streamablehttp",
    "--metrics-port",
    String(port),
    `${remote.origin}/mcp`,
  ]);
  const client = new Client({ name: "metrics-test", version: "1.0.0" });
  try {
    await client.connect(proxy);
    for (let i = 0; i < 2; i++) await client.callTool({ name: "any", arguments: {} });
    remote.forgetSessions();
    await client.callTool({ name: "any", arguments: {} });
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await response.text();
    const checked = await promtoolCheck(text);
    assert.equal(checked.code, 0, checked.output);
    for (
      const line of [
        'mcp_proxy_calls_total{server="remote",method="tools/call",outcome="ok"} 3',
        'mcp_proxy_calls_total{server="remote",method="initialize",outcome="ok"} 1',
        'mcp_proxy_call_duration_seconds_count{server="remote",method="tools/call"} 3',
        "mcp_proxy_upstream_reconnects_total 1",
      ]
    ) {
      assert.ok(text.includes(`${line}\n`), `${line} in:\n${text}`);
    }
    assert.doesNotMatch(
      text,
      /mcp_proxy_child_|mcp_proxy_http_/,
      "server mode's metrics only there",
    );
    assert.equal(await statusOf(`http://127.0.0.1:${port}/other`), 404);
  } finally {
    await client.close();
    await remote.close();
  }
});
