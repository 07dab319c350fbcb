/**
 * The `requestState` the proxy hands a modern client while a legacy server's call waits for
 * the client's input (MRTR): an unforgeable, expiring reference to one round of the parked
 * call, usable only by the client it was handed to.
 *
 * The state travels through the client, so it is attacker-controlled input: it names only an
 * id of the proxy's own and is sealed with an HMAC under a key that never leaves the process.
 * The HMAC also covers the credential of the request it answered (its digest, which the state
 * does not carry): presented with another credential, or none, it does not open.
 * @module
 */
import { createHash } from "node:crypto";
import type { PostHeaders } from "./http_classify.ts";

/** What a sealed state refers to. */
export interface ParkedRef {
  /** The parked call's id in the proxy. */
  readonly parkedId: string;
  /** The method of the original request: a retry of another method cannot use it. */
  readonly method: string;
  /** The round of input requests it answers: once the next round is asked, it is spent. */
  readonly round: number;
}

const encoder = new TextEncoder();

/**
 * Who sent a request, as far as the proxy can tell: a digest of the credentials it presented
 * (`Authorization`, `X-API-Key`), the same for every request with the same ones; requests
 * without either share the digest of nothing. The credentials themselves are never kept.
 */
export function credentialOf(headers: PostHeaders): string {
  const presented = `${headers.get("authorization") ?? ""}\n${headers.get("x-api-key") ?? ""}`;
  return createHash("sha256").update(presented).digest("base64url");
}

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

  /**
   * A state for `ref` that opens until `ttlMs` from now, for requests that present
   * `credential` (see {@linkcode credentialOf}).
   */
  async seal(ref: ParkedRef, credential: string, ttlMs: number): Promise<string> {
    const payload = `${ref.parkedId}.${ref.round}.${this.#now() + ttlMs}.${ref.method}`;
    return `${toBase64Url(encoder.encode(payload))}.${await this.#mac(payload, credential)}`;
  }

  /**
   * The ref sealed in `state`, or `undefined` if it was forged, altered or has expired, or is
   * presented with another `credential` than it was sealed for.
   */
  async open(state: string, credential: string): Promise<ParkedRef | undefined> {
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
    const mac = await this.#mac(payload, credential);
    if (!timingSafeEqual(mac, state.slice(dot + 1))) return undefined;
    const [parkedId, round, expiresAt, ...method] = payload.split(".");
    if (Number(expiresAt) < this.#now()) return undefined;
    return { parkedId, method: method.join("."), round: Number(round) };
  }

  async #mac(payload: string, credential: string): Promise<string> {
    // A line break cannot occur in a credential digest (base64url): the two stay apart.
    const sealed = encoder.encode(`${payload}\n${credential}`);
    const signature = await crypto.subtle.sign("HMAC", await this.#key, sealed);
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
