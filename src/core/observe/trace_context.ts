/**
 * W3C Trace Context: the `traceparent` header (and `_meta.traceparent` of an MCP request),
 * parsed and written by hand, and the tracer seam the proxy's parts report spans to.
 * @module
 */
import type { AsyncSlot } from "../../runtime/types.ts";

/** Where a span is in its trace: the ids as lower-case hex, and whether it is sampled. */
export interface SpanContext {
  /** 32 hex digits, not all zero. */
  readonly traceId: string;
  /** 16 hex digits, not all zero. */
  readonly spanId: string;
  /** The `sampled` flag of the trace flags. */
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

/**
 * The context a `traceparent` value names, or `undefined` when it is absent or invalid (as the
 * specification says, an invalid one starts a new trace). Versions above 00 are read as 00
 * when they have its fields; version ff is invalid.
 */
export function parseTraceparent(value: unknown): SpanContext | undefined {
  if (typeof value !== "string") return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined;
  return { traceId, spanId, sampled: (parseInt(flags, 16) & 1) === 1 };
}

/** The `traceparent` value of `context` (version 00). */
export function formatTraceparent(context: SpanContext): string {
  return `00-${context.traceId}-${context.spanId}-${context.sampled ? "01" : "00"}`;
}

/** Random bytes drawn a page at a time: one call into the runtime per 256 span ids, not one each. */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

/** Two hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** `bytes` random bytes as hex, never all zero. */
function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let hex = "";
  let zero = true;
  for (let i = poolAt; i < poolAt + bytes; i++) {
    hex += HEX[pool[i]];
    if (pool[i] !== 0) zero = false;
  }
  poolAt += bytes;
  return zero ? `${hex.slice(0, -1)}1` : hex;
}

/** A new trace id: 16 random bytes. */
export function newTraceId(): string {
  return randomHex(16);
}

/** A new span id: 8 random bytes. */
export function newSpanId(): string {
  return randomHex(8);
}

/**
 * A slot holding its value only while `run`'s function runs synchronously: where no
 * `AsyncSlot` of the runtime is given (tests, the in-process bench).
 */
export function synchronousSlot<T>(): AsyncSlot<T> {
  let value: T | undefined;
  return {
    run(next, fn) {
      const previous = value;
      value = next;
      try {
        return fn();
      } finally {
        value = previous;
      }
    },
    get: () => value,
  };
}

/** What a span stands for, as OpenTelemetry numbers it. */
export const SpanKind = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;

/** A span kind. */
export type SpanKind = typeof SpanKind[keyof typeof SpanKind];

/** An attribute value of a span. */
export type AttributeValue = string | number | boolean;

/** A span being recorded. */
export interface Span {
  /** Its place in the trace. */
  readonly context: SpanContext;
  /** Sets (or replaces) attribute `key`. */
  setAttribute(key: string, value: AttributeValue): void;
  /** Ends it now; `error` marks it failed with that description. Only the first end counts. */
  end(error?: string): void;
}

/** Records spans and exports them; see `otlp_tracer.ts`. */
export interface Tracer {
  /** The span of the HTTP request being handled (see {@linkcode within}), if any. */
  readonly current: SpanContext | undefined;
  /**
   * Runs `fn` with `context` current, for it and the asynchronous work it starts (the body
   * read, the call relayed), so that a call becomes a child of its HTTP request's span.
   */
  within<R>(context: SpanContext, fn: () => R): R;
  /** Starts a span named `name`, a child of `parent` or the root of a new trace. */
  startSpan(
    name: string,
    kind: SpanKind,
    parent: SpanContext | undefined,
    attributes?: Readonly<Record<string, AttributeValue>>,
  ): Span;
  /** Exports what is recorded and stops; resolves within `timeoutMs` whatever happens. */
  shutdown(timeoutMs: number): Promise<void>;
}
