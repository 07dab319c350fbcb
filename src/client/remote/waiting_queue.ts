/**
 * The client's messages waiting for the remote (for detection to find what it speaks, or for a
 * connection), with the time each began to wait: a request must not wait for ever.
 * @module
 */
import type { Incoming } from "../../protocol/jsonrpc.ts";

/** A client message waiting for the remote, and since when (epoch milliseconds). */
export interface Waiting {
  /** The message. */
  readonly incoming: Incoming;
  /** When it began to wait. */
  readonly since: number;
}

/** Messages waiting for the remote, oldest first. */
export class WaitingQueue {
  #entries: Waiting[] = [];

  /** How many messages wait. */
  get length(): number {
    return this.#entries.length;
  }

  /** The message that has waited longest, if any. */
  get oldest(): Waiting | undefined {
    return this.#entries[0];
  }

  /** `incoming` waits from now on, after the others. */
  push(incoming: Incoming): void {
    this.#entries.push({ incoming, since: Date.now() });
  }

  /** `incoming` waits from now on, before the others (it is to go out first). */
  unshift(incoming: Incoming): void {
    this.#entries.unshift({ incoming, since: Date.now() });
  }

  /** Takes out the message that has waited longest. */
  shift(): Incoming | undefined {
    return this.#entries.shift()?.incoming;
  }

  /** Takes out every message, oldest first. */
  takeAll(): Incoming[] {
    const all = this.#entries.map(({ incoming }) => incoming);
    this.#entries = [];
    return all;
  }

  /**
   * Takes out the messages that have waited at least `waitedMs`, oldest first: their requests
   * are to get an error, their notifications are dropped.
   */
  expire(waitedMs: number): Incoming[] {
    const cutoff = Date.now() - waitedMs;
    const expired = this.#entries.filter(({ since }) => since <= cutoff);
    if (expired.length > 0) this.#entries = this.#entries.filter(({ since }) => since > cutoff);
    return expired.map(({ incoming }) => incoming);
  }
}
