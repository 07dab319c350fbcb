/**
 * Turns parsed arguments into one typed {@linkcode Settings} value: client mode or server
 * mode, with every rule of the original's command line applied (which options each mode takes,
 * their defaults, the environment variables it reads).
 * @module
 */
import { type Logger, type LogLevel, maskCommandLine } from "../io/log.ts";
import type { HttpLimits } from "../runtime/mod.ts";
import { baseEnvironment } from "./child_environment.ts";
import { ConfigFileError, parseServerConfigFile } from "./config_file.ts";
import { OAuthOptionsError, oauthSignInSettings } from "./oauth_settings.ts";
import type { ParsedArgs } from "./parser.ts";
import {
  type ClientSettings,
  type ConfigSource,
  DEFAULT_AGGREGATE_SEPARATOR,
  DEFAULT_EXPOSE_HEADERS,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_SERVER_NAME,
  DEFAULT_SERVING_LIMITS,
  type HttpCredentials,
  namedServerPathPrefix,
  type OAuthSignInSettings,
  type ServedConfiguration,
  type ServedServerConfig,
  type ServerSettings,
  type ServingLimits,
  type Settings,
} from "../config.ts";
import { distinctNames, isValidServerName, SERVER_NAME_RULE } from "./server_config.ts";
import { ShellWordsError, splitShellWords } from "../io/shell_words.ts";
import { checkAggregatePrefixes, defaultPrefix, GatewayConfigError } from "./gateway_config.ts";
import { drainTimeoutMs, scaleOut } from "./scale_out.ts";
import { type SettingsContext, SettingsError } from "./settings_error.ts";

export { type SettingsContext, SettingsError };

/** Whether `value` selects client mode (case-sensitive, as in the original). */
export function isUrl(value: string): boolean {
  return value.startsWith("http://") || value.startsWith("https://");
}

/** Interprets `--verify-ssl VALUE`: booleans by word, anything else is a CA bundle path. */
export function normalizeVerifySsl(value: string | boolean | null | undefined): boolean | string {
  if (value === null || value === undefined) return true;
  if (typeof value === "boolean") return value;
  const word = value.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(word)) return true;
  if (["0", "false", "no", "off"].includes(word)) return false;
  return value;
}

/** Effective log level: `--debug` wins over `--log-level`. */
export function effectiveLogLevel(args: ParsedArgs): LogLevel {
  return args.debug ? "DEBUG" : args.log_level;
}

function clientSettings(args: ParsedArgs, url: string, ctx: SettingsContext): ClientSettings {
  if (args.named_server_definitions.length > 0) {
    ctx.log.warning(
      "--named-server arguments are ignored when command_or_url is an HTTP/HTTPS URL " +
        "(SSE/StreamableHTTP client mode).",
    );
  }
  if (args.named_server_config) {
    ctx.log.warning(
      "--named-server-config is ignored when command_or_url is an HTTP/HTTPS URL " +
        "(SSE/StreamableHTTP client mode).",
    );
  }
  if (args.args.length > 0) {
    ctx.log.warning(
      `Extra arguments after the URL are ignored in client mode: ${
        maskCommandLine(args.args.join(" "))
      }`,
    );
  }
  const headers: Record<string, string> = Object.fromEntries(args.headers);
  const token = ctx.env.API_ACCESS_TOKEN;
  if (token) {
    for (const name of Object.keys(headers)) {
      if (name.toLowerCase() === "authorization") delete headers[name];
    }
    headers.Authorization = `Bearer ${token}`;
  }
  const { client_id: clientId, client_secret: clientSecret, token_url: tokenUrl } = args;
  const oauth = clientId && clientSecret && tokenUrl
    ? { clientId, clientSecret, tokenUrl }
    : undefined;
  const httpAuth = oauth ? undefined : httpCredentials(args);
  if (!oauth && (clientId || clientSecret || tokenUrl)) {
    ctx.log.warning(
      "OAuth2 needs all of --client-id, --client-secret and --token-url; the ones given are ignored.",
    );
  }
  let signIn: OAuthSignInSettings;
  try {
    signIn = oauthSignInSettings(args, ctx.env);
  } catch (error) {
    if (!(error instanceof OAuthOptionsError)) throw error;
    throw new SettingsError(error.message, 2);
  }
  return {
    mode: "client",
    url,
    transport: args.transport ?? "auto",
    headers,
    oauth,
    httpAuth,
    signIn,
    verifySsl: normalizeVerifySsl(args.verify_ssl),
    logLevel: effectiveLogLevel(args),
    metricsPort: metricsPort(args),
  };
}

/** `--metrics-port`: a port to bind, when given. */
function metricsPort(args: ParsedArgs): number | undefined {
  const port = args.metrics_port ?? undefined;
  if (port !== undefined && !(port >= 1 && port <= 65535)) {
    throw new SettingsError("--metrics-port must be a port number, 1 to 65535.", 2);
  }
  return port;
}

/**
 * `--username`, `--password` and `--digest`, as the original reads them: both values must be
 * non-empty, and any one of the three alone is an error (exit 1).
 */
function httpCredentials(args: ParsedArgs): HttpCredentials | undefined {
  const { username, password, digest } = args;
  if (username && password) return { scheme: digest ? "digest" : "basic", username, password };
  if (username || password || digest) {
    throw new SettingsError("Both --username and --password are required");
  }
  return undefined;
}

function namedServersFromCli(args: ParsedArgs, baseEnv: Record<string, string>, log: Logger) {
  const servers = new Map<string, ServedServerConfig>();
  for (const [name, commandString] of args.named_server_definitions) {
    if (!isValidServerName(name)) {
      throw new SettingsError(`Invalid name for named server '${name}': ${SERVER_NAME_RULE}.`);
    }
    let words: string[];
    try {
      words = splitShellWords(commandString);
    } catch (error) {
      if (!(error instanceof ShellWordsError)) throw error;
      throw new SettingsError(
        `Error parsing COMMAND_STRING for named server '${name}': ${error.message}: ${commandString}`,
      );
    }
    if (words.length === 0) {
      log.error(`Empty COMMAND_STRING for named server '${name}'. Skipping.`);
      continue;
    }
    // A repeated NAME: the later definition wins.
    servers.delete(name);
    servers.set(name, {
      name,
      pathPrefix: namedServerPathPrefix(name),
      command: words[0],
      args: words.slice(1),
      env: { ...baseEnv },
      prefix: defaultPrefix(name),
    });
    log.info(`Configured named server '${name}': ${maskCommandLine(commandString)}`);
  }
  return [...servers.values()];
}

async function namedServersFromFile(
  path: string,
  baseEnv: Record<string, string>,
  ctx: SettingsContext,
): Promise<ServedConfiguration> {
  const failed = new SettingsError(`Failed to load server configurations from ${path}. Exiting.`);
  ctx.log.info(`Loading named server configurations from: ${path}`);
  let text: string;
  try {
    text = await ctx.readTextFile(path);
  } catch (error) {
    ctx.log.error(
      error instanceof Error && error.name === "NotFound"
        ? `Configuration file not found: ${path}`
        : `Could not read configuration file ${path}: ${(error as Error).message}`,
    );
    throw failed;
  }
  try {
    return parseServerConfigFile(text, path, baseEnv, ctx.log);
  } catch (error) {
    if (error instanceof ConfigFileError) throw failed;
    throw error;
  }
}

/** The keys from `--api-key` and `MCP_PROXY_API_KEY`; an empty `--api-key` is an error. */
function apiKeys(args: ParsedArgs, env: Record<string, string>): string[] {
  if (args.api_keys.some((key) => key.trim() === "")) {
    throw new SettingsError("--api-key needs a non-empty KEY.", 2);
  }
  const fromEnv = env.MCP_PROXY_API_KEY?.trim();
  return [...args.api_keys, ...(fromEnv ? [fromEnv] : [])];
}

function maxBodyBytes(args: ParsedArgs): number {
  const bytes = args.max_body_size ?? DEFAULT_MAX_BODY_BYTES;
  if (bytes < 1) throw new SettingsError("--max-body-size must be at least 1 byte.", 2);
  return bytes;
}

/** The connection limits, all of which must be positive. */
function httpLimits(args: ParsedArgs): HttpLimits {
  const checked = (flag: string, value: number) => {
    if (!(value > 0)) throw new SettingsError(`${flag} must be greater than 0.`, 2);
    return value;
  };
  return {
    headersTimeoutMs: checked("--header-timeout", args.header_timeout) * 1000,
    bodyTimeoutMs: checked("--body-timeout", args.body_timeout) * 1000,
    keepAliveTimeoutMs: checked("--keep-alive-timeout", args.keep_alive_timeout) * 1000,
    maxConnections: checked("--max-connections", args.max_connections),
  };
}

/** `--request-timeout` and `--session-timeout`, in ms (0: no limit). */
function servingLimits(args: ParsedArgs): ServingLimits {
  const ms = (seconds: number | null | undefined, flag: string, fallback: number) => {
    if (seconds == null) return fallback;
    if (seconds < 0) throw new SettingsError(`${flag} must be 0 or more seconds.`, 2);
    return seconds * 1000;
  };
  const defaults = DEFAULT_SERVING_LIMITS;
  return {
    requestTimeoutMs: ms(args.request_timeout, "--request-timeout", defaults.requestTimeoutMs),
    sessionIdleMs: ms(args.session_timeout, "--session-timeout", defaults.sessionIdleMs),
  };
}

async function serverSettings(args: ParsedArgs, ctx: SettingsContext): Promise<ServerSettings> {
  const limits = servingLimits(args);
  const baseEnv = baseEnvironment(ctx.env, ctx.os, args.pass_environment);
  let defaultServer: ServedServerConfig | undefined;
  if (args.command_or_url) {
    defaultServer = {
      name: DEFAULT_SERVER_NAME,
      pathPrefix: "",
      command: args.command_or_url,
      args: args.args,
      env: { ...baseEnv, ...Object.fromEntries(args.env) },
      cwd: args.cwd || undefined,
      limits,
      prefix: defaultPrefix(DEFAULT_SERVER_NAME),
    };
    ctx.log.info(
      `Configured default server: ${
        maskCommandLine([args.command_or_url, ...args.args].join(" "))
      }`,
    );
  } else if (args.args.length > 0) {
    ctx.log.warning("Extra arguments are ignored without a default server command.");
  }

  if (args.watch_config && !args.named_server_config) {
    throw new SettingsError("--watch-config needs --named-server-config FILE_PATH.", 2);
  }
  // As the file gives them, and again on every reload: the same limits, names and checks.
  const served = (configuration: ServedConfiguration): ServedConfiguration => {
    const namedServers = distinctNames(defaultServer, [...configuration.namedServers]).map(
      (server) => ({ ...server, limits }),
    );
    const aggregate = configuration.aggregate ??
      (args.aggregate
        ? { servers: namedServers.map((s) => s.name), separator: DEFAULT_AGGREGATE_SEPARATOR }
        : undefined);
    if (!aggregate) return { namedServers };
    if (defaultServer) {
      throw new SettingsError(
        "The aggregate of named servers is served at /mcp and /sse, where the server given " +
          "by command_or_url would be; give that server with --named-server (or in the " +
          "config file) instead.",
        2,
      );
    }
    try {
      checkAggregatePrefixes(aggregate, namedServers);
    } catch (error) {
      if (error instanceof GatewayConfigError) throw new SettingsError(`${error.message}.`, 2);
      throw error;
    }
    return { namedServers, aggregate };
  };

  let configuration: ServedConfiguration;
  let configSource: ConfigSource | undefined;
  const configPath = args.named_server_config;
  if (configPath) {
    if (args.named_server_definitions.length > 0) {
      ctx.log.warning(
        "--named-server CLI arguments are ignored when --named-server-config is provided.",
      );
    }
    configuration = served(await namedServersFromFile(configPath, baseEnv, ctx));
    configSource = {
      path: configPath,
      watch: args.watch_config,
      load: async () => served(await namedServersFromFile(configPath, baseEnv, ctx)),
    };
  } else {
    configuration = served({ namedServers: namedServersFromCli(args, baseEnv, ctx.log) });
  }

  if (!defaultServer && configuration.namedServers.length === 0) {
    throw new SettingsError(
      "No stdio servers configured. Provide a default command or use --named-server.",
      1,
      true,
    );
  }
  return {
    mode: "server",
    defaultServer,
    namedServers: [...configuration.namedServers],
    aggregate: configuration.aggregate,
    configSource,
    host: args.host ?? args.sse_host ?? "127.0.0.1",
    port: args.port ?? args.sse_port ?? 0,
    stateless: args.stateless,
    allowOrigins: args.allow_origin,
    exposeHeaders: args.expose_headers?.length ? args.expose_headers : [...DEFAULT_EXPOSE_HEADERS],
    apiKeys: apiKeys(args, ctx.env),
    maxBodyBytes: maxBodyBytes(args),
    httpLimits: httpLimits(args),
    logLevel: effectiveLogLevel(args),
    scaleOut: await scaleOut(args, ctx),
    drainTimeoutMs: drainTimeoutMs(args),
    metrics: args.metrics,
    callLog: args.call_log,
  };
}

/** Builds the settings for a run, logging warnings; throws {@linkcode SettingsError} to stop. */
export async function buildSettings(args: ParsedArgs, ctx: SettingsContext): Promise<Settings> {
  if (
    !args.command_or_url && args.named_server_definitions.length === 0 && !args.named_server_config
  ) {
    throw new SettingsError(
      "Either a command_or_url for a default server or at least one --named-server " +
        "(or --named-server-config) must be provided for stdio mode.",
      1,
      true,
    );
  }
  if (args.command_or_url && isUrl(args.command_or_url)) {
    return clientSettings(args, args.command_or_url, ctx);
  }
  return await serverSettings(args, ctx);
}
