/**
 * mcp-proxy's `OAuthClientProvider` for the SDK's `auth()`: registrations and tokens
 * in the {@linkcode TokenStore}, per issuer; the redirect to the loopback
 * {@linkcode CallbackListener}; the authorization URL printed and opened in a browser.
 * @module
 */
import type { OAuth } from "../../deps.ts";
import type { AuthorizationResponse, CallbackListener } from "./callback_listener.ts";
import type { RemoteRecord, TokenStore } from "./token_store.ts";

/** A client registered out of band (`--oauth-client-id`, `--oauth-client-secret`). */
export interface StaticClient {
  /** The client ID (`--oauth-client-id`). */
  clientId: string;
  /** Its secret (`--oauth-client-secret`), for a confidential client. */
  clientSecret?: string;
}

/** How the provider registers and asks. */
export interface ProviderOptions {
  /** The key of the remote's record in the store. */
  remoteKey: string;
  /** The token file, where registrations and tokens are saved. */
  store: TokenStore;
  /** The record as last read; the provider keeps it current as it writes. */
  record: RemoteRecord;
  /** The loopback listener the authorization server redirects to. */
  listener: CallbackListener;
  /** A client registered out of band, used instead of dynamic registration. */
  staticClient?: StaticClient;
  /** A client ID metadata document URL (`--oauth-client-metadata-url`). */
  clientMetadataUrl?: string;
  /** Scopes to ask for (`--oauth-scope`); else the server's advertised ones. */
  scope?: string;
  /** Whether to send the RFC 8707 `resource` parameter. */
  resourceIndicator: boolean;
  /** How long to wait for the browser to come back. */
  timeoutMs: number;
  /** Shows the authorization URL to the user and opens it in a browser. */
  presentAuthorizationUrl(url: URL): void;
  /** Discovery state kept between the two `auth()` legs (and across sign-ins of this process). */
  discovery: { state?: OAuth.OAuthDiscoveryState };
}

/** The OAuth client provider for one sign-in or refresh of one remote. */
export class ProxyOAuthProvider implements OAuth.OAuthClientProvider {
  readonly #options: ProviderOptions;
  #codeVerifier?: string;
  #redirect?: Promise<AuthorizationResponse>;
  // The issuer of the last context seen: the one `invalidateCredentials` is about.
  #issuer?: string;
  validateResourceURL?: OAuth.OAuthClientProvider["validateResourceURL"];

  /** A provider with `options`, whose record it keeps current as it writes. */
  constructor(options: ProviderOptions) {
    this.#options = options;
    this.#issuer = options.record.currentIssuer;
    // Without the switch no `resource` parameter is sent, for servers that reject it.
    if (!options.resourceIndicator) this.validateResourceURL = () => Promise.resolve(undefined);
  }

  /** The record as it stands after this provider's writes. */
  get record(): RemoteRecord {
    return this.#options.record;
  }

  get redirectUrl(): string {
    return this.#options.listener.redirectUrl;
  }

  get clientMetadataUrl(): string | undefined {
    return this.#options.clientMetadataUrl;
  }

  get clientMetadata(): OAuth.OAuthClientMetadata {
    return {
      client_name: "mcp-proxy",
      redirect_uris: [this.redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: this.#options.staticClient?.clientSecret
        ? "client_secret_basic"
        : "none",
      ...(this.#options.scope ? { scope: this.#options.scope } : {}),
    };
  }

  state(): string {
    const state = crypto.randomUUID();
    // Listening starts before the browser opens, so a fast redirect is not missed.
    this.#redirect = this.#options.listener.waitForRedirect(state, this.#options.timeoutMs);
    this.#redirect.catch(() => {});
    return state;
  }

  /** The authorization server's redirect after {@linkcode redirectToAuthorization}. */
  authorizationResponse(): Promise<AuthorizationResponse> {
    if (!this.#redirect) throw new Error("No authorization request was made");
    return this.#redirect;
  }

  clientInformation(
    ctx?: OAuth.OAuthClientInformationContext,
  ): OAuth.StoredOAuthClientInformation | undefined {
    const staticClient = this.#options.staticClient;
    if (staticClient) {
      return { client_id: staticClient.clientId, client_secret: staticClient.clientSecret };
    }
    const issuer = this.#issuerOf(ctx);
    const client = issuer ? this.record.issuers[issuer]?.client : undefined;
    // A dynamic registration holds only for the redirect URI it registered: another port means
    // registering again.
    const uris = (client as { redirect_uris?: string[] } | undefined)?.redirect_uris;
    if (client && uris && !uris.includes(this.redirectUrl)) return undefined;
    return client;
  }

  async saveClientInformation(
    client: OAuth.StoredOAuthClientInformation,
    ctx?: OAuth.OAuthClientInformationContext,
  ): Promise<void> {
    if (this.#options.staticClient) return;
    const issuer = this.#issuerOf(ctx) ?? client.issuer;
    if (!issuer) return;
    await this.#update((record) => {
      record.issuers[issuer] = { ...record.issuers[issuer], client };
    });
  }

  tokens(ctx?: OAuth.OAuthClientInformationContext): OAuth.StoredOAuthTokens | undefined {
    const issuer = ctx ? this.#issuerOf(ctx) : this.record.currentIssuer;
    return issuer ? this.record.issuers[issuer]?.tokens : undefined;
  }

  async saveTokens(
    tokens: OAuth.StoredOAuthTokens,
    ctx?: OAuth.OAuthClientInformationContext,
  ): Promise<void> {
    const issuer = this.#issuerOf(ctx) ?? tokens.issuer;
    if (!issuer) return;
    const port = this.#options.listener.port;
    await this.#update((record) => {
      record.issuers[issuer] = { ...record.issuers[issuer], tokens, tokensSavedAt: Date.now() };
      record.currentIssuer = issuer;
      record.callbackPort = port;
    });
  }

  redirectToAuthorization(url: URL): void {
    this.#options.presentAuthorizationUrl(url);
  }

  saveCodeVerifier(codeVerifier: string): void {
    this.#codeVerifier = codeVerifier;
  }

  codeVerifier(): string {
    if (!this.#codeVerifier) throw new Error("No PKCE code verifier was saved");
    return this.#codeVerifier;
  }

  saveDiscoveryState(state: OAuth.OAuthDiscoveryState): void {
    this.#options.discovery.state = state;
  }

  discoveryState(): OAuth.OAuthDiscoveryState | undefined {
    return this.#options.discovery.state;
  }

  async invalidateCredentials(
    scope: "all" | "client" | "tokens" | "verifier" | "discovery",
  ): Promise<void> {
    if (scope === "all" || scope === "verifier") this.#codeVerifier = undefined;
    if (scope === "all" || scope === "discovery") this.#options.discovery.state = undefined;
    const issuer = this.#issuer;
    if (!issuer || scope === "verifier" || scope === "discovery") return;
    await this.#update((record) => {
      const entry = record.issuers[issuer];
      if (!entry) return;
      if (scope === "all" || scope === "client") delete entry.client;
      if (scope === "all" || scope === "tokens") {
        delete entry.tokens;
        delete entry.tokensSavedAt;
      }
    });
  }

  #issuerOf(ctx?: OAuth.OAuthClientInformationContext): string | undefined {
    if (ctx?.issuer) this.#issuer = ctx.issuer;
    return ctx?.issuer ?? this.#issuer;
  }

  async #update(change: (record: RemoteRecord) => void): Promise<void> {
    const options = this.#options;
    options.record = await options.store.update(options.remoteKey, change);
  }
}
