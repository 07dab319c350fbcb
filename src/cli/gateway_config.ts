/**
 * The gateway keys of the named-server config file (mcp-proxy additions beside the original's
 * `command`, `args`, `env`, `cwd`, `enabled` and `disabled`): per server `prefix`, `tools`,
 * `prompts`, `resources`, `readOnly`, `isolation`, `maxChildren`, `idleTimeout` and
 * `headerEnv`; at the top `aggregate`. A mistake in any of them stops the start (or a reload)
 * with a message naming the server and the key, since serving a server without the filter or
 * the isolation its file asks for would show clients what they must not see.
 * @module
 */
import { isObject } from "../protocol/jsonrpc.ts";
import {
  type AggregateSettings,
  DEFAULT_AGGREGATE_SEPARATOR,
  DEFAULT_CHILD_IDLE_MS,
  DEFAULT_MAX_CHILDREN,
  type IsolationSettings,
  type NameFilter,
  type ServedServerConfig,
  type ServerFilters,
} from "../config.ts";

/** A gateway key with a value that cannot be used: the message says which and why. */
export class GatewayConfigError extends Error {
  /** The error's name, as `Error` subclasses set it. */
  override name = "GatewayConfigError";
}

/** Characters a tool name may hold under the 2026-07-28 rules (and every client's). */
const TOOL_NAME_CHARACTERS = /^[A-Za-z0-9_.-]+$/;

/** The longest prefix: a tool name is at most 128 characters, and the tool needs some. */
const MAX_PREFIX_LENGTH = 64;

/** An HTTP header name (an RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A portable environment variable name. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The aggregate prefix a server gets by default: its name with what tool names forbid as `_`. */
export function defaultPrefix(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, MAX_PREFIX_LENGTH);
}

function stringList(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new GatewayConfigError(`${where} must be a list of strings`);
  }
  return value;
}

function nameFilter(value: unknown, where: string): NameFilter | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    throw new GatewayConfigError(`${where} must be an object with "allow" and/or "deny" lists`);
  }
  for (const key of Object.keys(value)) {
    if (key !== "allow" && key !== "deny") {
      throw new GatewayConfigError(`${where} has an unknown key "${key}" (allow, deny)`);
    }
  }
  return {
    allow: value.allow === undefined ? undefined : stringList(value.allow, `${where}.allow`),
    deny: value.deny === undefined ? undefined : stringList(value.deny, `${where}.deny`),
  };
}

function filters(entry: Record<string, unknown>, where: string): ServerFilters | undefined {
  const tools = nameFilter(entry.tools, `${where}: "tools"`);
  const prompts = nameFilter(entry.prompts, `${where}: "prompts"`);
  const resources = nameFilter(entry.resources, `${where}: "resources"`);
  if (entry.readOnly !== undefined && typeof entry.readOnly !== "boolean") {
    throw new GatewayConfigError(`${where}: "readOnly" must be true or false`);
  }
  const readOnly = entry.readOnly === true;
  if (!tools && !prompts && !resources && !readOnly) return undefined;
  return { tools, prompts, resources, readOnly };
}

function positiveInteger(value: unknown, where: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new GatewayConfigError(`${where} must be a whole number of at least 1`);
  }
  return value;
}

function isolation(entry: Record<string, unknown>, where: string): IsolationSettings | undefined {
  const { isolation: mode = "shared", maxChildren, idleTimeout, headerEnv } = entry;
  if (typeof mode !== "string") {
    throw new GatewayConfigError(
      `${where}: "isolation" must be "shared", "session" or "header:NAME"`,
    );
  }
  let kind: IsolationSettings["isolation"] | undefined;
  if (mode === "session") kind = { kind: "session" };
  else if (mode.startsWith("header:")) {
    const header = mode.slice("header:".length).trim();
    if (!HEADER_NAME.test(header)) {
      throw new GatewayConfigError(`${where}: "isolation" names an invalid header "${header}"`);
    }
    kind = { kind: "header", header: header.toLowerCase() };
  } else if (mode !== "shared") {
    throw new GatewayConfigError(
      `${where}: "isolation" is "${mode}"; it must be "shared", "session" or "header:NAME"`,
    );
  }
  if (!kind) {
    for (const [key, value] of Object.entries({ maxChildren, idleTimeout, headerEnv })) {
      if (value === undefined) continue;
      throw new GatewayConfigError(
        `${where}: "${key}" needs "isolation": "session" or "header:NAME" (with one shared ` +
          "child, " + (key === "headerEnv"
            ? "one user's header would reach every user's calls)"
            : "there is only one child to limit)"),
      );
    }
    return undefined;
  }
  if (idleTimeout !== undefined && (typeof idleTimeout !== "number" || !(idleTimeout >= 0))) {
    throw new GatewayConfigError(`${where}: "idleTimeout" must be 0 or more seconds`);
  }
  const env: Record<string, string> = {};
  if (headerEnv !== undefined) {
    if (!isObject(headerEnv)) {
      throw new GatewayConfigError(`${where}: "headerEnv" must map header names to variable names`);
    }
    for (const [header, variable] of Object.entries(headerEnv)) {
      if (!HEADER_NAME.test(header)) {
        throw new GatewayConfigError(`${where}: "headerEnv" names an invalid header "${header}"`);
      }
      if (typeof variable !== "string" || !ENV_NAME.test(variable)) {
        throw new GatewayConfigError(
          `${where}: "headerEnv" maps ${header} to an invalid variable name (letters, digits, _)`,
        );
      }
      env[header.toLowerCase()] = variable;
    }
  }
  return {
    isolation: kind,
    maxChildren: maxChildren === undefined
      ? DEFAULT_MAX_CHILDREN
      : positiveInteger(maxChildren, `${where}: "maxChildren"`),
    idleTimeoutMs: idleTimeout === undefined ? DEFAULT_CHILD_IDLE_MS : idleTimeout * 1000,
    headerEnv: env,
  };
}

function prefix(entry: Record<string, unknown>, name: string, where: string): string {
  if (entry.prefix === undefined) return defaultPrefix(name);
  const value = entry.prefix;
  if (
    typeof value !== "string" || value.length > MAX_PREFIX_LENGTH ||
    !TOOL_NAME_CHARACTERS.test(value)
  ) {
    throw new GatewayConfigError(
      `${where}: "prefix" must be 1 to ${MAX_PREFIX_LENGTH} letters, digits, '_', '-' or '.'`,
    );
  }
  return value;
}

/** The gateway settings of the config file's server `name`, from its `entry`. */
export function gatewayKeys(
  name: string,
  entry: Record<string, unknown>,
): Pick<ServedServerConfig, "filters" | "isolation" | "prefix"> {
  const where = `Named server '${name}'`;
  const keys: Pick<ServedServerConfig, "filters" | "isolation" | "prefix"> = {
    prefix: prefix(entry, name, where),
  };
  const filtered = filters(entry, where);
  if (filtered) keys.filters = filtered;
  const isolated = isolation(entry, where);
  if (isolated) keys.isolation = isolated;
  return keys;
}

/**
 * The aggregate the file's top-level `aggregate` asks for: `true` (every server, in file
 * order), or `{ "servers": [...], "separator": "__" }`; `undefined` when absent or `false`.
 */
export function aggregateKey(
  value: unknown,
  names: readonly string[],
): AggregateSettings | undefined {
  if (value === undefined || value === false) return undefined;
  if (value === true) return { servers: names, separator: DEFAULT_AGGREGATE_SEPARATOR };
  if (!isObject(value)) {
    throw new GatewayConfigError(
      '"aggregate" must be true, false or an object with "servers" and "separator"',
    );
  }
  const servers = value.servers === undefined
    ? names
    : stringList(value.servers, '"aggregate.servers"');
  for (const server of servers) {
    if (!names.includes(server)) {
      throw new GatewayConfigError(
        `"aggregate.servers" names '${server}', which is not an enabled server of the file`,
      );
    }
  }
  const separator = value.separator ?? DEFAULT_AGGREGATE_SEPARATOR;
  if (typeof separator !== "string" || separator === "" || !TOOL_NAME_CHARACTERS.test(separator)) {
    throw new GatewayConfigError(
      "\"aggregate.separator\" must be letters, digits, '_', '-' or '.' (tool-name characters)",
    );
  }
  return { servers: [...new Set(servers)], separator };
}

/**
 * Refuses an aggregate in which one name could belong to two servers: two prefixes alike, or
 * one prefix and separator starting another's (`a` + `__` against `a__b` + `__`).
 */
export function checkAggregatePrefixes(
  aggregate: AggregateSettings,
  servers: readonly ServedServerConfig[],
): void {
  const members = aggregate.servers.map((name) => servers.find((s) => s.name === name)!);
  for (const a of members) {
    for (const b of members) {
      if (a === b) continue;
      const start = a.prefix + aggregate.separator;
      if ((b.prefix + aggregate.separator).startsWith(start)) {
        throw new GatewayConfigError(
          `Servers '${a.name}' and '${b.name}' would share tool names in the aggregate ` +
            `(prefixes '${a.prefix}' and '${b.prefix}', separator '${aggregate.separator}'); ` +
            'give one of them another "prefix" in the config file',
        );
      }
    }
  }
}
