/**
 * The tracer: spans recorded in memory and exported in batches over OTLP/HTTP with JSON
 * encoding (no protobuf library), by `fetch`. Loaded only when the environment asks for
 * traces (see `otel_env.ts`), and the same in every build (Deno's own OpenTelemetry needs
 * `--unstable-otel` and does not exist in the Bun builds).
 *
 * Sampling follows the parent (always on for a new trace): a span whose parent is not sampled
 * is not recorded, and its context says so to whoever it is passed on to.
 * @module
 */
import { getLogger, urlForLog } from "../../io/log.ts";
import type { OtlpSettings } from "./otel_env.ts";
import {
  type AttributeValue,
  newSpanId,
  newTraceId,
  type Span,
  type SpanContext,
  type SpanKind,
  synchronousSlot,
  type Tracer,
} from "./trace_context.ts";
import type { AsyncSlot } from "../../runtime/types.ts";

/** How long a finished span may wait for its batch to be exported. */
export const EXPORT_DELAY_MS = 1_000;

/** Most spans in one export. */
export const MAX_BATCH_SPANS = 512;

/** Most spans waiting for export: beyond, new ones are dropped (the collector is not keeping up). */
export const MAX_QUEUED_SPANS = 4_096;

/** How often a failing export is logged again, with the count since. */
const WARNING_INTERVAL_MS = 60_000;

const log = getLogger("mcp_proxy.otel");

/** A span as OTLP's JSON encoding has it. */
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startTimeUnixNano: string;
  endTimeUnixNano?: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status?: { code: 2; message: string };
}

/** Now, in nanoseconds since the epoch, as a decimal string (too large for a float's precision). */
function nowNanos(): string {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return `${whole}${String(Math.floor((ms - whole) * 1e6)).padStart(6, "0")}`;
}

/** An attribute as OTLP's JSON encoding has it. */
function attribute(key: string, value: AttributeValue): OtlpSpan["attributes"][number] {
  if (typeof value === "string") return { key, value: { stringValue: value } };
  if (typeof value === "boolean") return { key, value: { boolValue: value } };
  return Number.isInteger(value)
    ? { key, value: { intValue: String(value) } }
    : { key, value: { doubleValue: value } };
}

/** A span that is recorded and exported when it ends. */
class RecordedSpan implements Span {
  readonly context: SpanContext;
  readonly #span: OtlpSpan;
  readonly #done: (span: OtlpSpan) => void;

  constructor(
    context: SpanContext,
    span: OtlpSpan,
    done: (span: OtlpSpan) => void,
  ) {
    this.context = context;
    this.#span = span;
    this.#done = done;
  }

  setAttribute(key: string, value: AttributeValue): void {
    const attributes = this.#span.attributes;
    const at = attributes.findIndex((each) => each.key === key);
    if (at === -1) attributes.push(attribute(key, value));
    else attributes[at] = attribute(key, value);
  }

  end(error?: string): void {
    if (this.#span.endTimeUnixNano !== undefined) return;
    this.#span.endTimeUnixNano = nowNanos();
    if (error !== undefined) this.#span.status = { code: 2, message: error };
    this.#done(this.#span);
  }
}

/** A span of a trace that is not sampled: its context is passed on, nothing is recorded. */
class UnsampledSpan implements Span {
  constructor(readonly context: SpanContext) {}
  setAttribute(): void {}
  end(): void {}
}

/** Records spans and exports them to `settings.tracesUrl`. */
export class OtlpTracer implements Tracer {
  readonly #slot: AsyncSlot<SpanContext>;
  readonly #settings: OtlpSettings;
  readonly #scope: { name: string; version: string };
  readonly #fetch: typeof fetch;
  #queue: OtlpSpan[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #exports = new Set<Promise<void>>();
  #dropped = 0;
  #failures = 0;
  #lastWarning = -Infinity;

  /**
   * A tracer exporting as `settings` says, naming itself `version`, with `fetchImpl`; its
   * current span follows asynchronous work in `slot` (only synchronous work without one).
   */
  constructor(
    settings: OtlpSettings,
    version: string,
    fetchImpl: typeof fetch = fetch,
    slot: AsyncSlot<SpanContext> = synchronousSlot(),
  ) {
    this.#settings = settings;
    this.#scope = { name: "mcp-proxy", version };
    this.#fetch = fetchImpl;
    this.#slot = slot;
  }

  get current(): SpanContext | undefined {
    return this.#slot.get();
  }

  within<R>(context: SpanContext, fn: () => R): R {
    return this.#slot.run(context, fn);
  }

  startSpan(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    attributes: Readonly<Record<string, AttributeValue>> = {},
  ): Span {
    const context = {
      traceId: parent?.traceId ?? newTraceId(),
      spanId: newSpanId(),
      sampled: parent?.sampled ?? true,
    };
    if (!context.sampled) return new UnsampledSpan(context);
    const span: OtlpSpan = {
      traceId: context.traceId,
      spanId: context.spanId,
      name,
      kind,
      startTimeUnixNano: nowNanos(),
      attributes: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    };
    if (parent) span.parentSpanId = parent.spanId;
    return new RecordedSpan(context, span, (done) => this.#finished(done));
  }

  async shutdown(timeoutMs: number): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    while (this.#queue.length > 0) this.#export();
    const timeout = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      Promise.allSettled(this.#exports).then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await timeout;
  }

  #finished(span: OtlpSpan): void {
    if (this.#queue.length >= MAX_QUEUED_SPANS) {
      this.#dropped++;
      return;
    }
    this.#queue.push(span);
    if (this.#queue.length >= MAX_BATCH_SPANS) this.#export();
    else this.#timer ??= setTimeout(() => this.#export(), EXPORT_DELAY_MS);
  }

  /** Posts the oldest batch of finished spans. */
  #export(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const spans = this.#queue.splice(0, MAX_BATCH_SPANS);
    if (this.#queue.length > 0) this.#timer = setTimeout(() => this.#export(), 0);
    if (spans.length === 0) return;
    const body = JSON.stringify({
      resourceSpans: [{
        resource: {
          attributes: Object.entries(this.#settings.resource).map(([k, v]) => attribute(k, v)),
        },
        scopeSpans: [{ scope: this.#scope, spans }],
      }],
    });
    const sent = this.#fetch(this.#settings.tracesUrl, {
      method: "POST",
      headers: { ...this.#settings.headers, "content-type": "application/json" },
      body,
    }).then(async (response) => {
      await response.body?.cancel();
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    }).catch((error) => this.#failed(spans.length, error)).finally(() => {
      this.#exports.delete(sent);
    });
    this.#exports.add(sent);
  }

  /** An export failed: its spans are lost; logged once a minute at most. */
  #failed(spans: number, error: unknown): void {
    this.#failures += spans;
    const now = performance.now();
    if (now - this.#lastWarning < WARNING_INTERVAL_MS) return;
    this.#lastWarning = now;
    const dropped = this.#dropped > 0 ? `, ${this.#dropped} dropped for lack of room` : "";
    log.warning(
      `Could not export traces to ${urlForLog(this.#settings.tracesUrl)} (${
        (error as Error).message ?? error
      }): ${this.#failures} span(s) lost since the last warning${dropped}`,
    );
    this.#failures = 0;
    this.#dropped = 0;
  }
}
