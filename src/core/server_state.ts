/**
 * A server's life-cycle state with the listeners told of each change: what every
 * shared server keeps behind `state` and `onStateChange`.
 * @module
 */
import type { ServerState } from "./types.ts";

/** One server's current state; listeners hear each change, once. */
export class ServerStateCell {
  #state: ServerState;
  readonly #listeners = new Set<(state: ServerState) => void>();

  /** A cell holding `initial`. */
  constructor(initial: ServerState) {
    this.#state = initial;
  }

  /** The current state. */
  get value(): ServerState {
    return this.#state;
  }

  /** Moves to `state` and tells the listeners, if it is a change. */
  set(state: ServerState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of [...this.#listeners]) listener(state);
  }

  /** Calls `listener` with each new state; returns the function that stops the calls. */
  onChange(listener: (state: ServerState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
