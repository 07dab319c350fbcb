/** The tracer's spans and their export as OTLP/HTTP JSON, over a recording fetch. */
import assert from "node:assert/strict";
import { setLogSink } from "../../../../src/io/log.ts";
import { OtlpTracer } from "../../../../src/core/observe/otlp_tracer.ts";
import { SpanKind } from "../../../../src/core/observe/trace_context.ts";

const SETTINGS = {
  tracesUrl: "http://collector/v1/traces",
  headers: { "api-key": "k" },
  resource: { "service.name": "svc" },
};

/** An exported span, as far as the tests read it. */
interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  kind: number;
  attributes: unknown[];
  status?: unknown;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

/** An export's body, as far as the tests read it. */
interface ExportBody {
  resourceSpans: {
    resource: { attributes: unknown[] };
    scopeSpans: { scope: unknown; spans: ExportedSpan[] }[];
  }[];
}

/** A fetch that records each export and answers with `status`. */
function recordingFetch(status = 200) {
  const posts: { url: string; headers: Headers; body: ExportBody }[] = [];
  const fetchImpl = (input: string | URL | Request, init?: RequestInit) => {
    posts.push({
      url: String(input),
      headers: new Headers(init?.headers),
      body: JSON.parse(String(init?.body)),
    });
    return Promise.resolve(new Response("{}", { status }));
  };
  return { posts, fetch: fetchImpl as typeof fetch };
}

Deno.test("spans are exported in OTLP JSON at shutdown: ids, parent, kind, attributes, status", async () => {
  const { posts, fetch } = recordingFetch();
  const tracer = new OtlpTracer(SETTINGS, "1.2.3", fetch);
  const parent = { traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: true };
  const server = tracer.startSpan("POST mcp", SpanKind.SERVER, parent, { "http.route": "mcp" });
  const call = tracer.startSpan("tools/call echo", SpanKind.CLIENT, server.context);
  call.setAttribute("n", 3);
  call.setAttribute("ratio", 0.5);
  call.setAttribute("ok", false);
  call.end("error -32603");
  call.end();
  server.end();
  const root = tracer.startSpan("root", SpanKind.INTERNAL, undefined);
  root.end();
  assert.equal(posts.length, 0, "batched, not one POST per span");
  await tracer.shutdown(1_000);
  assert.equal(posts.length, 1);
  const [{ url, headers, body }] = posts;
  assert.equal(url, SETTINGS.tracesUrl);
  assert.equal(headers.get("content-type"), "application/json");
  assert.equal(headers.get("api-key"), "k");
  const [resourceSpans] = body.resourceSpans;
  assert.deepEqual(resourceSpans.resource.attributes, [
    { key: "service.name", value: { stringValue: "svc" } },
  ]);
  const [{ scope, spans }] = resourceSpans.scopeSpans;
  assert.deepEqual(scope, { name: "mcp-proxy", version: "1.2.3" });
  const [exportedCall, exportedServer, exportedRoot] = spans;
  assert.equal(exportedServer.traceId, parent.traceId);
  assert.equal(exportedServer.parentSpanId, parent.spanId);
  assert.equal(exportedServer.kind, 2);
  assert.deepEqual(exportedServer.attributes, [{
    key: "http.route",
    value: { stringValue: "mcp" },
  }]);
  assert.equal(exportedServer.status, undefined);
  assert.equal(exportedCall.parentSpanId, exportedServer.spanId);
  assert.equal(exportedCall.kind, 3);
  assert.deepEqual(exportedCall.attributes, [
    { key: "n", value: { intValue: "3" } },
    { key: "ratio", value: { doubleValue: 0.5 } },
    { key: "ok", value: { boolValue: false } },
  ]);
  assert.deepEqual(exportedCall.status, { code: 2, message: "error -32603" });
  assert.match(exportedCall.startTimeUnixNano, /^\d{19}$/);
  assert.ok(BigInt(exportedCall.endTimeUnixNano) >= BigInt(exportedCall.startTimeUnixNano));
  assert.equal(exportedRoot.parentSpanId, undefined);
  assert.notEqual(exportedRoot.traceId, parent.traceId);
});

Deno.test("a span under an unsampled parent is passed on, not recorded", async () => {
  const { posts, fetch } = recordingFetch();
  const tracer = new OtlpTracer(SETTINGS, "1", fetch);
  const parent = { traceId: "a".repeat(32), spanId: "b".repeat(16), sampled: false };
  const span = tracer.startSpan("x", SpanKind.CLIENT, parent);
  assert.equal(span.context.traceId, parent.traceId);
  assert.equal(span.context.sampled, false);
  assert.notEqual(span.context.spanId, parent.spanId);
  span.end();
  await tracer.shutdown(1_000);
  assert.equal(posts.length, 0);
});

Deno.test("a failed export is logged, never thrown", async () => {
  const { posts, fetch } = recordingFetch(503);
  const lines: string[] = [];
  const restore = setLogSink((line) => lines.push(line));
  try {
    const tracer = new OtlpTracer(SETTINGS, "1", fetch);
    tracer.startSpan("x", SpanKind.CLIENT, undefined).end();
    await tracer.shutdown(1_000);
  } finally {
    restore();
  }
  assert.equal(posts.length, 1);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /Could not export traces to http:\/\/collector\/v1\/traces \(HTTP 503\): 1 span/,
  );
});
