/**
 * The one seam between client mode and OAuth sign-in: a `fetch` wrapper that attaches the
 * stored access token and, when the remote answers 401 (or 403 `insufficient_scope`) with a
 * challenge, signs in or refreshes and sends the request again. A 401 that asks for HTTP Basic
 * or Digest authentication is no cue for OAuth: it is reported and returned.
 * @module
 */
import { passwordSchemes, readRefusal, RefusalLog } from "./http_auth.ts";
import { OAuthSession, type OAuthSignInOptions } from "./session.ts";

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
  return async (input, init) => {
    if (hasAuthorization(headersOf(input, init))) return fetchImpl(input, init);
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
      options.log.error(`Sign-in to the remote server failed: ${(error as Error).message}`);
      return first.response;
    }
    await first.response.body?.cancel();
    return (await send()).response;
  };
}
