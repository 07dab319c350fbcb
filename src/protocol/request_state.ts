/**
 * The `requestState` the proxy hands a modern client while a legacy server's call waits for
 * the client's input (MRTR): an unforgeable, expiring reference to one round of the parked
 * call, usable only by the client it was handed to.
 *
 * The state travels through the client, so it is attacker-controlled input: it names only an
 * id of the proxy's own and is sealed with an HMAC under a key that never leaves the process
 * (or a key every instance behind a load balancer shares). The HMAC also covers the credential
 * of the request it answered (its digest, which the state does not carry): presented with
 * another credential, or none, it does not open. An instance among several puts its id in
 * front (`<instance>.<sealed>`), under the HMAC too, so that any instance can tell whose it is.
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

/** How an instance among several seals its states (absent: alone, with a random key). */
export interface StateSealing {
  /** The instance whose id every state starts with (`<instance>.`). */
  readonly instanceId?: string;
  /** The key every instance shares; its SHA-256 is the HMAC key. Absent: a random one. */
  readonly key?: string;
}

/**
 * Whether `text` may be an instance's id: 1 to 64 letters, digits or `-`, so that it goes
 * into URLs and headers as it is.
 */
export function isInstanceId(text: string): boolean {
  return /^[A-Za-z0-9-]{1,64}$/.test(text);
}

/**
 * The instance a state names (`<instance>.<sealed>`), or `undefined` for a state without one.
 * A sealed state is two base64url parts: the instance makes three.
 */
export function stateInstance(state: string): string | undefined {
  const parts = state.split(".");
  return parts.length === 3 && isInstanceId(parts[0]) ? parts[0] : undefined;
}

/** Seals and opens `requestState` values with an HMAC-SHA256 key of the process or shared. */
export class RequestStateSealer {
  readonly #key: Promise<CryptoKey>;
  readonly #now: () => number;
  readonly #instanceId: string | undefined;

  /**
   * A sealer with a fresh random key, or the shared key of `sealing`; `now` is the clock
   * (tests replace it).
   */
  constructor(now: () => number = Date.now, sealing: StateSealing = {}) {
    this.#now = now;
    this.#instanceId = sealing.instanceId;
    // Random bytes imported as the key: Deno's `generateKey` for HMAC blocks start-up ~40 ms.
    this.#key = crypto.subtle.importKey(
      "raw",
      sealing.key === undefined
        ? crypto.getRandomValues(new Uint8Array(32))
        : Uint8Array.from(createHash("sha256").update(sealing.key).digest()),
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
    const mac = await this.#mac(payload, credential, this.#instanceId);
    const sealed = `${toBase64Url(encoder.encode(payload))}.${mac}`;
    return this.#instanceId === undefined ? sealed : `${this.#instanceId}.${sealed}`;
  }

  /**
   * The ref sealed in `state` by `instance` (by default this sealer's own), or `undefined` if
   * it was forged, altered or has expired, names another instance, or is presented with
   * another `credential` than it was sealed for.
   */
  async open(
    state: string,
    credential: string,
    instance: string | undefined = this.#instanceId,
  ): Promise<ParkedRef | undefined> {
    if (instance !== undefined) {
      if (!state.startsWith(`${instance}.`)) return undefined;
      state = state.slice(instance.length + 1);
    }
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
    const mac = await this.#mac(payload, credential, instance);
    if (!timingSafeEqual(mac, state.slice(dot + 1))) return undefined;
    const [parkedId, round, expiresAt, ...method] = payload.split(".");
    if (Number(expiresAt) < this.#now()) return undefined;
    return { parkedId, method: method.join("."), round: Number(round) };
  }

  async #mac(payload: string, credential: string, instance: string | undefined): Promise<string> {
    // A line break cannot occur in a credential digest (base64url) or an instance id: the
    // parts stay apart.
    const text = `${payload}\n${credential}`;
    const sealed = encoder.encode(instance === undefined ? text : `${instance}\n${text}`);
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
