/**
 * HTTP Basic and Digest authentication to the remote server (`--username`, `--password`,
 * `--digest`), as a `fetch` wrapper: Basic goes with every request; Digest answers the remote's
 * `WWW-Authenticate: Digest` challenge (RFC 7616) and keeps answering it ahead of time, counting
 * its uses, until the remote sends a new one.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import type { HttpCredentials } from "../../config.ts";
import type { Logger } from "../../io/log.ts";

/** One challenge of a `WWW-Authenticate` header: its scheme and parameters. */
export interface Challenge {
  /** The scheme, lower-cased: `basic`, `digest`, `bearer`... */
  scheme: string;
  /** Its auth-params, names lower-cased, values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y;
const TOKEN68 = /[A-Za-z0-9\-._~+/]+=*[ \t]*(?=,|$)/y;
const SPACE = /[ \t]*/y;

/**
 * The challenges of a `WWW-Authenticate` value (RFC 9110 §11.6.1); several headers come joined
 * with commas, which the grammar allows. A malformed tail is dropped.
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let at = 0;
  const match = (pattern: RegExp) => {
    pattern.lastIndex = at;
    const found = pattern.exec(header);
    if (found) at = pattern.lastIndex;
    return found?.[0];
  };
  while (at < header.length) {
    if (header[at] === "," || header[at] === " " || header[at] === "\t") {
      at++;
      continue;
    }
    const name = match(TOKEN);
    if (name === undefined) break;
    match(SPACE);
    if (header[at] !== "=") {
      // A new challenge; a token68 (as in `Negotiate abc==`) may follow its scheme.
      challenges.push({ scheme: name.toLowerCase(), params: {} });
      match(TOKEN68);
      continue;
    }
    at++;
    match(SPACE);
    const value = header[at] === '"' ? quotedString() : match(TOKEN);
    if (value === undefined || challenges.length === 0) break;
    challenges[challenges.length - 1].params[name.toLowerCase()] = value;
  }
  return challenges;

  function quotedString(): string | undefined {
    let value = "";
    for (at++; at < header.length; at++) {
      const char = header[at];
      if (char === '"') {
        at++;
        return value;
      }
      value += char === "\\" ? header[++at] ?? "" : char;
    }
    return undefined;
  }
}

/** The challenges of `response`'s `WWW-Authenticate` header. */
export function challengesOf(response: Response): Challenge[] {
  return parseChallenges(response.headers.get("www-authenticate") ?? "");
}

/** The Basic or Digest schemes a refusal asks for (either stops an OAuth sign-in). */
export function passwordSchemes(response: Response): ("basic" | "digest")[] {
  const schemes = challengesOf(response).map((challenge) => challenge.scheme);
  return (["basic", "digest"] as const).filter((scheme) => schemes.includes(scheme));
}

/** Digest algorithms (RFC 7616 §6.1) by their name, with the `node:crypto` hash of each. */
const DIGEST_HASHES: Record<string, string> = {
  "MD5": "md5",
  "SHA-256": "sha256",
  "SHA-512-256": "sha512-256",
};

/** A Digest challenge this proxy can answer. */
export interface DigestChallenge {
  /** `realm`. */
  realm: string;
  /** `nonce`. */
  nonce: string;
  /** `opaque`, echoed back. */
  opaque?: string;
  /** `MD5`, `SHA-256` or `SHA-512-256`. */
  algorithm: string;
  /** The `-sess` variant of the algorithm. */
  session: boolean;
  /** `auth` when the remote offers it; absent for an RFC 2069 challenge without `qop`. */
  qop?: "auth";
  /** Whether the username is sent hashed (`userhash=true`). */
  userhash: boolean;
  /** `stale=true`: the previous answer was right, only its nonce expired. */
  stale: boolean;
}

/**
 * The first Digest challenge of `challenges` that this proxy can answer (RFC 7616 §3.7: a
 * server lists them by preference), or why none is.
 */
export function digestChallenge(challenges: Challenge[]): DigestChallenge | string {
  let reason = "the remote server sent no Digest challenge";
  for (const { scheme, params } of challenges) {
    if (scheme !== "digest") continue;
    const named = (params.algorithm ?? "MD5").toUpperCase();
    const session = named.endsWith("-SESS");
    const algorithm = session ? named.slice(0, -"-SESS".length) : named;
    const qops = params.qop?.split(",").map((qop) => qop.trim().toLowerCase());
    if (!params.realm || !params.nonce) {
      reason = "the remote server's Digest challenge lacks a realm or nonce";
    } else if (!(algorithm in DIGEST_HASHES)) {
      reason = `the remote server asks for Digest algorithm ${params.algorithm}, which ` +
        "mcp-proxy does not support (MD5, SHA-256, SHA-512-256 and their -sess variants)";
    } else if (qops && !qops.includes("auth")) {
      reason = `the remote server asks for Digest qop=${params.qop}; mcp-proxy supports auth`;
    } else {
      return {
        realm: params.realm,
        nonce: params.nonce,
        opaque: params.opaque,
        algorithm,
        session,
        qop: qops ? "auth" : undefined,
        userhash: params.userhash?.toLowerCase() === "true",
        stale: params.stale?.toLowerCase() === "true",
      };
    }
  }
  return reason;
}

/** What one Digest answer is computed over. */
export interface DigestRequest {
  /** The request's method. */
  method: string;
  /** Its request-target: path and query. */
  uri: string;
  /** The nonce count, 1 for the nonce's first use. */
  nc: number;
  /** The client nonce, fresh for each request. */
  cnonce: string;
}

/** A quoted-string (RFC 9110 §5.6.4). */
function quoted(value: string): string {
  return `"${value.replaceAll(/["\\]/g, (char) => `\\${char}`)}"`;
}

/**
 * The username parameter: as it is in a quoted string when it is printable ASCII, else as
 * `username*` in RFC 8187's encoding (RFC 7616 §3.4.4).
 */
function usernameParam(username: string): string {
  if (/^[\x20-\x7e]*$/.test(username)) return `username=${quoted(username)}`;
  return `username*=UTF-8''${encodeURIComponent(username)}`;
}

/** The `Authorization: Digest` value answering `challenge` for `request` (RFC 7616 §3.4). */
export function digestAuthorization(
  challenge: DigestChallenge,
  credentials: Pick<HttpCredentials, "username" | "password">,
  request: DigestRequest,
): string {
  const hashName = DIGEST_HASHES[challenge.algorithm];
  const hash = (text: string) => createHash(hashName).update(text, "utf8").digest("hex");
  const { realm, nonce, qop } = challenge;
  const { username, password } = credentials;
  const nc = request.nc.toString(16).padStart(8, "0");
  let secret = hash(`${username}:${realm}:${password}`);
  if (challenge.session) secret = hash(`${secret}:${nonce}:${request.cnonce}`);
  const ha2 = hash(`${request.method}:${request.uri}`);
  const response = qop
    ? hash(`${secret}:${nonce}:${nc}:${request.cnonce}:${qop}:${ha2}`)
    : hash(`${secret}:${nonce}:${ha2}`);
  const fields = [
    challenge.userhash
      ? `username=${quoted(hash(`${username}:${realm}`))}`
      : usernameParam(username),
    `realm=${quoted(realm)}`,
    `uri=${quoted(request.uri)}`,
    `algorithm=${challenge.algorithm}${challenge.session ? "-sess" : ""}`,
    `nonce=${quoted(nonce)}`,
    ...(qop ? [`nc=${nc}`, `cnonce=${quoted(request.cnonce)}`, `qop=${qop}`] : []),
    `response=${quoted(response)}`,
    ...(challenge.opaque === undefined ? [] : [`opaque=${quoted(challenge.opaque)}`]),
    ...(challenge.userhash ? ["userhash=true"] : []),
  ];
  return `Digest ${fields.join(", ")}`;
}

/** The `Authorization: Basic` value: `username:password` in UTF-8, in Base64 (RFC 7617). */
export function basicAuthorization(
  credentials: Pick<HttpCredentials, "username" | "password">,
): string {
  const bytes = new TextEncoder().encode(`${credentials.username}:${credentials.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}

/** Longest part of a refusal's body quoted in the log. */
const MAX_MESSAGE_CHARS = 300;

/**
 * `response` with its body read into memory, and what it said, on one line: the body, or
 * the status text when the body is empty. The caller still gets a readable response.
 */
export async function readRefusal(
  response: Response,
  hidden: readonly string[] = [],
): Promise<{ response: Response; message: string }> {
  const text = await response.text().catch(() => "");
  let message = text.replaceAll(/\s+/g, " ").trim() || response.statusText || "no message";
  for (const secret of hidden) if (secret) message = message.replaceAll(secret, "***");
  if (message.length > MAX_MESSAGE_CHARS) message = `${message.slice(0, MAX_MESSAGE_CHARS)}…`;
  const copy = new Response(text, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
  return { response: copy, message: `HTTP ${response.status}: ${message}` };
}

/** Logs each distinct refusal once in a row (every probe and retry would repeat it). */
export class RefusalLog {
  #last?: string;

  /** Reports to `log`, at error level. */
  constructor(readonly log: Logger) {}

  /** Logs `message` unless it was the last one logged. */
  report(message: string): void {
    if (message === this.#last) return;
    this.#last = message;
    this.log.error(message);
  }

  /** A request got through: the next refusal is news again. */
  clear(): void {
    this.#last = undefined;
  }
}

/** The method, URI and headers of a request given as `fetch` arguments. */
function describe(input: RequestInfo | URL, init: RequestInit | undefined) {
  const request = input instanceof Request ? input : undefined;
  const url = new URL(request?.url ?? String(input));
  return {
    method: (init?.method ?? request?.method ?? "GET").toUpperCase(),
    uri: url.pathname + url.search,
    headers: new Headers(init?.headers ?? request?.headers),
  };
}

/** The `Authorization` value to send with a request, or `undefined` to send it without. */
type Authorizer = (request: { method: string; uri: string }) => string | undefined;

/** The Digest side: the current challenge and how often its nonce was used. */
class DigestAnswers {
  #challenge?: DigestChallenge;
  #uses = 0;

  constructor(readonly credentials: HttpCredentials) {}

  /** Takes `challenge` as the one to answer from now on; its nonce starts counting anew. */
  accept(challenge: DigestChallenge): void {
    if (challenge.nonce !== this.#challenge?.nonce) this.#uses = 0;
    this.#challenge = challenge;
  }

  /** The answer for the next request, with a fresh cnonce; none before a challenge came. */
  readonly authorize: Authorizer = ({ method, uri }) => {
    if (!this.#challenge) return undefined;
    this.#uses++;
    const cnonce = randomBytes(16).toString("hex");
    return digestAuthorization(this.#challenge, this.credentials, {
      method,
      uri,
      nc: this.#uses,
      cnonce,
    });
  };
}

/** The advice for a refusal whose challenge asks for another scheme than the one configured. */
function schemeAdvice(configured: "basic" | "digest", asked: ("basic" | "digest")[]): string {
  // "HTTP Basic" is never followed by a word: the log would mask it as a credential.
  if (configured === "basic" && asked.length > 0 && !asked.includes("basic")) {
    return " (it asks for HTTP Digest: add --digest)";
  }
  if (configured === "digest" && asked.length > 0 && !asked.includes("digest")) {
    return " (it asks for HTTP Basic: drop --digest)";
  }
  return "";
}

/**
 * Wraps `fetchImpl` so that requests authenticate with `credentials`; their `Authorization`
 * replaces one from `--headers` or `API_ACCESS_TOKEN`, as in the original. A refusal is logged
 * with the remote's message (never the password) and returned to the caller.
 */
export function fetchWithHttpAuth(
  fetchImpl: typeof fetch,
  credentials: HttpCredentials,
  log: Logger,
): typeof fetch {
  const refusals = new RefusalLog(log);
  const digest = credentials.scheme === "digest" ? new DigestAnswers(credentials) : undefined;
  const basic = digest ? undefined : basicAuthorization(credentials);
  const authorize: Authorizer = digest?.authorize ?? (() => basic);
  const hidden = [credentials.password];

  return async (input, init) => {
    const request = describe(input, init);
    const send = () => {
      const headers = new Headers(request.headers);
      const authorization = authorize(request);
      if (authorization) headers.set("Authorization", authorization);
      // A Request's body can be read once: each attempt sends a copy.
      const target = input instanceof Request ? input.clone() : input;
      return fetchImpl(target, { ...init, headers });
    };
    let response = await send();
    // Digest: the first answer may be to an old nonce; after that only stale=true is retried.
    for (let attempt = 1; response.status === 401 && digest && attempt <= 2; attempt++) {
      const challenge = digestChallenge(challengesOf(response));
      if (typeof challenge === "string" || (attempt > 1 && !challenge.stale)) break;
      if (!canResend(init)) break;
      await response.body?.cancel();
      digest.accept(challenge);
      response = await send();
    }
    if (response.status !== 401) {
      refusals.clear();
      return response;
    }
    const asked = passwordSchemes(response);
    const why = digest ? digestChallenge(challengesOf(response)) : undefined;
    const refusal = await readRefusal(response, hidden);
    const advice = schemeAdvice(credentials.scheme, asked) ||
      (asked.includes("digest") && typeof why === "string" ? ` (${why})` : "");
    refusals.report(
      `The remote server refused the username and password${advice}: ${refusal.message}`,
    );
    return refusal.response;
  };
}

/** Whether a request with `init` can be sent again (a stream body is gone once sent). */
function canResend(init: RequestInit | undefined): boolean {
  return !(init?.body instanceof ReadableStream);
}
