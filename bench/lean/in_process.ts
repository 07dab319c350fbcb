/**
 * The proxy's own JavaScript cost per `/mcp` or `/sse` call, without HTTP or pipes: the real application
 * (`createProxyApp`) and the real `Multiplexer` over an in-process echo upstream that serialises
 * and parses each message as a child's pipe would. About 11 µs per call against the whole
 * process's 90, so a change of 1 µs in the transports or the multiplexer is a tenth of it
 * instead of a hundredth lost in the ±10 % that whole-process rounds move by (run it old
 * against new, several interleaved runs).
 *
 * Run: `deno run -A bench/lean/in_process.ts [--era legacy|modern] [--transport mcp|sse]
 * [--calls N] [--in-flight N] [--rounds N] [--observe off|log|metrics|traces]` (`/sse` speaks
 * the legacy era only; `--observe log` writes the call log to stderr, best sent to /dev/null). Before the script, `--v8-flags=--expose-gc` shows the heap still reachable after
 * each round, and `--cpu-prof --cpu-prof-dir=DIR` writes a V8 profile of the whole run.
 * @module
 */
import { parseArgs } from "node:util";
import { DEFAULT_SERVING_LIMITS } from "../../src/config.ts";
import { getLogger } from "../../src/io/log.ts";
import { Multiplexer } from "../../src/core/multiplexer.ts";
import { CallWatch, type ServerCalls } from "../../src/core/observe/call_watch.ts";
import { observed } from "../../src/core/observe/observed.ts";
import { OtlpTracer } from "../../src/core/observe/otlp_tracer.ts";
import { ProxyMetrics } from "../../src/core/observe/proxy_metrics.ts";
import { AppObserver } from "../../src/server/observe/http_observer.ts";
import type { SharedServer } from "../../src/core/types.ts";
import { createProxyApp, type ProxyApp } from "../../src/server/app.ts";
import { classify } from "../../src/protocol/jsonrpc.ts";
import {
  checkAnswer,
  ECHO_PARAMS,
  INITIALIZE_PARAMS,
  LEGACY_VERSION,
  MODERN_ECHO_PARAMS,
  MODERN_HEADERS,
  POST_HEADERS,
  requestLine,
  sseClient,
} from "./clients.ts";
import { answer } from "./echo_child.ts";

const URL = "http://127.0.0.1:8080/mcp";
/** The Host header a loopback client sends (the app checks it). */
const HOST = { host: "127.0.0.1:8080" };

/**
 * A shared server whose upstream answers every request in the next microtask, or, without
 * `answers`, none (the calls stay in flight); its calls are told to `calls`, if given.
 */
export function echoServer(answers = true, calls?: ServerCalls): SharedServer {
  const mux = new Multiplexer("default", getLogger("bench"), {
    ...DEFAULT_SERVING_LIMITS,
    calls,
  });
  mux.attach({
    send(message, _session, text) {
      // What a child pipe costs in JavaScript: one line out, the echo child's line back.
      const line = text ?? JSON.stringify(message);
      if (!answers) return;
      queueMicrotask(() => {
        const reply = answer(line);
        if (reply === undefined) return;
        const incoming = classify(JSON.parse(reply), reply);
        if (incoming.kind !== "invalid") mux.fromUpstream(incoming);
      });
    },
  });
  // Opened with the echo child's own answer to an initialize, as the shared server would be.
  const handshake = answer(requestLine(0, "initialize", INITIALIZE_PARAMS))!;
  mux.open(JSON.parse(handshake).result);
  return {
    name: "default",
    state: "running",
    era: "legacy",
    limits: DEFAULT_SERVING_LIMITS,
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    onStateChange: () => () => {},
    openSession: (sink, opening) => mux.openSession(sink, opening),
  };
}

/**
 * The heap in use, in MiB: what is still reachable when run with `--v8-flags=--expose-gc`
 * (garbage is collected first), else including garbage not yet collected.
 */
export function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().heapUsed / (1024 * 1024);
}

/** Opens a legacy session; returns the headers of its calls. */
export async function initialize(app: ProxyApp): Promise<Headers> {
  const body = requestLine(0, "initialize", INITIALIZE_PARAMS);
  const request = new Request(URL, { method: "POST", headers: { ...HOST, ...POST_HEADERS } });
  const response = await app.handle({ request, bodyText: body });
  checkAnswer(await response.json(), 0, "initialize");
  return new Headers({
    ...HOST,
    ...POST_HEADERS,
    "mcp-session-id": response.headers.get("mcp-session-id")!,
    "mcp-protocol-version": LEGACY_VERSION,
  });
}

/**
 * A `fetch` answered by `app` in process, as the HTTP server hands requests to it: the Host
 * header a loopback client sends, and a body read ahead as text. Aborting `init.signal` ends the
 * answer's body, as a real connection closing would.
 */
function inProcessFetch(app: ProxyApp): typeof fetch {
  return async (input, init) => {
    const headers = new Headers({ ...HOST, ...Object.fromEntries(new Headers(init?.headers)) });
    const body = init?.body as string | undefined;
    const request = new Request(input, { ...init, headers, body: undefined });
    const response = await app.handle({ request, bodyText: body });
    if (!init?.signal || !response.body) return response;
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    response.body.pipeTo(writable, { signal: init.signal }).catch(() => {});
    return new Response(readable, response);
  };
}

/** Makes `calls` echo calls on an `/sse` session, `inFlight` at a time; resolves to µs per call. */
async function measureSse(app: ProxyApp, calls: number, inFlight: number): Promise<number> {
  const client = await sseClient(URL.replace(/\/mcp$/, "/sse"), inProcessFetch(app));
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < calls) {
      const id = ++next;
      await client.call();
      if (id % 256 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }));
  const perCall = (performance.now() - start) * 1000 / calls;
  await client.close();
  return perCall;
}

/** Makes `calls` echo calls with `inFlight` at a time; resolves to µs per call. */
async function measure(
  app: ProxyApp,
  headers: Headers,
  modern: boolean,
  calls: number,
  inFlight: number,
) {
  const params = modern ? MODERN_ECHO_PARAMS : ECHO_PARAMS;
  let next = 0;
  const start = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    // One request object per slot: the app takes the body as text and only reads headers,
    // and building a Request with headers costs more than a call (it would be the figure).
    const request = new Request(URL, { method: "POST", headers });
    while (next < calls) {
      const id = ++next;
      const response = await app.handle({
        request,
        bodyText: requestLine(id, "tools/call", params),
      });
      checkAnswer(await response.json(), id, "tools/call");
      // Calls chain through microtasks only: let timers run now and then, as I/O would.
      if (id % 256 === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }));
  return (performance.now() - start) * 1000 / calls;
}

/** Which calls a run makes: legacy or modern `/mcp` calls, or legacy calls on `/sse`. */
export interface CallShape {
  /** The 2026-07-28 era (on `/mcp` only). */
  readonly modern: boolean;
  /** On an `/sse` session instead of `/mcp`. */
  readonly sse: boolean;
  /** Calls in flight at once. */
  readonly inFlight: number;
}

/**
 * Sets up `shape`'s calls on `app` (a legacy `/mcp` session, opened here) and returns the run
 * of `count` such calls, which resolves to µs per call.
 */
export async function callRun(
  app: ProxyApp,
  { modern, sse, inFlight }: CallShape,
): Promise<(count: number) => Promise<number>> {
  if (sse && modern) throw new Error("/sse speaks the legacy era only");
  const headers = modern ? new Headers({ ...HOST, ...MODERN_HEADERS }) : await initialize(app);
  return (count) =>
    sse ? measureSse(app, count, inFlight) : measure(app, headers, modern, count, inFlight);
}

/** What `--observe` turns on, as server mode would: the call watch and the app's observer. */
function observing(what: string): { calls?: ServerCalls; observer?: AppObserver } {
  if (what === "off") return {};
  const metrics = what === "metrics" ? new ProxyMetrics() : undefined;
  // The export's JSON is built; the POST goes nowhere.
  const tracer = what === "traces"
    ? new OtlpTracer(
      { tracesUrl: "http://127.0.0.1:9/v1/traces", headers: {}, resource: {} },
      "bench",
      () => Promise.resolve(new Response("{}")),
    )
    : undefined;
  if (!metrics && !tracer && what !== "log") throw new Error(`--observe ${what}?`);
  observed.metrics = metrics;
  observed.tracer = tracer;
  const calls = new CallWatch({ log: what === "log", metrics, tracer }).forServer("default");
  return { calls, observer: metrics || tracer ? new AppObserver(metrics, tracer) : undefined };
}

/** The real application serving `server` at `/mcp` and `/sse`, as `mcp-proxy` sets it up. */
export function proxyApp(server: SharedServer, observer?: AppObserver): ProxyApp {
  return createProxyApp([{ server, pathPrefix: "" }], {
    stateless: false,
    allowOrigins: [],
    exposeHeaders: [],
    host: "127.0.0.1",
    apiKeys: [],
    maxBodyBytes: 4 * 1024 * 1024,
    observer,
  });
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      calls: { type: "string", default: "100000" },
      "in-flight": { type: "string", default: "8" },
      rounds: { type: "string", default: "3" },
      era: { type: "string", default: "legacy" },
      transport: { type: "string", default: "mcp" },
      observe: { type: "string", default: "off" },
    },
  });
  const sse = values.transport === "sse";
  const calls = Number(values.calls);
  const inFlight = Number(values["in-flight"]);
  const watched = observing(values.observe);
  const app = proxyApp(echoServer(true, watched.calls), watched.observer);
  const run = await callRun(app, { modern: values.era === "modern", sse, inFlight });
  await run(Math.min(calls, 20_000)); // warm-up
  for (let round = 1; round <= Number(values.rounds); round++) {
    const perCall = await run(calls);
    const observe = values.observe === "off" ? "" : `, observe ${values.observe}`;
    console.log(
      `round ${round}: ${values.era} era${sse ? " on /sse" : ""}${observe}, ` +
        `${perCall.toFixed(2)} µs per call, ${inFlight} in flight, heap ` +
        `${heapMiB().toFixed(1)} MiB`,
    );
  }
  await app.close();
}
