/**
 * OAuth2 client-credentials grant (`--client-id`, `--client-secret`, `--token-url`): the token
 * is fetched once, reused until it expires, and renewed early or after a 401.
 * @module
 */
import type { OAuthClientCredentials } from "../../config.ts";
import { type Logger, urlForLog } from "../../io/log.ts";

/** The token endpoint refused or answered something unusable. */
export class TokenError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "TokenError";
}

/** How the client authenticates to the token endpoint (RFC 6749 §2.3.1). */
export type ClientAuthMethod = "client_secret_basic" | "client_secret_post";

/** Same-origin redirects a token request follows before giving up. */
const MAX_TOKEN_REDIRECTS = 5;

/** How long before its expiry a token is renewed: 10 % of its lifetime, at most 30 s. */
function renewalMarginMs(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 10);
}

/**
 * The `Authorization` value of `client_secret_basic`: RFC 6749 §2.3.1 form-urlencodes the id and
 * the secret before joining them with `:` and encoding them in Base64, so that either may hold
 * a `:` or non-ASCII text.
 */
export function basicClientAuthorization(clientId: string, clientSecret: string): string {
  const formEncode = (text: string) => new URLSearchParams({ v: text }).toString().slice(2);
  return `Basic ${btoa(`${formEncode(clientId)}:${formEncode(clientSecret)}`)}`;
}

/** What the token endpoint answered: its status and JSON body (if any). */
interface TokenAnswer {
  status: number;
  body: Record<string, unknown> | undefined;
}

/** Whether the endpoint refused the client's authentication (RFC 6749 §5.2 `invalid_client`). */
function refusedClient({ status, body }: TokenAnswer): boolean {
  return status === 401 || (status === 400 && body?.error === "invalid_client");
}

/**
 * A cached access token from a client-credentials grant. The client authenticates with HTTP
 * Basic, as RFC 6749 requires every server to support; a server that refuses it gets the
 * credentials in the form body once, and keeps getting them there if that works.
 */
export class ClientCredentialsTokens {
  #credentials: OAuthClientCredentials;
  #fetch: typeof fetch;
  #log: Logger;
  #now: () => number;
  #method: ClientAuthMethod = "client_secret_basic";
  #token?: { value: string; renewAt: number };
  // One request at a time: concurrent callers share it instead of each fetching a token.
  #pending?: Promise<string>;

  /** Tokens for `credentials`, requested through `fetchImpl`; `now` is the clock (tests set it). */
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
    let answer = await this.#post(this.#method);
    if (this.#method === "client_secret_basic" && refusedClient(answer)) {
      this.#log.debug(
        "Token endpoint refused HTTP Basic client authentication; trying the form body",
      );
      answer = await this.#post("client_secret_post");
      if (answer.status >= 200 && answer.status < 300) this.#method = "client_secret_post";
    }
    return this.#accept(answer);
  }

  /**
   * POSTs the grant, authenticating with `method`. Redirects are followed only to the same
   * origin and only when they keep the method and body (307, 308): anywhere else the client
   * secret would be sent to a server it was not meant for.
   */
  async #post(method: ClientAuthMethod): Promise<TokenAnswer> {
    const { clientId, clientSecret, tokenUrl } = this.#credentials;
    const headers: Record<string, string> = {
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    };
    const form = new URLSearchParams({ grant_type: "client_credentials" });
    if (method === "client_secret_basic") {
      headers.Authorization = basicClientAuthorization(clientId, clientSecret);
    } else {
      form.set("client_id", clientId);
      form.set("client_secret", clientSecret);
    }
    let url = new URL(tokenUrl);
    this.#log.debug(`Requesting an OAuth2 access token from ${urlForLog(url)}`);
    for (let redirects = 0;; redirects++) {
      const response = await this.#fetch(url, {
        method: "POST",
        headers,
        body: form.toString(),
        redirect: "manual",
      });
      if (response.status < 300 || response.status >= 400) {
        // The body may echo credentials: only its fields are used, never the text.
        return { status: response.status, body: await response.json().catch(() => undefined) };
      }
      await response.body?.cancel();
      const location = response.headers.get("location");
      const target = location === null ? undefined : URL.parse(location, url) ?? undefined;
      if (target && target.origin !== url.origin) {
        throw new TokenError(
          `Token endpoint redirected to another origin (${target.origin}); ` +
            "the client credentials are not sent there",
        );
      }
      if (!target || (response.status !== 307 && response.status !== 308)) {
        throw new TokenError(
          `Token endpoint answered HTTP ${response.status}, a redirect a token request cannot follow`,
        );
      }
      if (redirects === MAX_TOKEN_REDIRECTS) {
        throw new TokenError(`Token endpoint redirected more than ${MAX_TOKEN_REDIRECTS} times`);
      }
      url = target;
    }
  }

  /** Keeps the token of a successful answer; throws {@linkcode TokenError} for any other. */
  #accept({ status, body }: TokenAnswer): string {
    if (status < 200 || status >= 300) {
      const code = typeof body?.error === "string" ? ` (${body.error})` : "";
      throw new TokenError(`Token endpoint answered HTTP ${status}${code}`);
    }
    const token = body?.access_token;
    if (typeof token !== "string" || !token) {
      throw new TokenError("Token endpoint answered without an access_token");
    }
    const lifetimeMs = Number(body?.expires_in) * 1000;
    // Without a usable expires_in the token is kept until the server answers 401.
    const renewAt = lifetimeMs > 0
      ? this.#now() + lifetimeMs - renewalMarginMs(lifetimeMs)
      : Number.POSITIVE_INFINITY;
    this.#token = { value: token, renewAt };
    this.#log.info(
      `Obtained an OAuth2 access token${
        lifetimeMs > 0 ? ` valid for ${lifetimeMs / 1000} s` : ""
      } (${this.#method}).`,
    );
    return token;
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
