/**
 * What client mode observes of the calls it relays, at its stdio edge: a request of the stdio
 * client starts a call (a span, a child of the `_meta.traceparent` the request carries, and
 * the call metrics of `--metrics-port`), and its answer, or its cancellation, ends it. A traced
 * request goes on with its span's context in its `_meta.traceparent`, and the HTTP request
 * that carries it to the remote with the same in its `traceparent` header.
 * @module
 */
import type { CallRecord, ServerCalls } from "../core/observe/call_watch.ts";
import type { ClientMetrics } from "../core/observe/call_metrics.ts";
import { EXPOSITION_CONTENT_TYPE } from "../core/observe/metrics.ts";
import { formatTraceparent, parseTraceparent } from "../core/observe/trace_context.ts";
import type { Logger } from "../io/log.ts";
import {
  classify,
  type Incoming,
  type RequestId,
  requestKey,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import type { HttpServer, Runtime } from "../runtime/mod.ts";

/** The calls of the stdio client in flight, told to `calls` as they start and end. */
export class ObservedCalls {
  readonly #calls: ServerCalls;
  readonly #open = new Map<string, CallRecord>();

  /** Calls reported to `calls`. */
  constructor(calls: ServerCalls) {
    this.#calls = calls;
  }

  /**
   * A message from stdin: a request starts its call and is passed on (with its span's context,
   * when traced); a cancellation ends the call it names.
   */
  sent(incoming: Incoming): Incoming {
    if (incoming.kind === "notification") {
      if (incoming.message.method === "notifications/cancelled") {
        this.#end(incoming.params.requestId as RequestId, "cancelled");
      }
      return incoming;
    }
    if (incoming.kind !== "request") return incoming;
    const { message, params } = incoming;
    this.#end(message.id, "cancelled");
    const call = this.#calls.started(undefined, incoming);
    this.#open.set(requestKey(message.id), call);
    const traceparent = call.traceparent;
    if (traceparent === undefined) return incoming;
    const traced = classify({
      ...message,
      params: { ...params, _meta: { ...params._meta, traceparent } },
    });
    return traced.kind === "invalid" ? incoming : traced;
  }

  /** A message to stdout: a response ends its request's call. */
  answered(message: WireMessage): void {
    if (message.method !== undefined || message.id == null) return;
    this.#end(message.id, message.error ? message.error.code : "ok", message.result);
  }

  #end(id: RequestId | undefined, outcome: "ok" | "cancelled" | number, result?: unknown): void {
    if (typeof id !== "string" && typeof id !== "number") return;
    const key = requestKey(id);
    const call = this.#open.get(key);
    if (!call) return;
    this.#open.delete(key);
    this.#calls.ended(call, outcome, result);
  }
}

/**
 * `fetchImpl` sending each JSON-RPC request it POSTs with a `traceparent` header: the
 * `_meta.traceparent` of the request (the first of a batch that has one).
 */
export function fetchWithTraceparent(fetchImpl: typeof fetch): typeof fetch {
  return (input, init) => {
    const body = init?.body;
    if (typeof body !== "string" || !body.includes('"traceparent"')) return fetchImpl(input, init);
    const traceparent = traceparentOf(body);
    if (traceparent === undefined) return fetchImpl(input, init);
    const headers = new Headers(init?.headers);
    headers.set("traceparent", traceparent);
    return fetchImpl(input, { ...init, headers });
  };
}

/** The `_meta.traceparent` of the (first) message of a POST body that has a valid one. */
function traceparentOf(body: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const message of Array.isArray(value) ? value : [value]) {
    const context = parseTraceparent((message as WireMessage | null)?.params?._meta?.traceparent);
    if (context) return formatTraceparent(context);
  }
  return undefined;
}

/**
 * Serves `metrics` at `http://127.0.0.1:PORT/metrics` (`--metrics-port`); rejects when the
 * port cannot be bound.
 */
export function serveClientMetrics(
  runtime: Runtime,
  port: number,
  metrics: ClientMetrics,
  log: Logger,
): Promise<HttpServer> {
  return runtime.serve({
    hostname: "127.0.0.1",
    port,
    onWarning: (message) => log.warning(message),
    handler: ({ request }) =>
      request.method === "GET" && new URL(request.url).pathname === "/metrics"
        ? new Response(metrics.registry.expose(), {
          headers: { "content-type": EXPOSITION_CONTENT_TYPE },
        })
        : new Response("Not Found", { status: 404 }),
  });
}
