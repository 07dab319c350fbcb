/**
 * One server-sent-events response body, for the legacy SSE and the Streamable HTTP transports
 * alike: a slow-reader limit, and a keep-alive ticker shared by many streams.
 * @module
 */
import type { Counter } from "../../core/observe/metrics.ts";
import { observed } from "../../core/observe/observed.ts";
import type { WireMessage } from "../../protocol/jsonrpc.ts";
import { runtime } from "../../runtime/mod.ts";

/** Interval between keep-alive comments on idle streams (as the original's 15 s ping). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/**
 * Bytes a client may leave unread on its stream before it is dropped: a stalled reader must
 * not make the proxy buffer without bound.
 */
export const SSE_MAX_UNREAD_BYTES = 16 * 1024 * 1024;

/**
 * Bytes all clients of the process together may leave unread: many stalled readers, each
 * under {@linkcode SSE_MAX_UNREAD_BYTES}, must not add up without bound either.
 */
export const SSE_MAX_UNREAD_TOTAL_BYTES = 64 * 1024 * 1024;

/** Backlogs below this size are not tracked against the overall budget (nearly every stream). */
const TRACKED_BACKLOG_BYTES = 256 * 1024;

const encoder = new TextEncoder();
const KEEP_ALIVE = encoder.encode(": ping\n\n");

/** Counts queued bytes, so that `desiredSize` tells how much the client has left unread. */
const BYTES: QueuingStrategy<Uint8Array> = { highWaterMark: 0, size: (chunk) => chunk.byteLength };

/** Headers of an event-stream response (proxies must neither buffer nor transform it). */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** Why a stream ended: the client cancelled it, or it stopped reading and was dropped. */
export type SseEndReason = "cancelled" | "dropped";

/**
 * The unread bytes of many streams together: when their sum passes the limit, the stream with
 * the largest backlog is dropped. Only streams with a sizeable backlog are tracked, so that
 * the check costs nothing while clients keep up.
 */
export class UnreadBudget {
  readonly #limit: number;
  readonly #backlogged = new Set<SseStream>();

  /** A budget of `limit` unread bytes. */
  constructor(limit: number) {
    this.#limit = limit;
  }

  /** Records that `stream` has `unread` bytes queued; drops the largest backlog if over. */
  update(stream: SseStream, unread: number): void {
    if (unread < TRACKED_BACKLOG_BYTES) {
      this.#backlogged.delete(stream);
      return;
    }
    this.#backlogged.add(stream);
    let total = 0;
    let largest = stream;
    for (const each of this.#backlogged) {
      total += each.unreadBytes;
      if (each.unreadBytes > largest.unreadBytes) largest = each;
    }
    if (total > this.#limit) largest.drop();
  }

  /** Stops tracking `stream` (it has ended); a backlog let go returns its memory. */
  forget(stream: SseStream): void {
    if (this.#backlogged.delete(stream)) runtime.releaseFreedMemory();
  }
}

/** The budget shared by every stream of the process. */
const PROCESS_BUDGET = new UnreadBudget(SSE_MAX_UNREAD_TOTAL_BYTES);

/** The streams of their bodies, kept while metrics count the bytes each stream sends. */
const streamsByBody = new WeakMap<ReadableStream<Uint8Array>, SseStream>();

/** The stream whose body is `body`, when metrics are on. */
export function sseStreamOf(body: ReadableStream<Uint8Array>): SseStream | undefined {
  return streamsByBody.get(body);
}

/** An event stream of JSON-RPC messages, ended by the client or by {@linkcode SseStream.close}. */
export class SseStream {
  /** The body to answer with. */
  readonly body: ReadableStream<Uint8Array>;
  readonly #maxUnreadBytes: number;
  readonly #budget: UnreadBudget;
  readonly #onEnd: (reason: SseEndReason) => void;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #open = true;
  /** Whether anything was written since the last keep-alive tick. */
  #active = true;
  /**
   * Events written since the stream last took a chunk: the events of one turn (the answers in
   * one read of a child's output) go to the client as one chunk, handed over in a microtask.
   */
  #pending = "";
  /** The metrics, when on: open streams, dropped backlogs, bytes sent. */
  readonly #metrics = observed.metrics;
  /** Where the bytes sent are counted, once the HTTP layer has said (see `countSentInto`). */
  #sentInto: Counter | undefined;
  /** Bytes sent before that. */
  #sentBefore = 0;

  /**
   * A stream that calls `onEnd` once if the client cancels it, or leaves more than
   * `maxUnreadBytes` unread, or has the largest backlog when `budget` is exceeded (then the
   * stream errors, dropping what is queued).
   */
  constructor(
    onEnd: (reason: SseEndReason) => void,
    maxUnreadBytes = SSE_MAX_UNREAD_BYTES,
    budget = PROCESS_BUDGET,
  ) {
    this.#onEnd = onEnd;
    this.#maxUnreadBytes = maxUnreadBytes;
    this.#budget = budget;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.#end("cancelled"),
    }, BYTES);
    if (this.#metrics) {
      this.#metrics.sseStreams.inc();
      streamsByBody.set(this.body, this);
    }
  }

  /** Counts the bytes this stream sends (those sent so far included) into `counter`. */
  countSentInto(counter: Counter): void {
    counter.inc(this.#sentBefore);
    this.#sentBefore = 0;
    this.#sentInto = counter;
  }

  #countSent(bytes: number): void {
    if (this.#sentInto) this.#sentInto.inc(bytes);
    else this.#sentBefore += bytes;
  }

  /** Whether messages can still be written. */
  get open(): boolean {
    return this.#open;
  }

  /**
   * Bytes written and not yet taken by the HTTP server (which holds a few MiB more); the events
   * of this turn count by their length.
   */
  get unreadBytes(): number {
    return this.#open ? this.#pending.length - (this.#controller.desiredSize ?? 0) : 0;
  }

  /**
   * Writes `message` as a `message` event (`text` is its JSON, when known); returns whether the
   * stream took it.
   */
  send(message: WireMessage, text?: string): boolean {
    return this.sendText(text ?? JSON.stringify(message));
  }

  /** Writes a message already serialized as JSON as a `message` event; as {@linkcode send}. */
  sendText(text: string): boolean {
    return this.event("message", text);
  }

  /** Writes an event named `name` with one line of `data`; returns whether the stream took it. */
  event(name: string, data: string): boolean {
    if (!this.#open) return false;
    if (this.unreadBytes > this.#maxUnreadBytes) {
      this.drop();
      return false;
    }
    this.#active = true;
    if (this.#pending === "") queueMicrotask(this.#flush);
    this.#pending += `event: ${name}\ndata: ${data}\n\n`;
    return true;
  }

  /** Hands the events of the turn to the stream as one chunk. */
  #flush = (): void => {
    const text = this.#pending;
    if (text === "" || !this.#open) return;
    this.#pending = "";
    const bytes = encoder.encode(text);
    if (this.#metrics) this.#countSent(bytes.byteLength);
    this.#controller.enqueue(bytes);
    this.#budget.update(this, this.unreadBytes);
  };

  /** Ends the stream as a client that is not reading: what is queued is let go at once. */
  drop(): void {
    if (!this.#open) return;
    this.#metrics?.sseDropped.inc();
    this.#metrics?.sseDroppedBytes.inc(this.unreadBytes);
    this.#end("dropped");
    try {
      this.#controller.error(new Error("client not reading"));
    } catch {
      // Already errored.
    }
  }

  /** Closes the stream after what is queued; `onEnd` is not called. */
  close(): void {
    if (!this.#open) return;
    this.#flush();
    this.#open = false;
    this.#metrics?.sseStreams.dec();
    this.#budget.forget(this);
    try {
      this.#controller.close();
    } catch {
      // The client cancelled it meanwhile.
    }
  }

  /** Keep-alive tick: writes a comment if nothing was written since the last tick. */
  tick(): void {
    if (!this.#open) return;
    if (this.#active) {
      this.#active = false;
      return;
    }
    try {
      this.#controller.enqueue(KEEP_ALIVE);
      if (this.#metrics) this.#countSent(KEEP_ALIVE.byteLength);
    } catch {
      this.#end("cancelled");
    }
  }

  #end(reason: SseEndReason): void {
    if (!this.#open) return;
    this.#open = false;
    this.#metrics?.sseStreams.dec();
    this.#pending = "";
    this.#budget.forget(this);
    this.#onEnd(reason);
  }
}

/** One interval timer for many streams, running only while some stream is registered. */
export class KeepAliveTicker {
  readonly #streams = new Set<SseStream>();
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** A ticker every `intervalMs` (0 disables keep-alive). */
  constructor(intervalMs = SSE_KEEP_ALIVE_MS) {
    this.#intervalMs = intervalMs;
  }

  /** Ticks `stream` until {@linkcode remove} (or until it has ended). */
  add(stream: SseStream): void {
    this.#streams.add(stream);
    if (this.#timer !== undefined || !(this.#intervalMs > 0)) return;
    this.#timer = setInterval(() => {
      for (const each of this.#streams) {
        if (each.open) each.tick();
        else this.remove(each);
      }
    }, this.#intervalMs);
  }

  /** Stops ticking `stream`. */
  remove(stream: SseStream): void {
    this.#streams.delete(stream);
    if (this.#streams.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
