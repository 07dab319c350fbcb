/**
 * What server mode observes of each call it relays: a line of the call log (`--call-log`),
 * the call metrics (`--metrics`) and a span (OpenTelemetry). The multiplexer of each server
 * reports the calls it sends upstream and how each ended; nothing else of a call is seen
 * here, never its arguments or its result (but a `tools/list` result's tool names, which
 * label the metrics).
 * @module
 */
import { getLogger, type LogFields } from "../../io/log.ts";
import type { IncomingRequest, Params } from "../../protocol/jsonrpc.ts";
import type { CallMetrics, CallSeries, OutcomeLabel } from "./call_metrics.ts";
import {
  formatTraceparent,
  parseTraceparent,
  type Span,
  type SpanContext,
  SpanKind,
  type Tracer,
} from "./trace_context.ts";

/** How a relayed call ended: answered (ok, or a JSON-RPC error code), or why it was not. */
export type CallOutcome = "ok" | "timeout" | "cancelled" | "refused" | number;

/** A call in flight, kept by the multiplexer until it ends. */
export interface CallRecord {
  /** The `_meta.traceparent` the call goes upstream with, when it is traced. */
  readonly traceparent: string | undefined;
}

/** What one server's multiplexer reports of the calls it relays. */
export interface ServerCalls {
  /**
   * A request of a client arrived, in the flow of the HTTP request that carries it (it may wait
   * before it goes upstream, its server starting or its turn to come).
   */
  received(request: IncomingRequest): void;
  /** A request of the client labelled `client` (see `SessionOpening`) goes upstream. */
  started(client: string | undefined, request: IncomingRequest): CallRecord;
  /** The call `call` ended; `result` is the upstream's result when `outcome` is ok. */
  ended(call: CallRecord, outcome: CallOutcome, result?: unknown): void;
  /**
   * A request was refused without going upstream: the server is not running, or its filters
   * hide the tool, prompt or resource it names.
   */
  refused(client: string | undefined, request: IncomingRequest): void;
}

/** What to observe of calls. */
export interface CallWatchOptions {
  /** Write a line per call at INFO to the logger `mcp_proxy.calls`. */
  readonly log: boolean;
  /** Count calls into these metrics. */
  readonly metrics?: CallMetrics;
  /** Record a span per call. */
  readonly tracer?: Tracer;
}

/** Longest tool name, prompt name or URI a call line quotes. */
const MAX_NAME_LENGTH = 200;

/** What a call names: its tool or prompt, or the resource it reads, and the field saying which. */
function nameOf(method: string, params: Params): readonly [string, string] | undefined {
  let value: unknown;
  let field: string;
  switch (method) {
    case "tools/call":
      [field, value] = ["tool", params.name];
      break;
    case "prompts/get":
      [field, value] = ["prompt", params.name];
      break;
    case "resources/read":
    case "resources/subscribe":
    case "resources/unsubscribe":
      [field, value] = ["uri", params.uri];
      break;
    default:
      return undefined;
  }
  if (typeof value !== "string") return undefined;
  return [field, value.length > MAX_NAME_LENGTH ? `${value.slice(0, MAX_NAME_LENGTH)}…` : value];
}

function outcomeLabel(outcome: CallOutcome): OutcomeLabel {
  return typeof outcome === "number" ? "error" : outcome;
}

/** `error -32602`, `timeout`, `ok`: the outcome as a log line or a span says it. */
function outcomeText(outcome: CallOutcome): string {
  return typeof outcome === "number" ? `error ${outcome}` : outcome;
}

/** One call in flight. */
class Call implements CallRecord {
  readonly startedAt = performance.now();

  constructor(
    readonly client: string | undefined,
    readonly method: string,
    readonly name: readonly [string, string] | undefined,
    readonly series: CallSeries | undefined,
    readonly tool: string,
    readonly span: Span | undefined,
  ) {}

  get traceparent(): string | undefined {
    return this.span && formatTraceparent(this.span.context);
  }
}

/** Watches the calls of every server of the process. */
export class CallWatch {
  readonly #options: CallWatchOptions;

  /** A watch doing what `options` asks. */
  constructor(options: CallWatchOptions) {
    this.#options = options;
  }

  /**
   * What the multiplexer of the server `name` reports to; `label` is the configured server
   * it serves (the metrics' label: a child per user is one of many of the same server).
   */
  forServer(name: string, label = name): ServerCalls {
    return new ServerCallWatch(this.#options, name, label);
  }
}

// A line per call: written with others, a few ms late, rather than a write each.
const log = getLogger("mcp_proxy.calls", { deferred: true });

class ServerCallWatch implements ServerCalls {
  readonly #log: boolean;
  readonly #metrics: CallMetrics | undefined;
  readonly #tracer: Tracer | undefined;
  readonly #name: string;
  readonly #label: string;
  /** The span current when each request arrived (of its HTTP request), for its call's parent. */
  readonly #parents = new WeakMap<IncomingRequest, SpanContext>();

  constructor(options: CallWatchOptions, name: string, label: string) {
    this.#log = options.log;
    this.#metrics = options.metrics;
    this.#tracer = options.tracer;
    this.#name = name;
    this.#label = label;
  }

  received(request: IncomingRequest): void {
    const current = this.#tracer?.current;
    // The first arrival counts: a request waiting for its server arrives again when it starts.
    if (current && !this.#parents.has(request)) this.#parents.set(request, current);
  }

  started(client: string | undefined, request: IncomingRequest): CallRecord {
    const { params } = request;
    const method = request.message.method;
    const name = nameOf(method, params);
    const metrics = this.#metrics;
    let series: CallSeries | undefined;
    let tool = "";
    if (metrics) {
      series = metrics.callSeries(this.#label, method);
      series.inFlight.inc();
      if (name?.[0] === "tool") tool = metrics.toolLabel(this.#label, params.name);
    }
    const span = this.#tracer && this.#startSpan(this.#tracer, request, name);
    return new Call(client, method, name, series, tool, span);
  }

  ended(record: CallRecord, outcome: CallOutcome, result?: unknown): void {
    const call = record as Call;
    const elapsedMs = performance.now() - call.startedAt;
    const series = call.series;
    if (series) {
      series.inFlight.dec();
      series.duration.observe(elapsedMs / 1000);
      series.count(call.tool, outcomeLabel(outcome));
      if (call.method === "tools/list" && outcome === "ok") {
        this.#metrics!.learnTools(this.#label, result);
      }
    }
    if (call.span) {
      call.span.setAttribute("mcp_proxy.outcome", outcomeText(outcome));
      if (typeof outcome === "number") call.span.setAttribute("rpc.jsonrpc.error_code", outcome);
      call.span.end(outcome === "ok" ? undefined : outcomeText(outcome));
    }
    if (this.#log) this.#write(call.client, call.method, call.name, outcome, elapsedMs);
  }

  refused(client: string | undefined, { message, params }: IncomingRequest): void {
    this.#metrics?.callSeries(this.#label, message.method).count("", "refused");
    if (this.#log) {
      this.#write(client, message.method, nameOf(message.method, params), "refused", 0);
    }
  }

  /** The span of a call, a child of the HTTP request that carried it or of its `_meta`'s. */
  #startSpan(
    tracer: Tracer,
    request: IncomingRequest,
    name: readonly [string, string] | undefined,
  ): Span {
    const method = request.message.method;
    const fromMeta = parseTraceparent(request.params._meta?.traceparent);
    // Taken when it arrived: one that waited is sent from whatever work let it go.
    const current = this.#parents.get(request);
    // The request's own `_meta.traceparent` wins over the HTTP request's only when they are of
    // different traces: a client that sent none in its headers.
    const parent = current && (!fromMeta || fromMeta.traceId === current.traceId)
      ? current
      : fromMeta;
    const attributes: Record<string, string> = {
      "mcp.method.name": method,
      "mcp_proxy.server": this.#name,
    };
    if (name) attributes[SPAN_NAME_ATTRIBUTES[name[0]]] = name[1];
    const spanName = name ? `${method} ${name[1]}` : method;
    return tracer.startSpan(spanName, SpanKind.CLIENT, parent, attributes);
  }

  #write(
    client: string | undefined,
    method: string,
    name: readonly [string, string] | undefined,
    outcome: CallOutcome,
    elapsedMs: number,
  ): void {
    const durationMs = Math.round(elapsedMs * 10) / 10;
    const server = this.#name;
    // Built only for the JSON format: the text line says it all in words.
    const fields = (): LogFields => {
      const built: Record<string, string | number | undefined> = {
        server,
        method,
        client,
        duration_ms: durationMs,
        outcome: outcomeLabel(outcome),
        error_code: typeof outcome === "number" ? outcome : undefined,
      };
      if (name) built[name[0]] = name[1];
      return built;
    };
    log.info(
      `${server} ${method}${name ? ` ${name[1]}` : ""}: ${outcomeText(outcome)} in ` +
        `${durationMs} ms${client ? ` (${client})` : ""}`,
      fields,
    );
  }
}

/** The span attribute of what a call names, by the log field that names it. */
const SPAN_NAME_ATTRIBUTES: Readonly<Record<string, string>> = {
  tool: "gen_ai.tool.name",
  prompt: "gen_ai.prompt.name",
  uri: "mcp.resource.uri",
};
