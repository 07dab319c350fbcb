/**
 * Text for stderr, written without ever blocking the event loop: a reader that stops draining
 * our stderr must not freeze the proxy. What does not fit is dropped and counted.
 * @module
 */

/** Characters that may wait for stderr before further lines are dropped. */
export const STDERR_MAX_PENDING_CHARS = 1024 * 1024;

/**
 * The least time between two writes: lines that come sooner after a write wait for the next one,
 * together. An asynchronous write to stderr costs tens of µs (the runtime hands it to a thread);
 * a line per relayed call (the call log) written alone would cost a fifth of the call. A line
 * after a quiet spell is written at once.
 */
export const STDERR_COALESCE_MS = 10;

/** Writes some of `bytes` without blocking; resolves with how many were written. */
export type AsyncWrite = (bytes: Uint8Array) => Promise<number>;

/** A queue of text for stderr, written in order by one asynchronous pump. */
export class StderrQueue {
  readonly #write: AsyncWrite;
  readonly #onDrained: (dropped: number) => void;
  readonly #maxPendingChars: number;
  readonly #coalesceMs: number;
  readonly #encoder = new TextEncoder();
  #pending: string[] = [];
  #pendingChars = 0;
  #dropped = 0;
  #broken = false;
  #pump: Promise<void> | undefined;
  /** When the last write began (`performance.now()`). */
  #lastWriteAt = -Infinity;

  /**
   * A queue writing through `write`, at most once per `coalesceMs`; `onDrained(count)` is
   * called once the queue has emptied after `count` texts were dropped (it may
   * {@linkcode write} a notice).
   */
  constructor(
    write: AsyncWrite,
    onDrained: (dropped: number) => void,
    maxPendingChars = STDERR_MAX_PENDING_CHARS,
    coalesceMs = STDERR_COALESCE_MS,
  ) {
    this.#write = write;
    this.#onDrained = onDrained;
    this.#maxPendingChars = maxPendingChars;
    this.#coalesceMs = coalesceMs;
  }

  /** Queues `text`, or drops it (counted) when too much is already waiting. */
  write(text: string): void {
    if (this.#broken) return;
    if (this.#pendingChars + text.length > this.#maxPendingChars) {
      this.#dropped++;
      return;
    }
    this.#pending.push(text);
    this.#pendingChars += text.length;
    this.#pump ??= this.#run();
  }

  /** Resolves once everything queued was written, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.#pump) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#pump, new Promise((resolve) => timer = setTimeout(resolve, left))]);
      clearTimeout(timer);
    }
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        const wait = this.#lastWriteAt + this.#coalesceMs - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        this.#lastWriteAt = performance.now();
        let bytes = this.#encoder.encode(this.#pending.join(""));
        this.#pending = [];
        this.#pendingChars = 0;
        while (bytes.length > 0) bytes = bytes.subarray(await this.#write(bytes));
        if (this.#pending.length === 0 && this.#dropped > 0) {
          const dropped = this.#dropped;
          this.#dropped = 0;
          this.#onDrained(dropped);
        }
      }
    } catch {
      // stderr is closed: nothing more can be written.
      this.#broken = true;
      this.#pending = [];
    } finally {
      this.#pump = undefined;
    }
  }
}
