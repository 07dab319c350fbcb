/**
 * One server-sent-events response body, for the legacy SSE and the Streamable HTTP transports
 * alike: a slow-reader limit, and a keep-alive ticker shared by many streams.
 * @module
 */
import type { WireMessage } from "../shared/jsonrpc.ts";

/** Interval between keep-alive comments on idle streams (as the original's 15 s ping). */
export const SSE_KEEP_ALIVE_MS = 15_000;

/**
 * Bytes a client may leave unread on its stream before it is dropped: a stalled reader must
 * not make the proxy buffer without bound.
 */
export const SSE_MAX_UNREAD_BYTES = 16 * 1024 * 1024;

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

/** An event stream of JSON-RPC messages, ended by the client or by {@linkcode SseStream.close}. */
export class SseStream {
  /** The body to answer with. */
  readonly body: ReadableStream<Uint8Array>;
  readonly #maxUnreadBytes: number;
  readonly #onEnd: (reason: SseEndReason) => void;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #open = true;
  /** Whether anything was written since the last keep-alive tick. */
  #active = true;

  /**
   * A stream that calls `onEnd` once if the client cancels it or leaves more than
   * `maxUnreadBytes` unread (then the stream errors, dropping what is queued).
   */
  constructor(onEnd: (reason: SseEndReason) => void, maxUnreadBytes = SSE_MAX_UNREAD_BYTES) {
    this.#onEnd = onEnd;
    this.#maxUnreadBytes = maxUnreadBytes;
    this.body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
      cancel: () => this.#end("cancelled"),
    }, BYTES);
  }

  /** Whether messages can still be written. */
  get open(): boolean {
    return this.#open;
  }

  /** Writes `message` as a `message` event; returns whether the stream took it. */
  send(message: WireMessage): boolean {
    return this.event("message", JSON.stringify(message));
  }

  /** Writes an event named `name` with one line of `data`; returns whether the stream took it. */
  event(name: string, data: string): boolean {
    if (!this.#open) return false;
    if ((this.#controller.desiredSize ?? 0) < -this.#maxUnreadBytes) {
      this.#end("dropped");
      try {
        this.#controller.error(new Error("client not reading"));
      } catch {
        // Already errored.
      }
      return false;
    }
    this.#active = true;
    this.#controller.enqueue(encoder.encode(`event: ${name}\ndata: ${data}\n\n`));
    return true;
  }

  /** Closes the stream after what is queued; `onEnd` is not called. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
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
    } catch {
      this.#end("cancelled");
    }
  }

  #end(reason: SseEndReason): void {
    if (!this.#open) return;
    this.#open = false;
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
