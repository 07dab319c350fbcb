/**
 * The `requestState` the proxy hands a modern client while a legacy server's call waits for
 * the client's input (MRTR): an unforgeable, expiring reference to the parked call.
 *
 * The state travels through the client, so it is attacker-controlled input: it names only an
 * id of the proxy's own and is sealed with an HMAC under a key that never leaves the process.
 * @module
 */

/** What a sealed state refers to. */
export interface ParkedRef {
  /** The parked call's id in the proxy. */
  readonly parkedId: string;
  /** The method of the original request: a retry of another method cannot use it. */
  readonly method: string;
}

const encoder = new TextEncoder();

function toBase64Url(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** Seals and opens `requestState` values with a per-process HMAC-SHA256 key. */
export class RequestStateSealer {
  readonly #key: Promise<CryptoKey>;
  readonly #now: () => number;

  /** A sealer with a fresh random key; `now` is the clock (tests replace it). */
  constructor(now: () => number = Date.now) {
    this.#now = now;
    // Random bytes imported as the key: Deno's `generateKey` for HMAC blocks start-up ~40 ms.
    this.#key = crypto.subtle.importKey(
      "raw",
      crypto.getRandomValues(new Uint8Array(32)),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
  }

  /** A state for `ref` that opens until `ttlMs` from now. */
  async seal(ref: ParkedRef, ttlMs: number): Promise<string> {
    const payload = `${ref.parkedId}.${this.#now() + ttlMs}.${ref.method}`;
    return `${toBase64Url(encoder.encode(payload))}.${await this.#mac(payload)}`;
  }

  /** The ref sealed in `state`, or `undefined` if it was forged, altered or has expired. */
  async open(state: string): Promise<ParkedRef | undefined> {
    const dot = state.indexOf(".");
    if (dot === -1) return undefined;
    let payload: string;
    try {
      const text = atob(state.slice(0, dot).replaceAll("-", "+").replaceAll("_", "/"));
      payload = new TextDecoder("utf-8", { fatal: true }).decode(
        Uint8Array.from(text, (char) => char.charCodeAt(0)),
      );
    } catch {
      return undefined;
    }
    if (!timingSafeEqual(await this.#mac(payload), state.slice(dot + 1))) return undefined;
    const [parkedId, expiresAt, ...method] = payload.split(".");
    if (Number(expiresAt) < this.#now()) return undefined;
    return { parkedId, method: method.join(".") };
  }

  async #mac(payload: string): Promise<string> {
    const signature = await crypto.subtle.sign("HMAC", await this.#key, encoder.encode(payload));
    return toBase64Url(new Uint8Array(signature));
  }
}

/** Compares two strings in time that depends only on their length. */
function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}
