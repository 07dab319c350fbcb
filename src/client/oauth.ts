/**
 * OAuth2 client-credentials grant (`--client-id`, `--client-secret`, `--token-url`): the token
 * is fetched once, reused until it expires, and renewed early or after a 401.
 * @module
 */
import type { OAuthClientCredentials } from "../cli/settings.ts";
import type { Logger } from "../log.ts";

/** The token endpoint refused or answered something unusable. */
export class TokenError extends Error {
  override name = "TokenError";
}

/** How long before its expiry a token is renewed: 10 % of its lifetime, at most 30 s. */
function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 10);
}

/** A cached access token from a client-credentials grant. */
export class ClientCredentialsTokens {
  #credentials: OAuthClientCredentials;
  #fetch: typeof fetch;
  #log: Logger;
  #now: () => number;
  #token?: { value: string; renewAt: number };
  // One request at a time: concurrent callers share it instead of each fetching a token.
  #pending?: Promise<string>;

  constructor(
    credentials: OAuthClientCredentials,
    fetchImpl: typeof fetch,
    log: Logger,
    now: () => number = Date.now,
  ) {
    this.#credentials = credentials;
    this.#fetch = fetchImpl;
    this.#log = log;
    this.#now = now;
  }

  /** The current access token, fetching a new one when there is none or it is about to expire. */
  token(): Promise<string> {
    if (this.#token && this.#now() < this.#token.renewAt) return Promise.resolve(this.#token.value);
    this.#pending ??= this.#request().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Forgets `token` (the server refused it) so that the next {@linkcode token} fetches anew. */
  invalidate(token: string): void {
    if (this.#token?.value === token) this.#token = undefined;
  }

  async #request(): Promise<string> {
    const { clientId, clientSecret, tokenUrl } = this.#credentials;
    this.#log.debug(`Requesting an OAuth2 access token from ${tokenUrl}`);
    const response = await this.#fetch(tokenUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
      }),
    });
    // The body may echo credentials: report only the status and the OAuth error code.
    const body = await response.json().catch(() => undefined);
    if (!response.ok) {
      const code = typeof body?.error === "string" ? ` (${body.error})` : "";
      throw new TokenError(`Token endpoint answered HTTP ${response.status}${code}`);
    }
    if (typeof body?.access_token !== "string" || !body.access_token) {
      throw new TokenError("Token endpoint answered without an access_token");
    }
    const lifetimeMs = Number(body.expires_in) * 1000;
    // Without a usable expires_in the token is kept until the server answers 401.
    const renewAt = lifetimeMs > 0
      ? this.#now() + lifetimeMs - renewalMarginMs(lifetimeMs)
      : Number.POSITIVE_INFINITY;
    this.#token = { value: body.access_token, renewAt };
    this.#log.info(
      `Obtained an OAuth2 access token${
        lifetimeMs > 0 ? ` valid for ${lifetimeMs / 1000} s` : ""
      }.`,
    );
    return body.access_token;
  }
}

/**
 * Wraps `fetchImpl` so that every request carries `Authorization: Bearer <token>`; after a 401
 * the token is renewed and the request sent once more.
 */
export function fetchWithBearerToken(
  fetchImpl: typeof fetch,
  tokens: ClientCredentialsTokens,
): typeof fetch {
  const attempt = async (input: RequestInfo | URL, init: RequestInit | undefined) => {
    const token = await tokens.token();
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : {}));
    headers.set("Authorization", `Bearer ${token}`);
    return { token, response: await fetchImpl(input, { ...init, headers }) };
  };
  return async (input, init) => {
    const first = await attempt(input, init);
    if (first.response.status !== 401) return first.response;
    await first.response.body?.cancel();
    tokens.invalidate(first.token);
    return (await attempt(input, init)).response;
  };
}
