/**
 * The option table and help text of the command line, defined exactly as the Python mcp-proxy
 * 0.13.0 defines them (same names, defaults, help lines and examples), plus mcp-proxy's own
 * options, each marked as not in the original.
 * @module
 */
import { type ArgumentParser, BooleanOptionalAction, RawTextHelpFormatter } from "../deps.ts";
import { LOG_LEVELS } from "../io/log.ts";

/** The line under the usage in `--help`, the original's. */
const DESCRIPTION = "Start the MCP proxy in one of two possible modes: as a client or a server.";

/** The original's examples (mcp-proxy 0.13.0), line for line. */
const EPILOG = `Examples:
  mcp-proxy http://localhost:8080/sse
  mcp-proxy --no-verify-ssl https://server.local/sse
  mcp-proxy --transport streamablehttp http://localhost:8080/mcp
  mcp-proxy --transport streamablehttp --username user --password pass https://server.local/mcp
  mcp-proxy --headers Authorization 'Bearer YOUR_TOKEN' http://localhost:8080/sse
  mcp-proxy --port 8080 -- your-command --arg1 value1 --arg2 value2
  mcp-proxy --named-server fetch 'uvx mcp-server-fetch' --port 8080
  mcp-proxy your-command --port 8080 -e KEY VALUE -e ANOTHER_KEY ANOTHER_VALUE
  mcp-proxy your-command --port 8080 --allow-origin='*'
`;

/**
 * Names an argparse type as its errors show it ("invalid int value: 'x'"): argparse reads the
 * function's `name`, which a bundler may change to keep names unique (`int` became `int2`).
 */
function argparseType<T>(name: string, convert: (text: string) => T): (text: string) => T {
  return Object.defineProperty(convert, "name", { value: name });
}

/**
 * Python's `int` as an argparse type, so that errors read "invalid int value: 'x'" as Python's do
 * (the port's built-in "int" type reads "invalid 'int' value").
 */
const int = argparseType("int", (text: string): number => {
  if (!/^[+-]?\d+(?:_\d+)*$/.test(text.trim())) {
    throw new TypeError(`invalid literal for int() with base 10: '${text}'`);
  }
  return Number(text.trim().replaceAll("_", ""));
});

/** A number of seconds as an argparse type, named as Python's `float` for errors. */
const float = argparseType("float", (text: string): number => {
  const value = Number(text.trim());
  if (text.trim() === "" || !Number.isFinite(value)) {
    throw new TypeError(`could not convert string to float: '${text}'`);
  }
  return value;
});

/** The parser's name and the text around the options in `--help`, as the original's. */
export const HELP_LAYOUT = {
  prog: "mcp-proxy",
  description: DESCRIPTION,
  epilog: EPILOG,
  formatter_class: RawTextHelpFormatter,
};

/** The `--oauth-*` options: additions of mcp-proxy, not in the original. */
function addOAuthSignInOptions(parser: ArgumentParser): void {
  const oauth = parser.add_argument_group({
    title: "OAuth sign-in options (mcp-proxy additions)",
    description: "When the remote answers 401, client mode signs in with OAuth 2.1 " +
      "(authorization code + PKCE) in a browser, or prints the URL to open.",
  });
  oauth.add_argument("--oauth-client-id", {
    metavar: "ID",
    help: "Use this pre-registered client instead of dynamic registration.",
  });
  oauth.add_argument("--oauth-client-secret", {
    metavar: "SECRET",
    help: "The secret of --oauth-client-id, for a confidential client.",
  });
  oauth.add_argument("--oauth-client-metadata-url", {
    metavar: "URL",
    help: "An HTTPS client ID metadata document to use as client_id where supported.",
  });
  oauth.add_argument("--oauth-scope", {
    metavar: "SCOPES",
    help: "Space-separated scopes to ask for. Default: those the server advertises.",
  });
  oauth.add_argument("--oauth-resource", {
    action: BooleanOptionalAction,
    default: true,
    help: "Send the RFC 8707 resource parameter (turn off for servers that reject it). " +
      "Default is on.",
  });
  oauth.add_argument("--oauth-callback-port", {
    type: int,
    metavar: "PORT",
    help: "Fixed port of the 127.0.0.1 callback listener, for clients whose redirect URI is " +
      "registered with a port. Default is a free port.",
  });
  oauth.add_argument("--oauth-token-file", {
    metavar: "PATH",
    help: "Where tokens and client registrations are kept (mode 0600). Also read from " +
      "MCP_PROXY_OAUTH_FILE. Default is mcp-proxy/oauth.json in the user's config directory.",
  });
  oauth.add_argument("--oauth-sign-out", {
    action: "store_true",
    help: "Delete the stored tokens and registrations for the URL, then exit.",
  });
}

/**
 * Adds every option to `parser`: `version` is what `--version` prints after the name, and
 * `defaultCommandOrUrl` the default of `command_or_url`.
 */
export function addOptions(
  parser: ArgumentParser,
  version: string,
  defaultCommandOrUrl: string | undefined,
): void {
  parser.add_argument("--version", {
    action: "version",
    version: `%(prog)s ${version}`,
    help: "Show the version and exit",
  });
  parser.add_argument("command_or_url", {
    help: "Command or URL to connect to. When a URL, will run an SSE/StreamableHTTP client. " +
      "Otherwise, if --named-server is not used, this will be the command " +
      "for the default stdio client. If --named-server is used, this argument " +
      "is ignored for stdio mode unless no default server is desired. " +
      "See corresponding options for more details.",
    nargs: "?",
    default: defaultCommandOrUrl,
  });

  const client = parser.add_argument_group({ title: "SSE/StreamableHTTP client options" });
  client.add_argument("-H", "--headers", {
    nargs: 2,
    action: "append",
    metavar: ["KEY", "VALUE"],
    help: "Headers to pass to the SSE server. Can be used multiple times.",
    default: [],
  });
  // No default: without the flag the remote's transport is detected. (The original's help says
  // "Default is SSE", which its detection made untrue.)
  client.add_argument("--transport", {
    choices: ["sse", "streamablehttp"],
    help: "The transport to use for the client. Default: detected from the server; " +
      "sse or streamablehttp force one.",
  });
  client.add_argument("--client-id", { help: "OAuth2 client ID for authentication" });
  client.add_argument("--client-secret", { help: "OAuth2 client secret for authentication" });
  client.add_argument("--token-url", { help: "OAuth2 token URL for authentication" });
  client.add_argument("--username", { help: "Username for authentication" });
  client.add_argument("--password", { help: "Password for authentication" });
  client.add_argument("--digest", { action: "store_true", help: "Use digest authentication" });
  client.add_argument("--verify-ssl", {
    nargs: "?",
    const: true,
    default: undefined,
    metavar: "VALUE",
    dest: "verify_ssl",
    help: "Control SSL verification when acting as a client. Use without a value to " +
      "force verification, pass 'false' to disable, or provide a path to a PEM bundle.",
  });
  client.add_argument("--no-verify-ssl", {
    dest: "verify_ssl",
    action: "store_const",
    const: false,
    help: "Disable SSL verification (alias for --verify-ssl false).",
  });
  client.add_argument("--metrics-port", {
    type: int,
    metavar: "PORT",
    help: "Serve Prometheus metrics of the relayed calls at http://127.0.0.1:PORT/metrics. " +
      "Default: none. (Not in the original.)",
  });

  addOAuthSignInOptions(parser);

  const stdio = parser.add_argument_group({ title: "stdio client options" });
  stdio.add_argument("args", {
    nargs: "*",
    help: "Any extra arguments to the command to spawn the default server. " +
      "Ignored if only named servers are defined.",
  });
  stdio.add_argument("-e", "--env", {
    nargs: 2,
    action: "append",
    metavar: ["KEY", "VALUE"],
    // The original says named servers inherit the environment; they get the safe set.
    help: "Environment variables used when spawning the default server. Can be " +
      "used multiple times. Every server gets only a safe set of the proxy's " +
      "variables (such as HOME and PATH) unless --pass-environment is given; " +
      "named servers take their own from a config file's env.",
    default: [],
  });
  stdio.add_argument("--cwd", {
    help: "The working directory to use when spawning the default server process. " +
      "Named servers inherit the proxy's CWD.",
  });
  stdio.add_argument("--pass-environment", {
    action: BooleanOptionalAction,
    help: "Pass through all environment variables when spawning all server processes.",
    default: false,
  });
  stdio.add_argument("--log-level", {
    default: "INFO",
    metavar: "LEVEL",
    choices: [...LOG_LEVELS],
    help: "Set the log level. Default is INFO.",
  });
  stdio.add_argument("--log-format", {
    default: "text",
    choices: ["text", "json"],
    help: "Log lines as text, or as one JSON object each. Default is text. " +
      "(Not in the original.)",
  });
  stdio.add_argument("--debug", {
    action: BooleanOptionalAction,
    help: "Enable debug mode with detailed logging output. Equivalent to --log-level DEBUG. " +
      "If both --debug and --log-level are provided, --debug takes precedence.",
    default: false,
  });
  stdio.add_argument("--named-server", {
    action: "append",
    nargs: 2,
    metavar: ["NAME", "COMMAND_STRING"],
    help: "Define a named stdio server. NAME is for the URL path /servers/NAME/. " +
      "COMMAND_STRING is a single string with the command and its arguments " +
      "(e.g., 'uvx mcp-server-fetch --timeout 10'). " +
      "These servers inherit the proxy's CWD and environment from --pass-environment.",
    default: [],
    dest: "named_server_definitions",
  });
  stdio.add_argument("--named-server-config", {
    metavar: "FILE_PATH",
    help: "Path to a JSON configuration file for named stdio servers. " +
      "If provided, this will be the exclusive source for named server definitions, " +
      "and any --named-server CLI arguments will be ignored.",
  });
  stdio.add_argument("--watch-config", {
    action: BooleanOptionalAction,
    default: false,
    help: "Re-read --named-server-config when the file changes, as on SIGHUP: added servers " +
      "start, removed ones stop, changed ones restart. Default is False. (Not in the original.)",
  });
  stdio.add_argument("--aggregate", {
    action: BooleanOptionalAction,
    default: false,
    help: "Serve every named server as one MCP server at /mcp and /sse, tool and prompt " +
      "names prefixed with the server's name and '__'. The config file's \"aggregate\" key " +
      "chooses servers and separator. Default is False. (Not in the original.)",
  });

  const server = parser.add_argument_group({ title: "SSE server options" });
  // --port and --host default to "not given" so that the deprecated --sse-port and
  // --sse-host can stand in for them; settings apply the documented defaults.
  server.add_argument("--port", {
    type: int,
    help: "Port to expose an SSE server on. Default is a random port",
  });
  server.add_argument("--host", { help: "Host to expose an SSE server on. Default is 127.0.0.1" });
  server.add_argument("--stateless", {
    action: BooleanOptionalAction,
    help: "Enable stateless mode for streamable http transports. Default is False",
    default: false,
  });
  server.add_argument("--sse-port", { type: int, help: "(deprecated) Same as --port" });
  server.add_argument("--sse-host", { help: "(deprecated) Same as --host" });
  server.add_argument("--allow-origin", {
    nargs: "+",
    action: "extend",
    default: [],
    help: "Allowed origins for the SSE server. Can be used multiple times. " +
      "Default is no CORS allowed.",
  });
  server.add_argument("--expose-header", {
    action: "append",
    dest: "expose_headers",
    metavar: "HEADER",
    help: "Headers to expose via Access-Control-Expose-Headers. " +
      "Defaults to 'Mcp-Session-Id'. Can be used multiple times.",
  });
  server.add_argument("--api-key", {
    action: "append",
    dest: "api_keys",
    metavar: "KEY",
    default: [],
    help: "Require this key on /sse, /messages/ and /mcp, as 'Authorization: Bearer KEY' " +
      "or 'X-API-Key: KEY'. Can be used multiple times. Also read from MCP_PROXY_API_KEY.",
  });
  server.add_argument("--max-body-size", {
    type: int,
    metavar: "BYTES",
    help: "Largest accepted request body; larger ones get 413. Default is 4194304 (4 MiB).",
  });
  // Not in the original: limits against clients that open connections and stall.
  server.add_argument("--header-timeout", {
    type: float,
    metavar: "SECONDS",
    default: 30,
    help: "Close a connection whose request headers are not complete after this long. " +
      "Default is 30. (Not in the original.)",
  });
  server.add_argument("--body-timeout", {
    type: float,
    metavar: "SECONDS",
    default: 60,
    help: "Close a connection whose request body is not complete this long after its " +
      "headers. Default is 60. (Not in the original.)",
  });
  server.add_argument("--keep-alive-timeout", {
    type: float,
    metavar: "SECONDS",
    default: 30,
    help: "Close a connection idle this long between requests. Default is 30. " +
      "(Not in the original.)",
  });
  server.add_argument("--max-connections", {
    type: int,
    metavar: "N",
    default: 4096,
    help: "Most connections open at once; more get 503 and are closed. Default is 4096. " +
      "(Not in the original.)",
  });
  server.add_argument("--request-timeout", {
    type: int,
    metavar: "SECONDS",
    help: "Longest a request waits for its server's answer; then the client gets an error " +
      "and the server a cancellation. 0 for no limit. Default is 300. (Not in the original.)",
  });
  server.add_argument("--session-timeout", {
    type: int,
    metavar: "SECONDS",
    help: "End a Streamable HTTP session unused for this long and free its state. 0 for " +
      "never. Default is 1800. (Not in the original.)",
  });
  server.add_argument("--instance-id", {
    metavar: "ID",
    help: "This instance's id among several behind a load balancer (letters, digits and " +
      "'-'; or MCP_PROXY_INSTANCE_ID): session ids, SSE endpoint URLs and request states " +
      "name it. Default: none. (Not in the original.)",
  });
  server.add_argument("--peer-url", {
    metavar: "TEMPLATE",
    help: "Where the other instances are, '{instance}' standing for an instance id (e.g. " +
      "http://{instance}.mcp-proxy:8080): a request for another instance's session is " +
      "forwarded there. Needs --instance-id. (Not in the original.)",
  });
  server.add_argument("--state-key-file", {
    metavar: "PATH",
    help: "A file holding the key that seals request states, shared by every instance (or " +
      "the key itself in MCP_PROXY_STATE_KEY). Default: a random key per process. " +
      "(Not in the original.)",
  });
  server.add_argument("--drain-timeout", {
    type: float,
    metavar: "SECONDS",
    default: 0,
    help: "On SIGTERM, refuse new sessions and calls with 503 and serve the open ones for up " +
      "to this long before stopping. Default is 0. (Not in the original.)",
  });
  server.add_argument("--metrics", {
    action: BooleanOptionalAction,
    default: false,
    help: "Serve Prometheus metrics at /metrics (behind --api-key when one is set). Default " +
      "is False. (Not in the original.)",
  });
  server.add_argument("--call-log", {
    action: BooleanOptionalAction,
    default: true,
    help: "Log one line per relayed call at INFO: server, method, name, client, duration and " +
      "outcome, never arguments or results. Default is True. (Not in the original.)",
  });
}
