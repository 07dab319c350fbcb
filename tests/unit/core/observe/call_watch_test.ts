/**
 * The call watch on a real multiplexer over a fake upstream: a call-log line per relayed call
 * with every outcome, the call metrics, and the span each call gets (its traceparent in the
 * request sent upstream).
 */
import assert from "node:assert/strict";
import { type Logger, setLogFormat, setLogSink } from "../../../../src/io/log.ts";
import { Multiplexer } from "../../../../src/core/multiplexer.ts";
import { CallWatch } from "../../../../src/core/observe/call_watch.ts";
import { ProxyMetrics } from "../../../../src/core/observe/proxy_metrics.ts";
import {
  parseTraceparent,
  type Span,
  type SpanContext,
  synchronousSlot,
  type Tracer,
} from "../../../../src/core/observe/trace_context.ts";
import type { RequestId, WireMessage } from "../../../../src/protocol/jsonrpc.ts";
import { eventually } from "../../../support/eventually.ts";
import { incoming } from "../../../support/messages.ts";

const quiet: Logger = { debug() {}, info() {}, warning() {}, error() {} };

/** A multiplexer observed by `watch`, open on an upstream that records what it is sent. */
function observedMux(watch: CallWatch, requestTimeoutMs = 0) {
  const sent: WireMessage[] = [];
  const mux = new Multiplexer("srv (user 1a2b)", quiet, {
    requestTimeoutMs,
    calls: watch.forServer("srv (user 1a2b)", "srv"),
  });
  mux.attach({ send: (message) => sent.push(structuredClone(message)) });
  mux.open({ protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: "c" } });
  const open = (client?: string) => {
    const received: WireMessage[] = [];
    const session = mux.openSession({ send: (message) => received.push(message) }, { client });
    const send = (value: object) => session.receive(incoming({ jsonrpc: "2.0", ...value }));
    return { session, received, send };
  };
  /** Answers the last request sent upstream with `method` with `answer` (result or error). */
  const answer = (method: string, answer: object) => {
    const id = sent.findLast((message) => message.method === method)!.id as RequestId;
    mux.fromUpstream(incoming({ jsonrpc: "2.0", id, ...answer }));
  };
  return { mux, sent, open, answer };
}

/** Runs `body` with the JSON log format, collecting the lines of the call log. */
async function callLines(body: () => void | Promise<void>): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  setLogFormat("json");
  const restore = setLogSink((line) => lines.push(line));
  try {
    await body();
  } finally {
    restore();
    setLogFormat("text");
  }
  return lines.map((line) => JSON.parse(line)).filter((line) => line.logger === "mcp_proxy.calls");
}

Deno.test("one call-log line per relayed call, for every outcome, never its arguments", async () => {
  const watch = new CallWatch({ log: true });
  const lines = await callLines(async () => {
    const observed = observedMux(watch, 30);
    const a = observed.open("session 1a2b3c4d…, api-key #2");
    a.send({ id: 1, method: "tools/call", params: { name: "echo", arguments: { secret: "s3" } } });
    observed.answer("tools/call", { result: { content: [{ type: "text", text: "r3sult" }] } });
    a.send({ id: 2, method: "prompts/get", params: { name: "p" } });
    observed.answer("prompts/get", { error: { code: -32602, message: "Unknown prompt" } });
    a.send({ id: 3, method: "resources/read", params: { uri: "file:///x?token=t0k" } });
    a.send({ jsonrpc: "2.0", method: "notifications/cancelled", params: { requestId: 3 } });
    a.send({ id: 4, method: "tools/list" });
    await eventually(() => a.received.some((m) => m.id === 4), "the timeout");
    a.send({ id: 5, method: "tools/list" });
    observed.mux.detach("gone");
    const b = observed.open();
    // Queued while the upstream is away, then let go with its session: no call.
    b.send({ id: 6, method: "tools/list" });
    b.session.close();
    observed.mux.refuse("stopped");
    observed.open().send({ id: 8, method: "tools/call", params: { name: "late" } });
    assert.equal(a.received.find((m) => m.id === 4)?.error?.code, -32001);
  });
  const brief = lines.map(({ method, outcome, error_code, tool, prompt, uri, client }) => ({
    method,
    outcome,
    error_code,
    name: tool ?? prompt ?? uri,
    client,
  }));
  const client = "session 1a2b3c4d…, api-key #2";
  assert.deepEqual(brief, [
    { method: "tools/call", outcome: "ok", error_code: undefined, name: "echo", client },
    { method: "prompts/get", outcome: "error", error_code: -32602, name: "p", client },
    {
      method: "resources/read",
      outcome: "cancelled",
      error_code: undefined,
      name: "file:///x?token=***",
      client,
    },
    { method: "tools/list", outcome: "timeout", error_code: undefined, name: undefined, client },
    { method: "tools/list", outcome: "error", error_code: -32000, name: undefined, client },
    {
      method: "tools/call",
      outcome: "refused",
      error_code: undefined,
      name: "late",
      client: undefined,
    },
  ]);
  for (const line of lines) {
    assert.equal(line.level, "INFO");
    assert.equal(line.server, "srv (user 1a2b)");
    assert.equal(typeof line.duration_ms, "number");
    assert.doesNotMatch(JSON.stringify(line), /s3|r3sult|t0k/);
  }
  assert.match(
    lines[0].message as string,
    /^srv \(user 1a2b\) tools\/call echo: ok in [\d.]+ ms \(session 1a2b3c4d…, api-key #2\)$/,
  );
  assert.match(lines[1].message as string, /prompts\/get p: error -32602 in /);
});

Deno.test("call metrics: counts by method and outcome, latency, in flight, tools the server listed", () => {
  const metrics = new ProxyMetrics();
  const { open, answer } = observedMux(new CallWatch({ log: false, metrics }));
  const a = open();
  a.send({ id: 1, method: "tools/call", params: { name: "echo" } });
  assert.match(metrics.registry.expose(), /^mcp_proxy_calls_in_flight\{server="srv"\} 1$/m);
  answer("tools/call", { result: {} });
  a.send({ id: 2, method: "tools/list" });
  answer("tools/list", { result: { tools: [{ name: "echo" }, { name: "add" }] } });
  a.send({ id: 3, method: "tools/call", params: { name: "echo" } });
  answer("tools/call", { result: {} });
  a.send({ id: 4, method: "tools/call", params: { name: "unlisted" } });
  answer("tools/call", { error: { code: -32602, message: "Unknown tool" } });
  a.send({ id: 5, method: "vendor/thing" });
  answer("vendor/thing", { result: {} });
  const text = metrics.registry.expose();
  for (
    const line of [
      'mcp_proxy_calls_total{server="srv",method="tools/call",outcome="ok"} 1',
      'mcp_proxy_calls_total{server="srv",method="tools/call",tool="echo",outcome="ok"} 1',
      'mcp_proxy_calls_total{server="srv",method="tools/call",outcome="error"} 1',
      'mcp_proxy_calls_total{server="srv",method="tools/list",outcome="ok"} 1',
      'mcp_proxy_calls_total{server="srv",method="other",outcome="ok"} 1',
      'mcp_proxy_call_duration_seconds_count{server="srv",method="tools/call"} 3',
      'mcp_proxy_call_duration_seconds_bucket{server="srv",method="tools/call",le="+Inf"} 3',
      'mcp_proxy_calls_in_flight{server="srv"} 0',
    ]
  ) {
    assert.ok(text.includes(`${line}\n`), `${line} in:\n${text}`);
  }
  assert.doesNotMatch(text, /unlisted|vendor/);
});

/** A tracer that records the spans started and ended. */
class RecordingTracer implements Tracer {
  readonly #slot = synchronousSlot<SpanContext>();
  get current(): SpanContext | undefined {
    return this.#slot.get();
  }
  within<R>(context: SpanContext, fn: () => R): R {
    return this.#slot.run(context, fn);
  }
  readonly spans: { name: string; parent?: SpanContext; span: Span; ended?: string | null }[] = [];
  startSpan(name: string, _kind: number, parent: SpanContext | undefined): Span {
    const context = {
      traceId: parent?.traceId ?? "1".repeat(32),
      spanId: "2".repeat(16),
      sampled: true,
    };
    const record: (typeof this.spans)[number] = { name, parent, span: undefined! };
    record.span = {
      context,
      setAttribute() {},
      end: (error) => record.ended = error ?? null,
    };
    this.spans.push(record);
    return record.span;
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

Deno.test("a traced call goes upstream with its span's traceparent, a child of the HTTP request's", () => {
  const tracer = new RecordingTracer();
  const { open, sent, answer } = observedMux(new CallWatch({ log: false, tracer }));
  const a = open();
  const request = { traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: true };
  tracer.within(
    request,
    () =>
      a.send({
        id: 1,
        method: "tools/call",
        params: { name: "echo", _meta: { progressToken: "p" } },
      }),
  );
  const upstream = sent.findLast((m) => m.method === "tools/call")!;
  const meta = upstream.params?._meta as Record<string, unknown>;
  assert.equal(meta.progressToken, upstream.id, "the progress token is still the proxy's id");
  assert.deepEqual(parseTraceparent(meta.traceparent), {
    traceId: "a".repeat(32),
    spanId: "2".repeat(16),
    sampled: true,
  });
  answer("tools/call", { error: { code: -32603, message: "boom" } });
  assert.equal(tracer.spans[0].name, "tools/call echo");
  assert.equal(tracer.spans[0].parent?.spanId, "b".repeat(16));
  assert.equal(tracer.spans[0].ended, "error -32603");
  // Without an HTTP request's span, the client's own _meta.traceparent is the parent.
  const own = `00-${"c".repeat(32)}-${"d".repeat(16)}-01`;
  a.send({ id: 2, method: "tools/list", params: { _meta: { traceparent: own } } });
  assert.equal(tracer.spans[1].parent?.traceId, "c".repeat(32));
  answer("tools/list", { result: {} });
  assert.equal(tracer.spans[1].ended, null);
});

Deno.test("a call that waited for its server keeps its HTTP request's span as parent", () => {
  const tracer = new RecordingTracer();
  const mux = new Multiplexer("srv", quiet, {
    calls: new CallWatch({ log: false, tracer }).forServer("srv"),
  });
  const sent: WireMessage[] = [];
  const session = mux.openSession({ send() {} });
  const request = { traceId: "e".repeat(32), spanId: "f".repeat(16), sampled: true };
  tracer.within(
    request,
    () => session.receive(incoming({ jsonrpc: "2.0", id: 1, method: "tools/list" })),
  );
  // The server starts later, in other work (that of the child's answers).
  const other = { traceId: "9".repeat(32), spanId: "8".repeat(16), sampled: true };
  tracer.within(other, () => {
    mux.attach({ send: (message) => sent.push(message) });
    mux.open({ protocolVersion: "2025-11-25", capabilities: {}, serverInfo: { name: "c" } });
  });
  assert.equal(sent[0].method, "tools/list");
  assert.deepEqual(tracer.spans.map(({ parent }) => parent?.spanId), ["f".repeat(16)]);
});
