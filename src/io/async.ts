/**
 * The async toolkit of both modes: a deadline, a cancellable sleep and the capped exponential
 * backoff of the client's reconnect loop and the relay's restart loop.
 * @module
 */

/** A promise given to {@linkcode deadline} did not settle in time. */
export class DeadlineError extends Error {
  /** `DeadlineError`. */
  override name = "DeadlineError";
}

/** Settles with `promise`, or rejects with a {@linkcode DeadlineError} saying `message` after `ms`. */
export async function deadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(message)), ms);
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Whether `promise` settles (fulfils or rejects) within `ms`. */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const settled = promise.then(() => true, () => true);
  return deadline(settled, ms, "").catch(() => false);
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", wake);
      resolve();
    };
    const timer = setTimeout(wake, ms);
    signal?.addEventListener("abort", wake, { once: true });
  });
}

/** Timings of {@linkcode Backoff}, in milliseconds. */
export interface BackoffOptions {
  /** First delay. */
  initialMs: number;
  /** Largest delay. */
  maxMs: number;
  /** A run (child or connection) that lasted at least this long starts over at `initialMs`. */
  stableMs: number;
}

/** Capped exponential backoff: initial, 2×, 4×, … up to the cap; reset by a stable run. */
export class Backoff {
  readonly #options: BackoffOptions;
  #attempt = 0;

  /** A backoff with the given timings. */
  constructor(options: BackoffOptions) {
    this.#options = options;
  }

  /** The delay before the next attempt, given how long the last run lasted (0 if it never ran). */
  next(uptimeMs = 0): number {
    if (uptimeMs >= this.#options.stableMs) this.#attempt = 0;
    const delay = Math.min(this.#options.maxMs, this.#options.initialMs * 2 ** this.#attempt);
    if (delay < this.#options.maxMs) this.#attempt++;
    return delay;
  }
}

/** `ms` as people read it: `250 ms`, `3 s`. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}
