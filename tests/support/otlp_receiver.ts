/**
 * A small OTLP/HTTP receiver for the tracing tests: `POST /v1/traces` with a JSON body, each
 * export decoded with the official OTLP protobuf definitions (`opentelemetry-proto` from PyPI,
 * through tests/fixtures/otlp_decode.py), its spans kept in the order they came. An export the
 * definitions reject (a field they lack, a value of the wrong type) is answered 400 and fails
 * the test when the receiver is disposed.
 * @module
 */
import { ROOT } from "./paths.ts";
import { PYTHON_VENV } from "./python.ts";

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

/** Resource spans as the decoder writes them (OTLP JSON). */
interface DecodedResourceSpans {
  resource?: { attributes?: { key: string; value: Record<string, unknown> }[] };
  scopeSpans: {
    spans: (Omit<ReceivedSpan, "attributes" | "resource"> & {
      attributes?: { key: string; value: Record<string, unknown> }[];
    })[];
  }[];
}

/** `[{key, value: {stringValue: …}}]` as a plain object. */
function unwrap(attributes: { key: string; value: Record<string, unknown> }[] = []) {
  return Object.fromEntries(attributes.map(({ key, value }) => [key, Object.values(value)[0]]));
}

/**
 * The decoder: a Python process that takes an export body per line and answers each with a
 * line, the request as the official definitions read it, or `{"error": …}`.
 */
class OfficialDecoder {
  readonly #child = new Deno.Command(`${PYTHON_VENV}/bin/python`, {
    args: [`${ROOT}tests/fixtures/otlp_decode.py`],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  readonly #writer = this.#child.stdin.getWriter();
  readonly #lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  #buffered = "";
  /** Decodes one at a time: each answer is the next line. */
  #turn: Promise<unknown> = Promise.resolve();

  /** `body` decoded, or what the definitions found wrong with it. */
  decode(body: string): Promise<Record<string, unknown>> {
    const decoded = this.#turn.then(async () => {
      await this.#writer.write(new TextEncoder().encode(`${JSON.stringify(JSON.parse(body))}\n`));
      return JSON.parse(await this.#nextLine()) as Record<string, unknown>;
    });
    this.#turn = decoded.catch(() => {});
    return decoded;
  }

  async close(): Promise<void> {
    await this.#writer.close().catch(() => {});
    await this.#lines.cancel().catch(() => {});
    await this.#child.status;
  }

  async #nextLine(): Promise<string> {
    while (!this.#buffered.includes("\n")) {
      const { done, value } = await this.#lines.read();
      if (done) throw new Error("the OTLP decoder ended");
      this.#buffered += value;
    }
    const end = this.#buffered.indexOf("\n");
    const line = this.#buffered.slice(0, end);
    this.#buffered = this.#buffered.slice(end + 1);
    return line;
  }
}

/** A receiver listening on 127.0.0.1; close it when done. */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Request headers of each export. */
  readonly exports: Headers[] = [];
  /** What the official definitions found wrong with an export, for each one they rejected. */
  readonly rejected: string[] = [];
  readonly #decoder = new OfficialDecoder();
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
        const body = await this.#decoder.decode(await request.text());
        if (typeof body.error === "string") {
          this.rejected.push(body.error);
          return Response.json({ error: body.error }, { status: 400 });
        }
        for (const { resource, scopeSpans } of body.resourceSpans as DecodedResourceSpans[]) {
          for (const { spans } of scopeSpans) {
            for (const span of spans) {
              this.spans.push({
                ...span,
                attributes: unwrap(span.attributes),
                resource: unwrap(resource?.attributes),
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
    await this.#decoder.close();
    if (this.rejected.length > 0) {
      throw new Error(`exports the OTLP definitions reject:\n${this.rejected.join("\n")}`);
    }
  }
}
