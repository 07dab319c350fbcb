/**
 * Noticing clients that leave before their answer, without paying for it on every call.
 * @module
 */

/** How long a request waits for its answer before its client is watched. */
export const WATCH_DELAY_MS = 50;

/** What is told when its client leaves. */
export interface Abandonable {
  /** Whether the answer is complete (nothing left to abandon). */
  readonly done: boolean;
  /** The client left: stop answering and free what the answer holds. */
  abandon(): void;
}

/**
 * Watches the requests still unanswered after {@linkcode WATCH_DELAY_MS}, as one batch.
 *
 * Reading `request.signal` makes Deno create an abort signal and a cancellation watch for the
 * request (about 2 µs, more than the rest of the transport's work on a call), and most calls
 * are answered within a millisecond. A client that left before its request is watched is
 * noticed then: the signal of a request already cancelled is aborted, or aborts at once.
 */
export class AbandonWatch {
  #waiting: { request: Request; answer: Abandonable }[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Calls `answer.abandon()` if the client of `request` leaves before the answer is done. */
  add(request: Request, answer: Abandonable): void {
    this.#waiting.push({ request, answer });
    this.#timer ??= setTimeout(this.#watchWaiting, WATCH_DELAY_MS);
  }

  /** Forgets the requests not yet watched (shutdown: their answers are ended anyway). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = [];
  }

  #watchWaiting = () => {
    const waiting = this.#waiting;
    this.#waiting = [];
    this.#timer = undefined;
    for (const { request, answer } of waiting) {
      if (answer.done) continue;
      // Bun hands out the signal of a request whose client left already aborted (its event
      // long gone); Deno aborts it soon after it is read.
      const signal = request.signal;
      if (signal.aborted) answer.abandon();
      // No options object: converting one costs more than the listener (abort fires once).
      else signal.addEventListener("abort", () => answer.abandon());
    }
  };
}
