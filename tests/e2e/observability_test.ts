/**
 * Observability of the real process: OpenTelemetry traces exported to a small OTLP/HTTP
 * receiver (server mode: from an HTTP client's traceparent through the proxy's spans to the
 * `_meta.traceparent` a legacy and a modern child receive; client mode: from a stdin
 * request's `_meta.traceparent` to the remote's `traceparent` header), the JSON log format
 * and the call log.
 */
import assert from "node:assert/strict";
import { eventually } from "../support/eventually.ts";
import { OtlpReceiver } from "../support/otlp_receiver.ts";
import { ROOT } from "../support/paths.ts";
import { ProxyStdio } from "../support/proxy_stdio.ts";
import { envelope, modernPost } from "../support/modern_client.ts";
import { INITIALIZE, MCP_HEADERS, post } from "../support/raw_http.ts";
import { startProxy } from "../support/process.ts";
import { startServerProxy } from "../support/server_proxy.ts";
import { modernAnswer, ScriptedRemote } from "../fixtures/scripted_remote.ts";

const META_SERVER = `${ROOT}tests/fixtures/meta_echo_server.mjs`;

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";

/** A legacy `/mcp` session opened by hand; `call` POSTs a request on it. */
async function openSession(url: string) {
  const opened = await post(url, INITIALIZE);
  const sessionId = opened.headers.get("mcp-session-id")!;
  await opened.body?.cancel();
  const headers = { ...MCP_HEADERS, "mcp-session-id": sessionId };
  const notified = await post(
    url,
    { jsonrpc: "2.0", method: "notifications/initialized" },
    headers,
  );
  await notified.body?.cancel();
  let id = 1;
  return {
    sessionId,
    /** The answer to `method` with `params`, sent with `extra` headers. */
    async call(method: string, params: object, extra: Record<string, string> = {}) {
      const response = await post(url, { jsonrpc: "2.0", id: ++id, method, params }, {
        ...headers,
        ...extra,
      });
      return await response.json();
    },
  };
}

Deno.test("server mode: a client's traceparent continues through the proxy's spans to each child's _meta", async () => {
  await using receiver = new OtlpReceiver();
  await using proxy = await startServerProxy([
    "--named-server",
    "legacy",
    `node ${META_SERVER}`,
    "--named-server",
    "modern",
    `node ${META_SERVER} --modern`,
  ], {
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: "proxy-under-test",
      OTEL_EXPORTER_OTLP_HEADERS: "x-collector-key=k%201",
    },
  });
  const traceparent = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
  for (const server of ["legacy", "modern"]) {
    const session = await openSession(proxy.mcp[server]);
    const answer = await session.call("tools/call", { name: "meta", arguments: {} }, {
      traceparent,
    });
    const meta = JSON.parse(answer.result.content[0].text);
    const [, traceId, childParent, flags] = meta.traceparent.split("-");
    assert.equal(traceId, TRACE_ID, `${server}: the child's _meta.traceparent is of the trace`);
    assert.equal(flags, "01");
    await eventually(
      () => receiver.trace(TRACE_ID).some((span) => span.spanId === childParent),
      `the span of the call to ${server} was exported`,
    );
    const call = receiver.trace(TRACE_ID).find((span) => span.spanId === childParent)!;
    const request = receiver.trace(TRACE_ID).find((span) => span.spanId === call.parentSpanId);
    assert.ok(request, `${server}: the call's parent is the HTTP request's span`);
    assert.equal(request.parentSpanId, CLIENT_SPAN, "the request's span continues the client's");
    assert.equal(request.kind, 2);
    assert.equal(request.name, "POST mcp");
    assert.equal(request.attributes["http.response.status_code"], "200");
    assert.equal(request.attributes["mcp_proxy.server"], server);
    assert.equal(call.kind, 3);
    assert.equal(call.name, "tools/call meta");
    assert.deepEqual(
      [call.attributes["mcp.method.name"], call.attributes["gen_ai.tool.name"]],
      ["tools/call", "meta"],
    );
    assert.equal(call.attributes["mcp_proxy.outcome"], "ok");
    assert.equal(call.resource["service.name"], "proxy-under-test");
    assert.ok(BigInt(call.endTimeUnixNano) >= BigInt(call.startTimeUnixNano));
  }
  // A failed call's span says so; a request without traceparent starts a trace of its own.
  const session = await openSession(proxy.mcp.legacy);
  const failed = await session.call("tools/call", { name: "fail", arguments: {} });
  assert.equal(failed.error.code, -32603);
  await eventually(
    () => receiver.spans.some((span) => span.name === "tools/call fail" && span.endTimeUnixNano),
    "the failed call's span was exported",
  );
  const span = receiver.spans.find((span) => span.name === "tools/call fail")!;
  assert.notEqual(span.traceId, TRACE_ID);
  assert.deepEqual(span.status, { code: 2, message: "error -32603" });
  assert.equal(receiver.exports[0].get("x-collector-key"), "k 1");
});

Deno.test("client mode: a stdin request's _meta.traceparent goes on as the remote's traceparent header", async () => {
  await using receiver = new OtlpReceiver();
  await using remote = new ScriptedRemote(modernAnswer);
  const proxy = new ProxyStdio([`${remote.origin}/mcp`], {
    OTEL_TRACES_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces`,
  });
  await proxy.start();
  try {
    await proxy.send({ ...INITIALIZE, jsonrpc: "2.0" });
    await proxy.waitForLine((line) => JSON.parse(line).id === 1);
    await proxy.send({ jsonrpc: "2.0", method: "notifications/initialized" });
    const traceparent = `00-${TRACE_ID}-${CLIENT_SPAN}-01`;
    await proxy.send({
      jsonrpc: "2.0",
      id: 2,
      method: "tools/call",
      params: { name: "echo", arguments: {}, _meta: { traceparent } },
    });
    await proxy.waitForLine((line) => JSON.parse(line).id === 2);
    const call = remote.requests.find((request) => request.body?.method === "tools/call")!;
    const header = call.headers.get("traceparent")!;
    const [, traceId, parent] = header.split("-");
    assert.equal(traceId, TRACE_ID);
    const meta = (call.body!.params as { _meta: Record<string, unknown> })._meta;
    assert.equal(meta.traceparent, header, "the remote's _meta.traceparent says the same");
    await eventually(
      () => receiver.trace(TRACE_ID).some((span) => span.spanId === parent),
      "the proxy's span of the call was exported",
    );
    const span = receiver.trace(TRACE_ID).find((span) => span.spanId === parent)!;
    assert.equal(span.parentSpanId, CLIENT_SPAN);
    assert.equal(span.name, "tools/call echo");
    assert.equal(span.resource["service.name"], "mcp-proxy");
  } finally {
    await proxy.close();
  }
});

/** Every stderr line of `stderr`, each parsed as JSON (failing on a line that is not). */
function jsonLines(stderr: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((line) => line !== "").map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`not a JSON line: ${line}`);
    }
  });
}

Deno.test("--log-format json: every stderr line is one JSON object; the call log has a line per call", async () => {
  const proxy = startProxy(
    ["--log-format", "json", "--api-key", "k1", "--api-key", "k2", "--", "node", META_SERVER],
  );
  await using _stop = { [Symbol.asyncDispose]: () => proxy.stop().then(() => {}) };
  const [, url] = await proxy.waitForStderr(/"message":" {2}- (http:[^"]+\/mcp)"/);
  const opened = await post(url, INITIALIZE, { ...MCP_HEADERS, "x-api-key": "k2" });
  const sessionId = opened.headers.get("mcp-session-id")!;
  await opened.body?.cancel();
  const headers = { ...MCP_HEADERS, "x-api-key": "k2", "mcp-session-id": sessionId };
  for (const [id, name] of [[2, "echo"], [3, "fail"]] as const) {
    const answer = await post(url, {
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: { text: "an argument, never logged" } },
    }, headers);
    await answer.body?.cancel();
  }
  // A 2026-07-28 call has no session: the key it presented names its client.
  const modern = await modernPost(url, {
    id: 4,
    method: "tools/call",
    params: { name: "echo", arguments: { text: "x" }, _meta: envelope() },
  }, { "x-api-key": "k2" });
  assert.equal(modern.status, 200, JSON.stringify(modern.body));
  await proxy.stop();
  const lines = jsonLines(proxy.stderr);
  for (const line of lines) {
    assert.match(String(line.time), /^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    assert.ok(["DEBUG", "INFO", "WARNING", "ERROR"].includes(String(line.level)));
    assert.equal(typeof line.logger, "string");
    assert.equal(typeof line.message, "string");
  }
  assert.ok(lines.some((line) => line.logger === "mcp_proxy.server"), "the start-up lines");
  assert.ok(
    lines.some((line) =>
      line.logger === "mcp_proxy.child" && line.server === "default" &&
      line.message === "meta-echo started"
    ),
    "the child's stderr line",
  );
  const calls = lines.filter((line) => line.logger === "mcp_proxy.calls");
  // The proxy's own listing, which tells it the headers the modern call must mirror.
  const own = calls.findIndex((line) => line.method === "tools/list");
  assert.equal(calls[own]?.client, "mcp-proxy");
  calls.splice(own, 1);
  assert.deepEqual(
    calls.map(({ server, method, tool, outcome, error_code, client }) => ({
      server,
      method,
      tool,
      outcome,
      error_code,
      client,
    })),
    [
      {
        server: "default",
        method: "tools/call",
        tool: "echo",
        outcome: "ok",
        error_code: undefined,
        client: `session ${sessionId.slice(0, 8)}…, api-key #2`,
      },
      {
        server: "default",
        method: "tools/call",
        tool: "fail",
        outcome: "error",
        error_code: -32603,
        client: `session ${sessionId.slice(0, 8)}…, api-key #2`,
      },
      {
        server: "default",
        method: "tools/call",
        tool: "echo",
        outcome: "ok",
        error_code: undefined,
        client: "api-key #2",
      },
    ],
  );
  for (const call of calls) assert.equal(typeof call.duration_ms, "number");
  assert.doesNotMatch(proxy.stderr, /never logged|k2"|: "k1/);
});

Deno.test("the call log in text, and --no-call-log turns it off", async () => {
  for (const args of [[], ["--no-call-log"]]) {
    await using proxy = await startServerProxy([...args, "--", "node", META_SERVER]);
    const session = await openSession(proxy.mcp.default);
    await session.call("tools/call", { name: "echo", arguments: { text: "secret argument" } });
    await session.call("tools/list", {});
    await proxy.stop();
    const callLines = proxy.process.stderr.split("\n").filter((line) =>
      line.includes(" mcp_proxy.calls] ")
    );
    if (args.length > 0) {
      assert.deepEqual(callLines, []);
      continue;
    }
    assert.equal(callLines.length, 2);
    assert.match(
      callLines[0],
      new RegExp(
        String
          .raw`^\[I [\d-]+ [\d:,]+ mcp_proxy\.calls\] default tools/call echo: ok in [\d.]+ ms ` +
          String.raw`\(session ${session.sessionId.slice(0, 8)}…\)$`,
      ),
    );
    assert.match(callLines[1], /default tools\/list: ok in [\d.]+ ms/);
    assert.doesNotMatch(proxy.process.stderr, /secret argument/);
  }
});

Deno.test("the tests' OTLP receiver holds exports to the official definitions: a malformed one is refused", async () => {
  const receiver = new OtlpReceiver();
  const post = (body: unknown) =>
    fetch(`${receiver.endpoint}/v1/traces`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const span = {
    traceId: TRACE_ID,
    spanId: "b7ad6b7169203331",
    name: "ok",
    kind: 3,
    startTimeUnixNano: "1",
    endTimeUnixNano: "2",
  };
  const good = await post({ resourceSpans: [{ scopeSpans: [{ spans: [span] }] }] });
  assert.equal(good.status, 200);
  await good.body?.cancel();
  assert.deepEqual(receiver.spans.map((s) => s.name), ["ok"]);
  const misspelt = await post({
    resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, nme: "x" }] }] }],
  });
  assert.equal(misspelt.status, 400);
  assert.match((await misspelt.json()).error, /has no field named "nme"/);
  const badId = await post({
    resourceSpans: [{ scopeSpans: [{ spans: [{ ...span, spanId: "zz" }] }] }],
  });
  assert.equal(badId.status, 400);
  await badId.body?.cancel();
  await assert.rejects(receiver[Symbol.asyncDispose](), /exports the OTLP definitions reject/);
});
