/**
 * The one seam between client mode and OAuth sign-in: a `fetch` wrapper that attaches the
 * stored access token and, when the remote answers 401 (or 403 `insufficient_scope`) with a
 * challenge, signs in or refreshes and sends the request again.
 * @module
 */
import { OAuthSession, type OAuthSignInOptions } from "./session.ts";

export type { OAuthSignInOptions };

function requestHeaders(input: RequestInfo | URL, init: RequestInit | undefined): Headers {
  return new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
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
  return async (input, init) => {
    const headers = requestHeaders(input, init);
    if (headers.has("Authorization")) return fetchImpl(input, init);
    const send = async () => {
      const token = await session.accessToken();
      if (token) headers.set("Authorization", `Bearer ${token}`);
      return { token, response: await fetchImpl(input, { ...init, headers }) };
    };
    const first = await send();
    const stepUp = isStepUp(first.response);
    if (first.response.status !== 401 && !stepUp) return first.response;
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
