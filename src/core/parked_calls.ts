/**
 * The caps on calls in a multi round-trip (waiting for their client's input), per client and
 * for the whole process.
 * @module
 */

/**
 * Most calls of one client in a multi round-trip at once: from their first `input_required`
 * to their end. A client is the credential its requests present (see `credentialOf`); every
 * client without one counts as one.
 */
export const MAX_PARKED_CALLS_PER_CLIENT = 100;

/** Most calls in a multi round-trip at once, of every client and server of the process. */
export const MAX_PARKED_CALLS = 1_000;

/**
 * The count of calls in a multi round-trip, in all and by client: what bounds the calls that
 * clients who never come back leave parked (each holds a session with the child until its
 * park timeout).
 */
export class ParkedCalls {
  readonly #byClient = new Map<string, number>();
  readonly #perClient: number;
  readonly #max: number;
  #total = 0;

  /** A count that admits `perClient` calls per client and `max` in all. */
  constructor(perClient = MAX_PARKED_CALLS_PER_CLIENT, max = MAX_PARKED_CALLS) {
    this.#perClient = perClient;
    this.#max = max;
  }

  /** Counts a call of `client` in; returns why it cannot be (then nothing was counted). */
  enter(client: string): string | undefined {
    const held = this.#byClient.get(client) ?? 0;
    if (held >= this.#perClient) {
      return `mcp-proxy: this client already has ${held} calls waiting for its input, the most ` +
        "it may have; answer them (or let them expire) before starting another";
    }
    if (this.#total >= this.#max) {
      return `mcp-proxy: ${this.#total} calls are waiting for their clients' input, the most ` +
        "it keeps; try again later";
    }
    this.#byClient.set(client, held + 1);
    this.#total++;
    return undefined;
  }

  /** Counts a call of `client` out (it ended). */
  leave(client: string): void {
    const held = this.#byClient.get(client);
    if (held === undefined) return;
    if (held > 1) this.#byClient.set(client, held - 1);
    else this.#byClient.delete(client);
    this.#total--;
  }
}
