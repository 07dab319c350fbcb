/**
 * A small OTLP/HTTP receiver for the tracing tests: `POST /v1/traces` with a JSON body, its
 * spans kept in the order they came.
 * @module
 */

/** A span as received, with the resource attributes of its batch. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly status?: { code?: number; message?: string };
  /** Its attributes, values unwrapped. */
  readonly attributes: Record<string, unknown>;
  /** Its resource's attributes, values unwrapped. */
  readonly resource: Record<string, unknown>;
}

/** `[{key, value: {stringValue: …}}]` as a plain object. */
function unwrap(attributes: { key: string; value: Record<string, unknown> }[] = []) {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
}

/** A receiver listening on 127.0.0.1; close it when done. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Request headers of each export. */
  readonly exports: Headers[] = [];
  readonly #server: Deno.HttpServer<Deno.NetAddr>;

  constructor() {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        if (request.method !== "POST" || new URL(request.url).pathname !== "/v1/traces") {
          return new Response("not found", { status: 404 });
        }
        if (request.headers.get("content-type") !== "application/json") {
          return new Response("JSON only", { status: 415 });
        }
        this.exports.push(request.headers);
        const body = await request.json();
        for (const { resource, scopeSpans } of body.resourceSpans) {
          for (const { spans } of scopeSpans) {
            for (const span of spans) {
              this.spans.push({
                ...span,
                attributes: unwrap(span.attributes),
                resource: unwrap(resource.attributes),
              });
            }
          }
        }
        return Response.json({});
      },
    );
  }

  /** The base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT` takes it. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /** The spans of trace `traceId`. */
  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }
}
