/**
 * One remote's OAuth sign-in state in this process: the access token requests carry, refreshed
 * before it expires, and the sign-in (or refresh) run when the remote refuses it — at most one
 * at a time in this process, and, through the lock file, across proxies.
 * @module
 */
import { loadClient } from "../../deps.ts";
import type { OAuth } from "../../deps.ts";
import type { Logger } from "../../io/log.ts";
import type { Runtime } from "../../runtime/mod.ts";
import { openBrowser } from "./browser.ts";
import { CallbackListener } from "./callback_listener.ts";
import { ProxyOAuthProvider, type StaticClient } from "./provider.ts";
import { acquireSignInLock } from "./sign_in_lock.ts";
import { type RemoteRecord, TokenStore } from "./token_store.ts";

/** Everything a sign-in needs; see the `--oauth-*` options. */
export interface OAuthSignInOptions {
  /** The remote MCP server's URL (the protected resource). */
  url: string;
  /** The token file. */
  tokenFile: string;
  /** A fixed loopback callback port; else the last one used, or a free one. */
  callbackPort?: number;
  /** A client registered out of band (`--oauth-client-id`), instead of dynamic registration. */
  staticClient?: StaticClient;
  /** A client ID metadata document URL (`--oauth-client-metadata-url`). */
  clientMetadataUrl?: string;
  /** Scopes to ask for (`--oauth-scope`); else the server's advertised ones. */
  scope?: string;
  /** Whether to send the RFC 8707 `resource` parameter. */
  resourceIndicator: boolean;
  /** Serves the loopback callback, prints the authorization URL, opens the browser. */
  runtime: Runtime;
  /** Where the sign-in's progress and warnings go. */
  log: Logger;
  /** How long to wait for the browser to come back; 5 minutes unless given. */
  timeoutMs?: number;
  /**
   * The headers every request carries (`-H`, `API_ACCESS_TOKEN`): named in the advice after a
   * refusal that no sign-in answers, their values kept out of the log.
   */
  headers?: Record<string, string>;
}

/**
 * The remote refused a request without offering OAuth: its refusal names no resource metadata,
 * and neither protected-resource nor authorization-server metadata can be found. It wants other
 * credentials (an API key, a token given with `-H`); signing in cannot help.
 */
export class OAuthNotOffered extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "OAuthNotOffered";
}

/** Whether a discovery error says a metadata document is not one (not JSON, wrong fields). */
function isUnusableMetadata(error: unknown): boolean {
  return error instanceof SyntaxError ||
    /^\$?ZodError$/.test((error as Error | undefined)?.name ?? "");
}

/** What a remote's refusal said. */
export interface Challenge {
  /** The access token the remote refused, if one was sent. */
  rejectedToken?: string;
  /** The refusal itself, for its `WWW-Authenticate` header. */
  response: Response;
  /** A 403 `insufficient_scope`: a new authorization for more scopes, not a refresh. */
  stepUp: boolean;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

/** The store key of a remote: its URL without query or fragment, which may hold secrets. */
export function remoteKey(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** The lock file for signing in to `key`, next to the token file. */
async function lockPath(tokenFile: string, key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  const hex = [...new Uint8Array(digest).slice(0, 8)]
    .map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${tokenFile}.${hex}.lock`;
}

/** Whether the current tokens are due for renewal: within 10 % of their lifetime (≤ 30 s). */
function isExpiring(record: RemoteRecord, now: number): boolean {
  const entry = record.currentIssuer ? record.issuers[record.currentIssuer] : undefined;
  const lifetimeMs = Number(entry?.tokens?.expires_in) * 1000;
  if (!entry?.tokensSavedAt || !(lifetimeMs > 0)) return false;
  return now >= entry.tokensSavedAt + lifetimeMs - Math.min(30_000, lifetimeMs / 10);
}

function currentTokens(record: RemoteRecord) {
  return record.currentIssuer ? record.issuers[record.currentIssuer]?.tokens : undefined;
}

/** One remote's OAuth state in this process. */
export class OAuthSession {
  readonly #options: OAuthSignInOptions;
  readonly #fetch: typeof fetch;
  readonly #store: TokenStore;
  readonly #key: string;
  readonly #discovery: { state?: OAuth.OAuthDiscoveryState } = {};
  #record?: RemoteRecord;
  #pending?: Promise<void>;
  /** Set once discovery found no OAuth at the remote: later refusals are not probed again. */
  #oauthNotOffered?: OAuthNotOffered;

  /** A session for `options.url`; `fetchImpl` makes its OAuth requests. */
  constructor(fetchImpl: typeof fetch, options: OAuthSignInOptions) {
    this.#options = options;
    this.#fetch = fetchImpl;
    this.#store = new TokenStore(options.tokenFile);
    this.#key = remoteKey(options.url);
  }

  /** The access token to send, renewed first when it is about to expire; none before a sign-in. */
  async accessToken(): Promise<string | undefined> {
    this.#record ??= await this.#store.read(this.#key);
    const tokens = currentTokens(this.#record);
    if (tokens?.refresh_token && isExpiring(this.#record, Date.now())) {
      await this.authorize({ rejectedToken: tokens.access_token });
    }
    return currentTokens(this.#record!)?.access_token;
  }

  /**
   * Makes sure a token other than the refused one is at hand: another proxy's, a refreshed one,
   * or one from a new sign-in. Concurrent callers share one run. Rejects with
   * {@linkcode OAuthNotOffered} when a first refusal shows that the remote does not use OAuth.
   */
  authorize(challenge: Partial<Challenge>): Promise<void> {
    this.#pending ??= this.#authorize(challenge).finally(() => this.#pending = undefined);
    return this.#pending;
  }

  async #authorize(challenge: Partial<Challenge>): Promise<void> {
    // A refusal of no token of ours, outside a step-up: the remote may not use OAuth at all.
    // Found out before the lock, so that such a remote gets no lock file and no registration;
    // a client registered out of band (--oauth-client-id) says that it does.
    const firstRefusal = challenge.response !== undefined && !challenge.rejectedToken &&
      !challenge.stepUp && !this.#options.staticClient;
    if (firstRefusal) await this.#discoverOAuth(challenge.response!);
    await this.#authorizeLocked(challenge, firstRefusal);
  }

  /**
   * Discovers how the remote that sent `refusal` signs in (RFC 9728, then RFC 8414 or OpenID
   * at the remote's origin) and keeps it for the sign-in; throws {@linkcode OAuthNotOffered}
   * when the refusal names no resource metadata and no metadata is found. Network errors and
   * server errors propagate: metadata may be there once the remote recovers.
   */
  async #discoverOAuth(refusal: Response): Promise<void> {
    if (this.#oauthNotOffered) throw this.#oauthNotOffered;
    const sdk = await loadClient();
    const { resourceMetadataUrl } = sdk.extractWWWAuthenticateParams(refusal);
    let found: Awaited<ReturnType<typeof sdk.discoverOAuthServerInfo>> | undefined;
    try {
      found = await sdk.discoverOAuthServerInfo(this.#options.url, {
        resourceMetadataUrl,
        fetchFn: this.#fetch,
      });
    } catch (error) {
      if (!isUnusableMetadata(error)) throw error;
    }
    if (resourceMetadataUrl || found?.resourceMetadata || found?.authorizationServerMetadata) {
      this.#discovery.state = found && {
        authorizationServerUrl: String(found.authorizationServerUrl),
        resourceMetadataUrl: resourceMetadataUrl?.href,
        resourceMetadata: found.resourceMetadata,
        authorizationServerMetadata: found.authorizationServerMetadata,
      };
      return;
    }
    this.#oauthNotOffered = new OAuthNotOffered(
      "the remote server offers no OAuth sign-in (no resource_metadata in its refusal, no " +
        "OAuth metadata under /.well-known/)",
    );
    throw this.#oauthNotOffered;
  }

  async #authorizeLocked(challenge: Partial<Challenge>, discovered: boolean): Promise<void> {
    const { log } = this.#options;
    const lock = await acquireSignInLock(
      await lockPath(this.#options.tokenFile, this.#key),
      () => log.info("Another mcp-proxy is signing in to this server; waiting for it."),
    );
    try {
      this.#record = await this.#store.read(this.#key);
      const tokens = currentTokens(this.#record);
      // Another proxy signed in or refreshed while this one waited: use its tokens.
      if (
        !challenge.stepUp && tokens && tokens.access_token !== challenge.rejectedToken &&
        !isExpiring(this.#record, Date.now())
      ) {
        log.debug("Using the tokens another mcp-proxy stored.");
        return;
      }
      await this.#runAuth(challenge, discovered);
    } finally {
      await lock.release();
    }
  }

  /** Signs in or refreshes; `discovered`: the discovery state was just found for this refusal. */
  async #runAuth(challenge: Partial<Challenge>, discovered: boolean): Promise<void> {
    const { log, runtime } = this.#options;
    const sdk = await loadClient();
    const { resourceMetadataUrl, scope } = challenge.response
      ? sdk.extractWWWAuthenticateParams(challenge.response)
      : {};
    // A refusal may mean the server moved to another authorization server: discover afresh.
    if (challenge.response && !discovered) this.#discovery.state = undefined;
    const explicitPort = this.#options.callbackPort;
    const listener = await CallbackListener.start(
      runtime,
      explicitPort ?? this.#record?.callbackPort ?? 0,
      explicitPort === undefined,
    );
    try {
      const provider = new ProxyOAuthProvider({
        remoteKey: this.#key,
        store: this.#store,
        record: this.#record ?? { issuers: {} },
        listener,
        staticClient: this.#options.staticClient,
        clientMetadataUrl: this.#options.clientMetadataUrl,
        scope: this.#options.scope,
        resourceIndicator: this.#options.resourceIndicator,
        timeoutMs: this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
        presentAuthorizationUrl: (url) => this.#presentAuthorizationUrl(url),
        discovery: this.#discovery,
      });
      const common = { serverUrl: this.#options.url, fetchFn: this.#fetch };
      // A step-up keeps what was granted: the new authorization asks for both (SEP-2350).
      const granted = challenge.stepUp && this.#record
        ? currentTokens(this.#record)?.scope
        : undefined;
      const result = await sdk.auth(provider, {
        ...common,
        resourceMetadataUrl,
        scope: sdk.computeScopeUnion(granted, scope ?? this.#options.scope),
        forceReauthorization: challenge.stepUp,
      });
      if (result === "REDIRECT") {
        const { code, iss } = await provider.authorizationResponse();
        log.debug("Authorization code received; exchanging it for tokens.");
        await sdk.auth(provider, { ...common, authorizationCode: code, iss });
        log.info(`Signed in to ${this.#key}.`);
      } else {
        log.info(`Access token for ${this.#key} renewed.`);
      }
      this.#record = provider.record;
    } finally {
      await listener.close();
    }
  }

  #presentAuthorizationUrl(url: URL): void {
    const { runtime, log } = this.#options;
    // Printed at every log level: on a machine without a browser it is the only way in.
    runtime.writeStderr(
      `Sign in to ${this.#key} by opening this URL in a browser: ${url.href}\n`,
    );
    openBrowser(runtime, url.href, runtime.platform).then((opened) => {
      if (opened) log.debug("Browser opened for the sign-in.");
      else {
        log.warning(
          "No browser could be opened; open the URL above yourself. Waiting for the sign-in.",
        );
      }
    });
  }
}
