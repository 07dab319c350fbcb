/**
 * Traces in client mode: a span per request of the stdio client, a child of the
 * `_meta.traceparent` the request carries (or the root of a new trace), ended by its answer.
 * The request goes on with the span's context in its `_meta.traceparent`, and the HTTP request
 * that carries it to the remote with the same in its `traceparent` header.
 * @module
 */
import {
  formatTraceparent,
  parseTraceparent,
  type Span,
  SpanKind,
  type Tracer,
} from "../core/observe/trace_context.ts";
import { classify, type Incoming, requestKey, type WireMessage } from "../protocol/jsonrpc.ts";

/** The spans of the stdio client's requests in flight. */
export class ClientCallSpans {
  readonly #tracer: Tracer;
  readonly #open = new Map<string, Span>();

  /** Spans recorded with `tracer`. */
  constructor(tracer: Tracer) {
    this.#tracer = tracer;
  }

  /** A message from stdin: a request starts its span and is passed on with its context. */
  sent(incoming: Incoming): Incoming {
    if (incoming.kind !== "request") return incoming;
    const { message, params } = incoming;
    const span = this.#tracer.startSpan(
      message.method,
      SpanKind.CLIENT,
      parseTraceparent(params._meta?.traceparent),
      {
        "mcp.method.name": message.method,
      },
    );
    this.#open.get(requestKey(message.id))?.end("replaced by a request with the same id");
    this.#open.set(requestKey(message.id), span);
    const traced = classify({
      ...message,
      params: {
        ...params,
        _meta: { ...params._meta, traceparent: formatTraceparent(span.context) },
      },
    });
    return traced.kind === "invalid" ? incoming : traced;
  }

  /** A message to stdout: a response ends its request's span. */
  answered(message: WireMessage): void {
    if (message.method !== undefined || message.id == null) return;
    const key = requestKey(message.id);
    const span = this.#open.get(key);
    if (!span) return;
    this.#open.delete(key);
    if (message.error) span.setAttribute("rpc.jsonrpc.error_code", message.error.code);
    span.end(message.error ? `error ${message.error.code}` : undefined);
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
    const candidate = (message as WireMessage | null)?.params?._meta?.traceparent;
    const context = parseTraceparent(candidate);
    if (context) return formatTraceparent(context);
  }
  return undefined;
}
