/**
 * Scale-out on real processes: instances of the proxy with `--instance-id` (each named by its
 * port, so that `--peer-url http://127.0.0.1:{instance}` finds it) behind a round-robin
 * balancer without sticky sessions, used by SDK 1.x clients over Streamable HTTP and SSE and
 * an SDK v2 client in the 2026-07-28 era (a two-round MRTR call); requests naming an instance
 * that is not there; the drain after SIGTERM with `--drain-timeout`.
 * @module
 */
import assert from "node:assert/strict";
import { freePort } from "../support/ports.ts";
import { connectClient } from "../support/mcp_client.ts";
import { connectModernClient, envelope, modernPost } from "../support/modern_client.ts";
import { ROOT } from "../support/paths.ts";
import { INITIALIZE, MCP_HEADERS, post, SseReader } from "../support/raw_http.ts";
import { startRoundRobin } from "../support/round_robin.ts";
import type { StreamableHTTPClientTransport } from "../support/sdk.ts";
import { type ServedProxy, startServerProxy } from "../support/server_proxy.ts";

const FIXTURE_ARGS = ["--", "node", `${ROOT}tests/fixtures/era_legacy_server.mjs`];
/** The state key every instance shares (MCP_PROXY_STATE_KEY). */
const STATE_KEY = "scale-out-test-key-0123456789abcdef";

type Content = { content: { type: string; text: string }[] };
const textOf = (result: unknown) => (result as Content).content[0].text;

/** Ports that were free a moment ago: the ids of instances to start. */
const freePorts = (count: number) => Array.from({ length: count }, freePort);

/** Instances on `ports`, named by them, each able to reach the others; stopped together. */
async function startInstances(
  ports: readonly number[],
  extra: readonly string[] = [],
): Promise<ServedProxy[] & AsyncDisposable> {
  const instances = await Promise.all(ports.map((port) =>
    startServerProxy([
      "--port",
      String(port),
      "--instance-id",
      String(port),
      "--peer-url",
      "http://127.0.0.1:{instance}",
      ...extra,
      ...FIXTURE_ARGS,
    ], { env: { MCP_PROXY_STATE_KEY: STATE_KEY } })
  ));
  return Object.assign(instances, {
    async [Symbol.asyncDispose]() {
      await Promise.all(instances.map((instance) => instance.stop()));
    },
  });
}

/** The port (the instance id) of `proxy`. */
const idOf = (proxy: ServedProxy) => new URL(proxy.base).port;

/**
 * A modern `tools/call` of the fixture's `ask` tool, raw. Its progress token names the call in
 * the fixture's question, so that other clients' calls run while it waits for its answer.
 */
function askCall(url: string, id: number, extra: Record<string, unknown> = {}) {
  const _meta = { ...envelope({ elicitation: {} }), progressToken: `ask-${id}` };
  return modernPost(url, {
    id,
    method: "tools/call",
    params: { name: "ask", arguments: {}, _meta, ...extra },
  });
}

Deno.test("three instances behind a round-robin balancer answer every call of SDK 1.x and SDK v2 clients", async () => {
  const ports = freePorts(3);
  // Declared first, disposed of last: its open streams end when the instances stop.
  await using balancer = await startRoundRobin(ports.map((port) => `http://127.0.0.1:${port}`));
  await using instances = await startInstances(ports);
  const asked: string[] = [];
  const http = await connectClient(`${balancer.base}/mcp`, "mcp");
  const sse = await connectClient(`${balancer.base}/sse`, "sse");
  const modern = await connectModernClient(`${balancer.base}/mcp`, {
    capabilities: { elicitation: {} },
    setup: (client) =>
      client.setRequestHandler("elicitation/create", (request) => {
        asked.push(String(request.params.message));
        return Promise.resolve({ action: "accept", content: { name: `answer ${asked.length}` } });
      }),
  });
  try {
    const sessionId = (http.transport as StreamableHTTPClientTransport).sessionId ?? "";
    const [owner] = sessionId.split(".");
    assert.match(sessionId, /^\d+\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.ok(instances.some((instance) => idOf(instance) === owner), sessionId);

    for (const [i, client] of [http, sse, modern].entries()) {
      for (let j = 0; j < 6; j++) {
        const result = await client.callTool({ name: "echo", arguments: { text: `${i}:${j}` } });
        assert.equal(textOf(result), `${i}:${j}`);
      }
    }
    const twoRounds = await modern.callTool({ name: "ask", arguments: { rounds: 2 } });
    assert.deepEqual(asked, ["Round 1?", "Round 2?"]);
    assert.deepEqual(
      JSON.parse(textOf(twoRounds)).map((reply: { content: unknown }) => reply.content),
      [{ name: "answer 1" }, { name: "answer 2" }],
    );
    // Every instance had its share, so that most requests reached one that forwarded them.
    assert.ok(balancer.sent.every((count) => count >= 8), `${balancer.sent}`);
  } finally {
    await Promise.all([http.close(), sse.close(), modern.close()]);
  }
});

Deno.test("an instance names itself in session ids, SSE endpoints and request states; another instance's unknown or unreachable ones are lost", async () => {
  await using instances = await startInstances(freePorts(2));
  const [a, b] = instances;
  const ids = instances.map(idOf);

  const events = new SseReader((await fetch(a.sse.default)).body!);
  const endpoint = await events.next();
  assert.match(
    endpoint?.data ?? "",
    new RegExp(`^/messages/\\?session_id=[0-9a-f]{32}&instance=${ids[0]}$`),
  );
  // The SSE session is on a; its messages reach it through b.
  const accepted = await post(`${b.base}${endpoint!.data}`, {
    jsonrpc: "2.0",
    method: "notifications/initialized",
  });
  assert.equal(accepted.status, 202);
  await accepted.body?.cancel();

  const first = await askCall(a.mcp.default, 1);
  const state = (first.body.result as { requestState: string }).requestState;
  assert.match(state, new RegExp(`^${ids[0]}\\.[\\w-]+\\.[\\w-]+$`));
  const retried = await askCall(b.mcp.default, 2, { requestState: state, inputResponses: {} });
  assert.equal((retried.body.result as { resultType: string }).resultType, "input_required");

  const deadPort = String(freePort());
  const uuid = crypto.randomUUID();
  const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
  for (const sessionId of [`nosuch.${uuid}`, `${deadPort}.${uuid}`]) {
    const answer = await post(a.mcp.default, initialized, {
      ...MCP_HEADERS,
      "mcp-session-id": sessionId,
    });
    assert.equal(answer.status, 404, sessionId);
    assert.equal((await answer.json()).error.code, -32001);
  }
  const lostSse = await post(
    `${a.base}/messages/?session_id=${uuid.replaceAll("-", "")}&instance=${deadPort}`,
    initialized,
  );
  assert.equal(lostSse.status, 404);
  assert.equal((await lostSse.json()).error.code, -32001);

  // A forwarded request is never forwarded again: b's session through a, as if a peer sent it.
  const opened = await post(b.mcp.default, INITIALIZE);
  const bSession = opened.headers.get("mcp-session-id")!;
  await opened.body?.cancel();
  assert.ok(bSession.startsWith(`${ids[1]}.`), bSession);
  const looped = await post(a.mcp.default, initialized, {
    ...MCP_HEADERS,
    "mcp-session-id": bSession,
    "x-mcp-proxy-forwarded-by": "elsewhere",
  });
  assert.equal(looped.status, 404);
  await looped.body?.cancel();
  const direct = await post(a.mcp.default, initialized, {
    ...MCP_HEADERS,
    "mcp-session-id": bSession,
  });
  assert.equal(direct.status, 202);
  await direct.body?.cancel();

  for (const forged of [`${deadPort}.AAAA.BBBB`, `${ids[1]}.AAAA.BBBB`]) {
    const answer = await askCall(a.mcp.default, 3, { requestState: forged, inputResponses: {} });
    assert.equal((answer.body.error as { code: number }).code, -32602, forged);
  }
  await events.cancel();
});

Deno.test("SIGTERM with --drain-timeout: not ready, new sessions and calls get 503, open ones are served to their end, then exit 0", async () => {
  await using instances = await startInstances(freePorts(2), ["--drain-timeout", "5"]);
  const [a, b] = instances;
  const legacy = await connectClient(a.mcp.default, "mcp");
  const modern = await connectModernClient(a.mcp.default);
  try {
    // Both run at once: the child has asked no client anything yet (then calls take turns).
    const sleeps = [legacy, modern].map((client) =>
      client.callTool({ name: "sleep", arguments: { ms: 1_500 } })
    );
    await a.process.waitForStderr(/sleep started[^]*sleep started/);
    const parked = (await askCall(a.mcp.default, 1)).body.result as {
      requestState: string;
      inputRequests: object;
    };
    a.process.child.kill("SIGTERM");
    await a.process.waitForStderr(/Received SIGTERM; draining for up to 5 s/);

    const ready = await fetch(`${a.base}/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(await ready.json(), { ready: false, reason: "draining: shutting down" });
    const peerReady = await fetch(`${b.base}/ready`);
    assert.deepEqual([peerReady.status, await peerReady.json()], [200, { ready: true }]);
    const refused = await post(a.mcp.default, INITIALIZE);
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "1");
    assert.equal((await refused.json()).error.code, -32000);
    const newCall = await modernPost(a.mcp.default, {
      id: 5,
      method: "tools/call",
      params: { name: "echo", arguments: { text: "new" }, _meta: envelope() },
    });
    assert.equal(newCall.status, 503);
    const sse = await fetch(a.sse.default);
    assert.equal(sse.status, 503);
    await sse.body?.cancel();

    assert.deepEqual((await Promise.all(sleeps)).map(textOf), ["slept", "slept"]);
    // The parked round is this instance's: its retry is served, here through the peer.
    const [key] = Object.keys(parked.inputRequests);
    const done = await askCall(b.mcp.default, 2, {
      requestState: parked.requestState,
      inputResponses: { [key]: { action: "accept", content: { name: "drained" } } },
    });
    assert.match(textOf(done.body.result), /drained/);
    // The open session is served too, until its client ends it.
    const echoed = await legacy.callTool({ name: "echo", arguments: { text: "still" } });
    assert.equal(textOf(echoed), "still");
    await (legacy.transport as StreamableHTTPClientTransport).terminateSession();
  } finally {
    await Promise.all([legacy.close(), modern.close()]);
  }
  assert.equal((await a.process.exited).code, 0, a.process.stderr);
  assert.match(a.process.stderr, /Drain over: 0 session\(s\) and 0 call\(s\) left/);
});

Deno.test("a drain that times out answers the calls still running with JSON-RPC errors", async () => {
  await using instances = await startInstances(freePorts(1), ["--drain-timeout", "1"]);
  const [a] = instances;
  const legacy = await connectClient(a.mcp.default, "mcp");
  const sse = await connectClient(a.sse.default, "sse");
  const modern = await connectModernClient(a.mcp.default);
  try {
    const waits = [legacy, sse, modern].map((client) =>
      client.callTool({ name: "wait", arguments: {} }).then(
        () => "answered",
        (error: Error) => error.message,
      )
    );
    await a.process.waitForStderr(/wait started[^]*wait started[^]*wait started/);
    a.process.child.kill("SIGTERM");
    const [legacyError, sseError, modernError] = await Promise.all(waits);
    assert.match(legacyError, /Session ended/);
    // Its stream carries the error before it closes, not only the close.
    assert.match(sseError, /-32000.*Session ended/);
    assert.match(modernError, /MCP server 'default' was stopped/);
  } finally {
    await Promise.all([legacy.close(), sse.close(), modern.close()]);
  }
  assert.equal((await a.process.exited).code, 0, a.process.stderr);
  assert.match(a.process.stderr, /Drain over: 2 session\(s\) and 2 call\(s\) left/);
});
