/**
 * The one seam between client mode and OAuth sign-in: a `fetch` wrapper that attaches the
 * stored access token and, when the remote answers 401 (or 403 `insufficient_scope`) with a
 * challenge, signs in or refreshes and sends the request again. A 401 that asks for HTTP Basic
 * or Digest authentication, or from a remote that offers no OAuth metadata, is no cue for a
 * sign-in: it is reported, with the remote's own message, and returned.
 * @module
 */
import { passwordSchemes, readRefusal, RefusalLog } from "./http_auth.ts";
import { OAuthNotOffered, OAuthSession, type OAuthSignInOptions } from "./session.ts";

export type { OAuthSignInOptions };

function headersOf(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
): HeadersInit | undefined {
  return init?.headers ?? (input instanceof Request ? input.headers : undefined);
}

function hasAuthorization(headers: HeadersInit | undefined): boolean {
  if (headers === undefined) return false;
  return (headers instanceof Headers ? headers : new Headers(headers)).has("Authorization");
}

/** Where credentials for a remote without OAuth go, as examples. */
export const HEADER_EXAMPLES = "e.g. -H Authorization 'Bearer …' or -H X-API-Key …";

/**
 * What to do about a 401 that no sign-in answers: check the `Authorization` the request carried,
 * or the headers given with `-H`, or give some.
 */
function credentialsAdvice(sentAuthorization: boolean, given: string[]): string {
  if (sentAuthorization) {
    return "it refused the Authorization header sent (from -H Authorization or " +
      "API_ACCESS_TOKEN); check its value";
  }
  if (given.length > 0) {
    return `it wants credentials other than the headers given (-H ${given.join(", -H ")}); ` +
      `check their values, or pass what it asks for with -H (${HEADER_EXAMPLES})`;
  }
  return `it wants credentials this proxy was not given; pass them with -H (${HEADER_EXAMPLES})`;
}

/** Whether `response` asks for more scopes (RFC 6750 §3.1 `insufficient_scope`). */
function isStepUp(response: Response): boolean {
  return response.status === 403 &&
    /error="?insufficient_scope/i.test(response.headers.get("WWW-Authenticate") ?? "");
}

/**
 * Wraps `fetchImpl` for the remote at `options.url`. Requests that already carry an
 * `Authorization` header (`--headers`, `API_ACCESS_TOKEN`) pass through untouched. A failed
 * sign-in is logged and the refusal returned as it came.
 */
export function fetchWithOAuthSignIn(
  fetchImpl: typeof fetch,
  options: OAuthSignInOptions,
): typeof fetch {
  const session = new OAuthSession(fetchImpl, options);
  const refusals = new RefusalLog(options.log);
  const given = Object.entries(options.headers ?? {});
  const givenNames = given.map(([name]) => name);
  // Header values are credentials more often than not: a remote may echo them in its message.
  const hidden = given.map(([, value]) => value).filter((value) => value.length >= 4);
  /** Logs a refusal that no sign-in answers and hands it on. */
  const reportRefusal = async (response: Response, sentAuthorization: boolean) => {
    const refusal = await readRefusal(response, hidden);
    refusals.report(
      `The remote server refused the request (${refusal.message}): ` +
        credentialsAdvice(sentAuthorization, givenNames),
    );
    return refusal.response;
  };
  return async (input, init) => {
    if (hasAuthorization(headersOf(input, init))) {
      const response = await fetchImpl(input, init);
      if (response.status === 401) return reportRefusal(response, true);
      refusals.clear();
      return response;
    }
    const send = async () => {
      const token = await session.accessToken();
      // Without a token the request goes as it is: no copy of its headers on every call.
      if (!token) return { token, response: await fetchImpl(input, init) };
      const headers = new Headers(headersOf(input, init));
      headers.set("Authorization", `Bearer ${token}`);
      return { token, response: await fetchImpl(input, { ...init, headers }) };
    };
    const first = await send();
    const stepUp = isStepUp(first.response);
    if (first.response.status !== 401 && !stepUp) {
      refusals.clear();
      return first.response;
    }
    const asked = passwordSchemes(first.response);
    if (!stepUp && asked.length > 0) {
      const refusal = await readRefusal(first.response);
      // "HTTP Basic" is never followed by a word: the log would mask it as a credential.
      refusals.report(
        asked.includes("basic")
          ? "The remote server asks for a username and password (HTTP Basic; give --username " +
            `and --password): ${refusal.message}`
          : "The remote server asks for a username and password (HTTP Digest; give --username, " +
            `--password and --digest): ${refusal.message}`,
      );
      return refusal.response;
    }
    try {
      await session.authorize({ rejectedToken: first.token, response: first.response, stepUp });
    } catch (error) {
      if (error instanceof OAuthNotOffered) return reportRefusal(first.response, false);
      options.log.error(`Sign-in to the remote server failed: ${(error as Error).message}`);
      return first.response;
    }
    await first.response.body?.cancel();
    return (await send()).response;
  };
}
