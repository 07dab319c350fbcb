/**
 * The restart policy for a child that keeps dying.
 * @module
 */

/** Timings of {@linkcode Backoff}, in milliseconds. */
export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
  /** A child that ran at least this long starts over at `initialMs`. */
  stableMs: number;
}

/** Default timings: 200 ms doubling up to 30 s; reset after 10 s of uptime. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 200, maxMs: 30_000, stableMs: 10_000 };

/** Capped exponential backoff: initial, 2×, 4×, … up to the cap. */
export class Backoff {
  #options: BackoffOptions;
  #attempt = 0;

  constructor(options: BackoffOptions = DEFAULT_BACKOFF) {
    this.#options = options;
  }

  /** The delay before the next attempt, given how long the last child ran (0 if it never did). */
  next(uptimeMs: number): number {
    if (uptimeMs >= this.#options.stableMs) this.#attempt = 0;
    const delay = Math.min(this.#options.maxMs, this.#options.initialMs * 2 ** this.#attempt);
    if (delay < this.#options.maxMs) this.#attempt++;
    return delay;
  }
}
