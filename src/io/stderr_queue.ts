/**
 * Text for stderr, written without ever blocking the event loop: a reader that stops draining
 * our stderr must not freeze the proxy. What does not fit is dropped and counted.
 * @module
 */

/** Characters that may wait for stderr before further lines are dropped. */
export const STDERR_MAX_PENDING_CHARS = 1024 * 1024;

/**
 * Longest a deferred text waits for others to go with it (see {@linkcode StderrQueue.write}).
 * An asynchronous write to stderr costs tens of µs (the runtime hands it to a thread): a line
 * per relayed call (the call log) written on its own would cost a fifth of the call.
 */
export const STDERR_DEFER_MS = 10;

/** Writes some of `bytes` without blocking; resolves with how many were written. */
export type AsyncWrite = (bytes: Uint8Array) => Promise<number>;

/** A queue of text for stderr, written in order by one asynchronous pump. */
export class StderrQueue {
  readonly #write: AsyncWrite;
  readonly #onDrained: (dropped: number) => void;
  readonly #maxPendingChars: number;
  readonly #deferMs: number;
  readonly #encoder = new TextEncoder();
  #pending: string[] = [];
  #pendingChars = 0;
  #dropped = 0;
  #broken = false;
  #pump: Promise<void> | undefined;
  /** Whether a text waiting is not deferred: the pump writes on at once. */
  #urgent = false;
  /** Starts the pump for the deferred texts waiting. */
  #deferred: ReturnType<typeof setTimeout> | undefined;

  /**
   * A queue writing through `write`, deferred texts up to `deferMs` late; `onDrained(count)` is
   * called once the queue has emptied after `count` texts were dropped (it may
   * {@linkcode write} a notice).
   */
  constructor(
    write: AsyncWrite,
    onDrained: (dropped: number) => void,
    maxPendingChars = STDERR_MAX_PENDING_CHARS,
    deferMs = STDERR_DEFER_MS,
  ) {
    this.#write = write;
    this.#onDrained = onDrained;
    this.#maxPendingChars = maxPendingChars;
    this.#deferMs = deferMs;
  }

  /**
   * Queues `text`, or drops it (counted) when too much is already waiting. It is written at
   * once, unless `deferred`: then it may wait up to {@linkcode STDERR_DEFER_MS} for more, or
   * for the next text that is not deferred (the order is kept).
   */
  write(text: string, deferred = false): void {
    if (this.#broken) return;
    if (this.#pendingChars + text.length > this.#maxPendingChars) {
      this.#dropped++;
      return;
    }
    this.#pending.push(text);
    this.#pendingChars += text.length;
    if (!deferred) {
      this.#urgent = true;
      this.#start();
    } else if (!this.#pump) {
      this.#deferred ??= setTimeout(() => this.#start(), this.#deferMs);
    }
  }

  /** Resolves once everything queued was written, or after `timeoutMs`. */
  async flush(timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.#deferred !== undefined) this.#start();
      if (!this.#pump) return;
      const left = deadline - performance.now();
      if (left <= 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.#pump, new Promise((resolve) => timer = setTimeout(resolve, left))]);
      clearTimeout(timer);
    }
  }

  /** Starts writing what waits, unless a write is under way (it writes that too). */
  #start(): void {
    clearTimeout(this.#deferred);
    this.#deferred = undefined;
    this.#pump ??= this.#run();
  }

  async #run(): Promise<void> {
    try {
      while (this.#pending.length > 0) {
        let bytes = this.#encoder.encode(this.#pending.join(""));
        this.#pending = [];
        this.#pendingChars = 0;
        this.#urgent = false;
        while (bytes.length > 0) bytes = bytes.subarray(await this.#write(bytes));
        if (this.#pending.length === 0 && this.#dropped > 0) {
          const dropped = this.#dropped;
          this.#dropped = 0;
          this.#onDrained(dropped);
        }
        // Deferred texts that came during the write wait for more.
        if (!this.#urgent && this.#pending.length > 0) {
          this.#deferred = setTimeout(() => this.#start(), this.#deferMs);
          break;
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
