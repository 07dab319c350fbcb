/** The Prometheus registry's exposition text, byte for byte. */
import assert from "node:assert/strict";
import { Registry, utf8Length } from "../../../../src/core/observe/metrics.ts";

Deno.test("the exposition: HELP and TYPE, labels escaped, empty ones left out, histograms cumulative", () => {
  const registry = new Registry();
  const calls = registry.counter("t_calls_total", "Calls \\ made,\nby kind.", ["kind", "tool"]);
  calls.with('a"b\\c\nd', "").inc();
  calls.with("x", "echo").inc(2);
  registry.gauge("t_open", "Open things.").with().inc(3);
  const latency = registry.histogram("t_seconds", "Latency.", ["route"], [0.1, 1]);
  const mcp = latency.with("mcp");
  for (const value of [0.05, 0.1, 0.5, 7]) mcp.observe(value);
  registry.counter("t_empty_total", "Nothing yet.", ["x"]);
  registry.sampled({
    name: "t_sampled",
    help: "Read at scrape.",
    type: "gauge",
    labelNames: ["server"],
    sample: () => [[["s"], 4]],
  });
  assert.equal(
    registry.expose(),
    [
      "# HELP t_calls_total Calls \\\\ made,\\nby kind.",
      "# TYPE t_calls_total counter",
      't_calls_total{kind="a\\"b\\\\c\\nd"} 1',
      't_calls_total{kind="x",tool="echo"} 2',
      "# HELP t_open Open things.",
      "# TYPE t_open gauge",
      "t_open 3",
      "# HELP t_seconds Latency.",
      "# TYPE t_seconds histogram",
      't_seconds_bucket{route="mcp",le="0.1"} 2',
      't_seconds_bucket{route="mcp",le="1"} 3',
      't_seconds_bucket{route="mcp",le="+Inf"} 4',
      't_seconds_sum{route="mcp"} 7.65',
      't_seconds_count{route="mcp"} 4',
      "# HELP t_empty_total Nothing yet.",
      "# TYPE t_empty_total counter",
      "# HELP t_sampled Read at scrape.",
      "# TYPE t_sampled gauge",
      't_sampled{server="s"} 4',
      "",
    ].join("\n"),
  );
});

Deno.test("a series is made once per set of label values", () => {
  const family = new Registry().counter("t_total", "T.", ["a", "b"]);
  assert.equal(family.with("x", "y"), family.with("x", "y"));
  assert.notEqual(family.with("x", "y"), family.with("xy", ""));
});

Deno.test("utf8Length counts UTF-8 bytes without encoding", () => {
  for (const text of ["", "plain", "é", "€uro", "😀 pair", "\ud800 lone"]) {
    assert.equal(utf8Length(text), new TextEncoder().encode(text).byteLength, text);
  }
});
