/**
 * What each mode is given to run: the settings the command line builds (src/cli/) and the
 * definitions of the stdio servers to serve. Types and defaults only, so that every layer can
 * read them without depending on the command line.
 * @module
 */
import type { LogLevel } from "./io/log.ts";
import type { HttpLimits } from "./runtime/mod.ts";

/** One stdio MCP server to spawn. */
export interface StdioServerConfig {
  /**
   * Its label in `/status` and in logs, distinct among the servers of a run: `"default"` for
   * the server at the root, else the NAME of `/servers/NAME/` (see {@linkcode distinctNames}).
   */
  name: string;
  /** Executable, used verbatim. */
  command: string;
  /** Its arguments. */
  args: string[];
  /** The child's complete environment. */
  env: Record<string, string>;
  /** Working directory; the proxy's own when absent. */
  cwd?: string;
  /** What its clients may hold; {@linkcode DEFAULT_SERVING_LIMITS} when absent. */
  limits?: ServingLimits;
}

/** Bounds on what the clients of one server may hold (mcp-proxy additions). */
export interface ServingLimits {
  /** Longest a forwarded request waits for its answer, in ms (`--request-timeout`; 0: ever). */
  readonly requestTimeoutMs: number;
  /** Longest a Streamable HTTP session may stay unused, in ms (`--session-timeout`; 0: ever). */
  readonly sessionIdleMs: number;
}

/** Five minutes per request, thirty per idle session. */
export const DEFAULT_SERVING_LIMITS: ServingLimits = {
  requestTimeoutMs: 300_000,
  sessionIdleMs: 1_800_000,
};

/** A stdio server as server mode serves it: what to start and where to mount it. */
export interface ServedServerConfig extends StdioServerConfig {
  /**
   * The URL path prefix it is served under, decided when settings are built: `""` (the root)
   * for the default server, `/servers/NAME` for a named one, whatever NAME is.
   */
  pathPrefix: string;
}

/** Name under which the server given by `command_or_url` is known (in `/status`, in logs). */
export const DEFAULT_SERVER_NAME = "default";

/** How client mode signs in with the authorization-code flow. */
export interface OAuthSignInSettings {
  /** A pre-registered client (`--oauth-client-id`), instead of dynamic registration. */
  clientId?: string;
  /** Its secret (`--oauth-client-secret`), for a confidential client. */
  clientSecret?: string;
  /** A client ID metadata document URL (`--oauth-client-metadata-url`). */
  clientMetadataUrl?: string;
  /** Scopes to ask for, space-separated. */
  scope?: string;
  /** Whether the RFC 8707 `resource` parameter is sent. */
  resourceIndicator: boolean;
  /** A fixed loopback callback port; free when absent. */
  callbackPort?: number;
  /** The token file (`--oauth-token-file`, `MCP_PROXY_OAUTH_FILE`); the default when absent. */
  tokenFile?: string;
  /** Delete the stored tokens for the URL and exit instead of relaying. */
  signOut: boolean;
}

/** OAuth2 client-credentials grant for the remote server. */
export interface OAuthClientCredentials {
  /** `--client-id`. */
  clientId: string;
  /** `--client-secret`. */
  clientSecret: string;
  /** `--token-url`, where tokens are requested. */
  tokenUrl: string;
}

/** HTTP authentication to the remote server with `--username` and `--password`. */
export interface HttpCredentials {
  /** `basic`, or `digest` with `--digest`. */
  scheme: "basic" | "digest";
  /** `--username`. */
  username: string;
  /** `--password`. */
  password: string;
}

/** Client mode: a remote SSE or Streamable HTTP server exposed on stdio. */
export interface ClientSettings {
  /** Which mode: client. */
  mode: "client";
  /** The remote server's URL. */
  url: string;
  /** Remote transport: forced by `--transport`, or `auto` (probed at start-up). */
  transport: "sse" | "streamablehttp" | "auto";
  /** Headers sent with every request, `API_ACCESS_TOKEN` already applied. */
  headers: Record<string, string>;
  /** OAuth2 client credentials, when all three options were given. */
  oauth?: OAuthClientCredentials;
  /** HTTP Basic or Digest credentials, when both were given and `oauth` is not set. */
  httpAuth?: HttpCredentials;
  /** The authorization-code sign-in run when the remote answers 401. */
  signIn: OAuthSignInSettings;
  /** `true` to verify certificates, `false` not to, or a path to a PEM CA bundle. */
  verifySsl: boolean | string;
  /** The lowest level logged. */
  logLevel: LogLevel;
}

/** Server mode: stdio servers exposed over SSE and Streamable HTTP. */
export interface ServerSettings {
  /** Which mode: server. */
  mode: "server";
  /** The server at the root, from `command_or_url`. */
  defaultServer?: ServedServerConfig;
  /** Servers under `/servers/NAME/`. */
  namedServers: ServedServerConfig[];
  /** The interface to listen on. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Streamable HTTP without sessions. */
  stateless: boolean;
  /** CORS origins; empty disables CORS. */
  allowOrigins: string[];
  /** Access-Control-Expose-Headers. */
  exposeHeaders: string[];
  /** Keys required on the MCP endpoints (`--api-key`, `MCP_PROXY_API_KEY`); empty: none. */
  apiKeys: string[];
  /** Largest accepted request body, in bytes. */
  maxBodyBytes: number;
  /** Connection timeouts and cap (`--header-timeout` and the like). */
  httpLimits: HttpLimits;
  /** The lowest level logged. */
  logLevel: LogLevel;
}

/** Everything a run needs. */
export type Settings = ClientSettings | ServerSettings;

/** The default Access-Control-Expose-Headers. */
export const DEFAULT_EXPOSE_HEADERS = ["mcp-session-id"];

/** The default largest request body (the MCP SDK's default): 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
