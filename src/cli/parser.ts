/**
 * Parses the command line as the Python mcp-proxy 0.13.0 does, on `npm:argparse@3`, a faithful
 * port of Python's argparse: its options are in `options.ts`; here argparse's output and exits
 * are collected instead of reaching the process.
 * @module
 */
import { ArgumentParser } from "../deps.ts";
import type { LogLevel } from "../io/log.ts";
import { addOptions, HELP_LAYOUT } from "./options.ts";

/** The parsed arguments, with argparse's destination names. */
export interface ParsedArgs {
  /** `command_or_url`: the remote URL, or the default server's executable. */
  command_or_url: string | null | undefined;
  /** `args`: the default server's arguments. */
  args: string[];
  /** `-H/--headers KEY VALUE` pairs. */
  headers: [string, string][];
  /** `--transport`; `undefined` (not given) means: find out what the remote speaks. */
  transport: "sse" | "streamablehttp" | undefined;
  /** `--client-id`. */
  client_id: string | null | undefined;
  /** `--client-secret`. */
  client_secret: string | null | undefined;
  /** `--token-url`. */
  token_url: string | null | undefined;
  /** `--username`, for HTTP Basic or Digest authentication to the remote. */
  username: string | null | undefined;
  /** `--password`, with `--username`. */
  password: string | null | undefined;
  /** `--digest`: HTTP Digest instead of Basic. */
  digest: boolean;
  /** `--verify-ssl [VALUE]` / `--no-verify-ssl`, as given. */
  verify_ssl: string | boolean | null | undefined;
  /** `-e/--env KEY VALUE` pairs. */
  env: [string, string][];
  /** `--cwd`. */
  cwd: string | null | undefined;
  /** `--pass-environment`. */
  pass_environment: boolean;
  /** `--log-level`. */
  log_level: LogLevel;
  /** `--debug`. */
  debug: boolean;
  /** `--named-server NAME COMMAND_STRING` pairs. */
  named_server_definitions: [string, string][];
  /** `--named-server-config`. */
  named_server_config: string | null | undefined;
  /** `--watch-config`: re-read the config file when it changes. */
  watch_config: boolean;
  /** `--aggregate`: serve every named server as one at `/mcp` and `/sse`. */
  aggregate: boolean;
  /** `--port`, when given. */
  port: number | null | undefined;
  /** `--host`, when given. */
  host: string | null | undefined;
  /** `--stateless`. */
  stateless: boolean;
  /** `--sse-port` (deprecated), when given. */
  sse_port: number | null | undefined;
  /** `--sse-host` (deprecated), when given. */
  sse_host: string | null | undefined;
  /** `--allow-origin`, every value of every use. */
  allow_origin: string[];
  /** `--expose-header`, when given. */
  expose_headers: string[] | null | undefined;
  /** `--api-key`, every use. */
  api_keys: string[];
  /** `--max-body-size`, when given. */
  max_body_size: number | null | undefined;
  /** `--request-timeout` in seconds, when given. */
  request_timeout: number | null | undefined;
  /** `--session-timeout` in seconds, when given. */
  session_timeout: number | null | undefined;
  /** `--instance-id`, when given. */
  instance_id: string | null | undefined;
  /** `--peer-url`, when given. */
  peer_url: string | null | undefined;
  /** `--state-key-file`, when given. */
  state_key_file: string | null | undefined;
  /** `--drain-timeout`, seconds. */
  drain_timeout: number;
  /** `--metrics`. */
  metrics: boolean;
  /** `--call-log`. */
  call_log: boolean;
  /** `--log-format`. */
  log_format: "text" | "json";
  /** `--metrics-port` (client mode), when given. */
  metrics_port: number | null | undefined;
  /** `--oauth-client-id`: a client registered out of band. */
  oauth_client_id: string | null | undefined;
  /** `--oauth-client-secret`, with `--oauth-client-id`. */
  oauth_client_secret: string | null | undefined;
  /** `--oauth-client-metadata-url`: the client ID metadata document. */
  oauth_client_metadata_url: string | null | undefined;
  /** `--oauth-scope`. */
  oauth_scope: string | null | undefined;
  /** `--oauth-resource` / `--no-oauth-resource`: send the resource indicator. */
  oauth_resource: boolean;
  /** `--oauth-callback-port`, when given. */
  oauth_callback_port: number | null | undefined;
  /** `--oauth-token-file`, when given. */
  oauth_token_file: string | null | undefined;
  /** `--oauth-sign-out`. */
  oauth_sign_out: boolean;
  /** `--header-timeout`, in seconds. */
  header_timeout: number;
  /** `--body-timeout`, in seconds. */
  body_timeout: number;
  /** `--keep-alive-timeout`, in seconds. */
  keep_alive_timeout: number;
  /** `--max-connections`. */
  max_connections: number;
}

/** What parsing produced: arguments to run with, or output to print and an exit code. */
export type ParseOutcome =
  | {
    kind: "args";
    args: ParsedArgs;
    /** The help text, formatted when asked for (it takes a few ms at every start otherwise). */
    help(): string;
  }
  | { kind: "exit"; code: number; stdout: string; stderr: string };

/** Options that depend on the environment the parser runs in. */
export interface ParserOptions {
  /** The version printed by `--version`. */
  version: string;
  /** Whether help may use ANSI colour. */
  color: boolean;
  /** Default of `command_or_url` (the deprecated `SSE_URL` variable). */
  defaultCommandOrUrl?: string;
}

/** Signals argparse's wish to exit, carrying what it printed; thrown instead of exiting. */
class ParserExit extends Error {
  constructor(readonly code: number) {
    super(`argparse exit ${code}`);
  }
}

/**
 * An ArgumentParser that collects its output and throws instead of ending the process.
 * argparse writes to stderr only from `error`, `exit` and `_warning`, overridden here with its
 * own words; everything else it prints (help, usage, version) is for stdout.
 */
class CollectingParser extends ArgumentParser {
  stdout = "";
  stderr = "";

  // Not in the type declarations, but the hook every other argparse message goes through.
  _print_message(message: string): void {
    this.stdout += message;
  }

  // Not in the type declarations either: the warning for a deprecated option.
  _warning(message: string): void {
    this.stderr += `${this.prog}: warning: ${message}\n`;
  }

  override error(message: string): never {
    this.stderr += this.format_usage();
    this.exit(2, `${this.prog}: error: ${message}\n`);
  }

  override exit(status = 0, message?: string): never {
    if (message) this.stderr += message;
    throw new ParserExit(status);
  }
}

function createParser(options: ParserOptions): CollectingParser {
  const parser = new CollectingParser({ ...HELP_LAYOUT, color: options.color });
  addOptions(parser, options.version, options.defaultCommandOrUrl);
  return parser;
}

/** Parses `argv`; never exits the process. */
export function parseCommandLine(argv: string[], options: ParserOptions): ParseOutcome {
  const parser = createParser(options);
  try {
    const args = parser.parse_args(argv) as ParsedArgs;
    return { kind: "args", args, help: () => parser.format_help() };
  } catch (error) {
    if (!(error instanceof ParserExit)) throw error;
    return { kind: "exit", code: error.code, stdout: parser.stdout, stderr: parser.stderr };
  }
}
