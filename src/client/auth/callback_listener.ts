/**
 * The loopback listener that receives the authorization server's redirect (RFC 8252 §7.3):
 * `http://127.0.0.1:PORT/callback?code=…&state=…`.
 * @module
 */
import type { HttpServer, ReceivedRequest, Runtime } from "../../runtime/mod.ts";

/** What the redirect carried on success. */
export interface AuthorizationResponse {
  /** The authorization code, to exchange for tokens. */
  code: string;
  /** RFC 9207 issuer identification, when the server sends it. */
  iss?: string;
}

/** The authorization server redirected with an error, or nobody came back in time. */
export class SignInError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "SignInError";
}

const CALLBACK_PATH = "/callback";

function page(title: string, status = 200): Response {
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title>` +
    `<p>${title}</p><p>You can close this window.</p>`;
  return new Response(html, { status, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

/** A listening callback endpoint. */
export class CallbackListener {
  readonly #server: HttpServer;
  #expectedState?: string;
  #waiter?: PromiseWithResolvers<AuthorizationResponse>;

  private constructor(server: HttpServer) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1:`port`; port 0, or a port already taken when `fallback`, picks a free one. */
  static async start(
    runtime: Runtime,
    port: number,
    fallback: boolean,
  ): Promise<CallbackListener> {
    // The handler needs the listener, which needs the server: bound once both exist.
    const bound: { listener?: CallbackListener } = {};
    const handler = ({ request }: ReceivedRequest) => bound.listener!.#handle(request);
    let server: HttpServer;
    try {
      server = await runtime.serve({ hostname: "127.0.0.1", port, handler });
    } catch (error) {
      if (!fallback || port === 0) throw error;
      server = await runtime.serve({ hostname: "127.0.0.1", port: 0, handler });
    }
    bound.listener = new CallbackListener(server);
    return bound.listener;
  }

  /** The redirect URI to register and send. */
  get redirectUrl(): string {
    return `http://127.0.0.1:${this.#server.port}${CALLBACK_PATH}`;
  }

  /** The port bound. */
  get port(): number {
    return this.#server.port;
  }

  /** Resolves with the next redirect whose `state` is `state`; rejects after `timeoutMs`. */
  waitForRedirect(state: string, timeoutMs: number): Promise<AuthorizationResponse> {
    this.#expectedState = state;
    this.#waiter = Promise.withResolvers();
    const timer = setTimeout(
      () => this.#waiter?.reject(new SignInError(`No sign-in within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    return this.#waiter.promise.finally(() => clearTimeout(timer));
  }

  /** Stops listening; a wait still going on fails. */
  close(): Promise<void> {
    this.#waiter?.reject(new SignInError("Sign-in abandoned"));
    this.#waiter = undefined;
    return this.#server.shutdown();
  }

  #handle(request: Request): Response {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== CALLBACK_PATH) {
      return new Response("Not Found", { status: 404 });
    }
    const params = url.searchParams;
    // A redirect for another attempt (or forged) is refused and the wait goes on.
    if (!this.#waiter || params.get("state") !== this.#expectedState) {
      return page("This sign-in link is not the one mcp-proxy is waiting for.", 400);
    }
    const waiter = this.#waiter;
    this.#waiter = undefined;
    const error = params.get("error");
    const code = params.get("code");
    if (error || !code) {
      // error_description comes from the server and says nothing secret.
      const description = params.get("error_description");
      waiter.reject(
        new SignInError(
          `Authorization refused: ${error ?? "no code"}${description ? ` (${description})` : ""}`,
        ),
      );
      return page("Sign-in failed.", 400);
    }
    waiter.resolve({ code, iss: params.get("iss") ?? undefined });
    return page("Signed in to the MCP server.");
  }
}
