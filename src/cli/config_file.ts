/**
 * Reads named servers from a Claude-Desktop-style JSON file (`--named-server-config`; the README's
 * "Named-server config file" shows the format).
 * @module
 */
import { isObject } from "../protocol/jsonrpc.ts";
import { jsonErrorOffset, positionOf } from "./json_error.ts";
import { type Logger, maskCommandLine } from "../io/log.ts";
import {
  namedServerPathPrefix,
  type ServedConfiguration,
  type ServedServerConfig,
} from "../config.ts";
import { isValidServerName, SERVER_NAME_RULE } from "./server_config.ts";
import {
  aggregateKey,
  checkAggregatePrefixes,
  GatewayConfigError,
  gatewayKeys,
} from "./gateway_config.ts";

/** Thrown when the file as a whole cannot be used; its cause has already been logged. */
export class ConfigFileError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "ConfigFileError";
}

/**
 * A JSON syntax error told by line and column, whichever runtime parsed it: `JSON.parse`'s
 * own words, without the position V8 adds (an offset from the start).
 */
function syntaxError(text: string, error: Error): string {
  const offset = jsonErrorOffset(text);
  // V8 quotes the text around the mistake, which may hold a server's token: leave it out.
  const words = error.message
    .replace(/ in JSON at position \d+.*$/s, "")
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/^JSON Parse error: /, "");
  if (offset === undefined) return words;
  const { line, column } = positionOf(text, offset);
  return `line ${line}, column ${column}: ${words}`;
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((v) => typeof v === "string");
}

/**
 * Parses the text of a config file into server definitions and their aggregate. Entries that
 * cannot be used are logged and skipped, as in the original; a file that cannot be used at
 * all, or whose gateway keys (filters, isolation, aggregate) have a mistake, throws
 * {@linkcode ConfigFileError}.
 */
export function parseServerConfigFile(
  text: string,
  path: string,
  baseEnv: Record<string, string>,
  log: Logger,
): ServedConfiguration {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    const reason = text.trim() === "" ? "the file is empty" : syntaxError(text, error as Error);
    log.error(`Error decoding JSON from configuration file: ${path} (${reason})`);
    throw new ConfigFileError(reason);
  }
  if (!isObject(data) || !("mcpServers" in data)) {
    const message = `Invalid config file format in ${path}. Missing 'mcpServers' key.`;
    log.error(message);
    throw new ConfigFileError(message);
  }
  if (!isObject(data.mcpServers)) {
    const message = `Invalid config file format in ${path}. 'mcpServers' must be an object.`;
    log.error(message);
    throw new ConfigFileError(message);
  }

  const servers: ServedServerConfig[] = [];
  for (const [name, entry] of Object.entries(data.mcpServers)) {
    const skip = (why: string) =>
      log.warning(`Named server '${name}' from config ${why}. Skipping.`);
    if (!isObject(entry)) {
      log.warning(
        `Skipping invalid server config for '${name}' in ${path}. Entry is not a dictionary.`,
      );
      continue;
    }
    if (entry.enabled === false) {
      skip("is not enabled");
      continue;
    }
    if (entry.disabled === true) {
      skip("is disabled");
      continue;
    }
    const { command, args = [], env = {}, cwd } = entry;
    if (!command) skip("is missing 'command'");
    else if (typeof command !== "string") skip("has invalid 'command' (must be a string)");
    else if (!Array.isArray(args) || !args.every((a) => typeof a === "string")) {
      skip("has invalid 'args' (must be a list)");
    } else if (!isStringRecord(env)) skip("has invalid 'env' (must be an object of strings)");
    else if (cwd !== undefined && typeof cwd !== "string") {
      skip("has invalid 'cwd' (must be a string)");
    } else if (!isValidServerName(name)) skip(`has an invalid name (${SERVER_NAME_RULE})`);
    else {
      servers.push({
        name,
        pathPrefix: namedServerPathPrefix(name),
        command,
        args,
        env: { ...baseEnv, ...env },
        cwd,
        ...gatewayOf(name, entry, path, log),
      });
      log.info(
        `Configured named server '${name}' from config: ${
          maskCommandLine([command, ...args].join(" "))
        }`,
      );
    }
  }
  const aggregate = gatewayCheck(path, log, () => {
    const settings = aggregateKey(data.aggregate, servers.map((server) => server.name));
    if (settings) checkAggregatePrefixes(settings, servers);
    return settings;
  });
  return { namedServers: servers, aggregate };
}

/** The gateway keys of one entry; a mistake in them makes the whole file unusable. */
function gatewayOf(name: string, entry: Record<string, unknown>, path: string, log: Logger) {
  return gatewayCheck(path, log, () => gatewayKeys(name, entry));
}

/** Runs `read`, turning a {@linkcode GatewayConfigError} into a logged {@linkcode ConfigFileError}. */
function gatewayCheck<T>(path: string, log: Logger, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof GatewayConfigError)) throw error;
    const message = `Invalid config file ${path}: ${error.message}.`;
    log.error(message);
    throw new ConfigFileError(message);
  }
}
