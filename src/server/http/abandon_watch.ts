/**
 * Noticing clients that leave before their answer, without paying for it on every call.
 * @module
 */

/** How long a request waits for its answer before its client is watched (up to twice that). */
export const WATCH_DELAY_MS = 50;

/** What is told when its client leaves. */
export interface Abandonable {
  /** Whether the answer is complete (nothing left to abandon). */
  readonly done: boolean;
  /** The client left: stop answering and free what the answer holds. */
  abandon(): void;
}

/**
 * Watches the requests still unanswered after {@linkcode WATCH_DELAY_MS} to twice that, a batch
 * at a time.
 *
 * Reading `request.signal` makes Deno create an abort signal and a cancellation watch for the
 * request (about 2 µs, more than the rest of the transport's work on a call), and most calls
 * are answered within a millisecond. A client that left before its request is watched is
 * noticed then: the signal of a request already cancelled is aborted, or aborts at once.
 *
 * An answered request is forgotten at once: held until its batch came due, every request of
 * the last 50 ms (with its headers, body and answer) outlived the young generation's
 * collections, which made each of them copy hundreds of kilobytes.
 */
export class AbandonWatch {
  /** Unanswered requests added since the last tick. */
  #recent = new Map<Abandonable, Request>();
  /** Unanswered requests added before the last tick: watched at the next. */
  #due = new Map<Abandonable, Request>();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Calls `answer.abandon()` if the client of `request` leaves before the answer is done. */
  add(request: Request, answer: Abandonable): void {
    if (answer.done) return;
    this.#recent.set(answer, request);
    this.#timer ??= setTimeout(this.#tick, WATCH_DELAY_MS);
  }

  /** The answer is done: its request needs no watching. */
  forget(answer: Abandonable): void {
    if (!this.#recent.delete(answer)) this.#due.delete(answer);
  }

  /** Forgets the requests not yet watched (shutdown: their answers are ended anyway). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#recent.clear();
    this.#due.clear();
  }

  #tick = () => {
    for (const [answer, request] of this.#due) {
      if (answer.done) continue;
      // Bun hands out the signal of a request whose client left already aborted (its event
      // long gone); Deno aborts it soon after it is read.
      const signal = request.signal;
      if (signal.aborted) answer.abandon();
      // No options object: converting one costs more than the listener (abort fires once).
      else signal.addEventListener("abort", () => answer.abandon());
    }
    this.#due = this.#recent;
    this.#recent = new Map();
    this.#timer = this.#due.size > 0 ? setTimeout(this.#tick, WATCH_DELAY_MS) : undefined;
  };
}
