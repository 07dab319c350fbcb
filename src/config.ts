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

/**
 * Which names pass: those matching some `allow` glob (every name when `allow` is absent) and
 * no `deny` glob. In a glob `*` stands for any run of characters and `?` for one; nothing
 * else is special.
 */
export interface NameFilter {
  /** Globs of the names kept; absent: all. */
  readonly allow?: readonly string[];
  /** Globs of the names dropped, even if allowed. */
  readonly deny?: readonly string[];
}

/**
 * What a server shows its clients (mcp-proxy addition). A tool, prompt or resource filtered
 * out is absent from every list and unknown to calls, on every endpoint that serves it.
 */
export interface ServerFilters {
  /** Tools, by name. */
  readonly tools?: NameFilter;
  /** Prompts, by name. */
  readonly prompts?: NameFilter;
  /** Resources by URI, and resource templates by URI template. */
  readonly resources?: NameFilter;
  /** Keep only the tools whose annotations say `readOnlyHint: true`. */
  readonly readOnly?: boolean;
}

/**
 * Which clients share one child (mcp-proxy addition): all of them (`shared`), each legacy
 * session its own (`session`), or each distinct value of one request header (`header`).
 */
export type Isolation =
  | { readonly kind: "shared" }
  | { readonly kind: "session" }
  | { readonly kind: "header"; /** The header's name, lower case. */ readonly header: string };

/** How a server with a child per user runs those children. */
export interface IsolationSettings {
  /** Who shares a child; never `shared` here. */
  readonly isolation: Exclude<Isolation, { kind: "shared" }>;
  /** Most children at once; a client past it gets 503. */
  readonly maxChildren: number;
  /** A child without clients for this long is stopped, in ms (0: only when its last session ends). */
  readonly idleTimeoutMs: number;
  /**
   * Request headers (names lower case) whose values become the child's environment
   * variables (the values): one user's credential reaches that user's child only.
   */
  readonly headerEnv: Readonly<Record<string, string>>;
}

/** Default most children per isolated server. */
export const DEFAULT_MAX_CHILDREN = 100;

/** Default idle time of an isolated child: ten minutes. */
export const DEFAULT_CHILD_IDLE_MS = 600_000;

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
  /** What it shows its clients; everything when absent. */
  filters?: ServerFilters;
  /** A child per user; one child shared by every client when absent. */
  isolation?: IsolationSettings;
  /**
   * What its tool and prompt names start with in the aggregate (then the separator): its
   * name, made a valid tool name, unless the config file sets `prefix`.
   */
  prefix: string;
}

/**
 * Many named servers served as one MCP server at `/mcp` and `/sse` (mcp-proxy addition):
 * their tools and prompts named `PREFIX` + separator + name, resources routed by who listed them.
 */
export interface AggregateSettings {
  /** The names of its servers, in order (the first configured wins a resource URI listed twice). */
  readonly servers: readonly string[];
  /** Between a server's prefix and a tool or prompt name. */
  readonly separator: string;
}

/** The default separator of the aggregate's names: allowed in tool names by every client. */
export const DEFAULT_AGGREGATE_SEPARATOR = "__";

/** Where server mode re-reads its named servers from, on SIGHUP or when the file changes. */
export interface ConfigSource {
  /** The config file's path, for logs and for watching. */
  readonly path: string;
  /** Whether changes to the file are picked up without SIGHUP (`--watch-config`). */
  readonly watch: boolean;
  /**
   * Reads the file again: its named servers and aggregate, built as at start-up. Rejects
   * (having logged why) when the file cannot be used, and then nothing changes.
   */
  load(): Promise<ServedConfiguration>;
}

/** What the config file gives server mode: the named servers and how they are aggregated. */
export interface ServedConfiguration {
  /** Servers under `/servers/NAME/`. */
  readonly namedServers: readonly ServedServerConfig[];
  /** The aggregate at `/mcp` and `/sse`, when asked for. */
  readonly aggregate?: AggregateSettings;
}

/** The URL path prefix of the named server NAME: `/servers/NAME`. */
export function namedServerPathPrefix(name: string): string {
  return `/servers/${name}`;
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
  /** Where `/metrics` is served on 127.0.0.1 (`--metrics-port`); none when absent. */
  metricsPort?: number;
}

/** Server mode: stdio servers exposed over SSE and Streamable HTTP. */
export interface ServerSettings {
  /** Which mode: server. */
  mode: "server";
  /** The server at the root, from `command_or_url`. */
  defaultServer?: ServedServerConfig;
  /** Servers under `/servers/NAME/`. */
  namedServers: ServedServerConfig[];
  /** The aggregate of named servers at `/mcp` and `/sse` (`--aggregate` or the config file). */
  aggregate?: AggregateSettings;
  /** The config file, when named servers came from one: SIGHUP re-reads it. */
  configSource?: ConfigSource;
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
  /** Running as one of several instances behind a load balancer; absent: alone. */
  scaleOut?: ScaleOutSettings;
  /** How long open sessions are served after SIGTERM, while new ones get 503, in ms (0: none). */
  drainTimeoutMs: number;
  /** Whether `/metrics` serves Prometheus metrics (`--metrics`). */
  metrics: boolean;
  /** Whether each relayed call is logged at INFO (`--call-log`). */
  callLog: boolean;
}

/** One instance of several behind a load balancer (`--instance-id` and what goes with it). */
export interface ScaleOutSettings {
  /** This instance's id: letters, digits and `-`. */
  readonly instanceId: string;
  /** Where another instance is, `{instance}` standing for its id; absent: no forwarding. */
  readonly peerUrl?: string;
  /** The key that seals request states, shared by every instance; absent: a random one. */
  readonly stateKey?: string;
}

/** Everything a run needs. */
export type Settings = ClientSettings | ServerSettings;

/** The default Access-Control-Expose-Headers. */
export const DEFAULT_EXPOSE_HEADERS = ["mcp-session-id"];

/** The default largest request body (the MCP SDK's default): 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
