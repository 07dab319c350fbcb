/**
 * The HTTP headers a modern (2026-07-28) client mirrors from each request's body:
 * `MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`, and `Mcp-Param-{Name}` for the tool
 * parameters a server marks with `x-mcp-header`; values that are not plain visible ASCII go
 * in the `=?base64?…?=` sentinel form.
 * @module
 */
import { isObject } from "./jsonrpc.ts";
import { type JsonObject, metaOf, PROTOCOL_VERSION_KEY } from "./envelope.ts";

/** The body field each method's `Mcp-Name` header mirrors. */
const NAME_SOURCE: Readonly<Record<string, string>> = {
  "tools/call": "name",
  "prompts/get": "name",
  "resources/read": "uri",
};

/** The body field a request's `Mcp-Name` header mirrors, if its method has one. */
export function nameSourceOf(method: string): string | undefined {
  return Object.hasOwn(NAME_SOURCE, method) ? NAME_SOURCE[method] : undefined;
}

/** The body value a request's `Mcp-Name` header mirrors, if its method has one and it is text. */
export function nameHeaderValue(method: string, params: JsonObject): string | undefined {
  const field = nameSourceOf(method);
  const value = field === undefined ? undefined : params[field];
  return typeof value === "string" ? value : undefined;
}

const encoder = new TextEncoder();

/** A header value: as is when it is safe visible ASCII, else in the base64 sentinel form. */
export function encodeHeaderValue(value: string): string {
  const plain = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(value) &&
    !/^=\?base64\?.*\?=$/.test(value);
  if (plain) return value;
  let binary = "";
  for (const byte of encoder.encode(value)) binary += String.fromCharCode(byte);
  return `=?base64?${btoa(binary)}?=`;
}

/** Base64 of the standard alphabet in groups of four, the last one padded with `=`. */
const CANONICAL_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The text an `Mcp-Name` or `Mcp-Param-*` value carries: the value itself, or what its sentinel
 * form decodes to; `undefined` when the base64 or its UTF-8 is broken, or a plain value has a
 * character a header value may not carry (only visible ASCII, space and tab).
 */
export function decodeHeaderValue(value: string): string | undefined {
  const match = /^=\?base64\?(.*)\?=$/.exec(value);
  if (!match) return /^[\t\x20-\x7e]*$/.test(value) ? value : undefined;
  // Strict base64, padded: atob would also take it unpadded or with white space inside.
  if (!CANONICAL_BASE64.test(match[1])) return undefined;
  try {
    const bytes = Uint8Array.from(atob(match[1]), (char) => char.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** One `x-mcp-header` declaration of a tool: the header name and the argument path. */
export interface ParamHeader {
  /** The declared name; the header sent is `Mcp-Param-{name}`. */
  readonly name: string;
  /** The property keys that lead from the arguments to the value. */
  readonly path: readonly string[];
}

/** The verdict on a tool's `x-mcp-header` declarations. */
export type HeaderScan =
  | { readonly valid: true; readonly headers: readonly ParamHeader[] }
  | { readonly valid: false; readonly reason: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const PRIMITIVE_TYPES = new Set(["string", "integer", "boolean"]);

/**
 * Reads the `x-mcp-header` declarations of a tool's `inputSchema`, checking the spec's
 * constraints: a token name, unique without regard to case, on a primitive (not `number`)
 * property reachable through `properties` keys only.
 */
export function scanParamHeaders(inputSchema: unknown): HeaderScan {
  const headers: ParamHeader[] = [];
  const seen = new Set<string>();
  const walk = (schema: JsonObject, path: string[]): string | undefined => {
    const properties = isObject(schema.properties) ? schema.properties : {};
    for (const [key, property] of Object.entries(properties)) {
      if (!isObject(property)) continue;
      const here = [...path, key];
      const name = property["x-mcp-header"];
      if (name !== undefined) {
        if (typeof name !== "string" || !TOKEN.test(name)) {
          return `'${here.join(".")}' has an x-mcp-header that is not a header token`;
        }
        if (seen.has(name.toLowerCase())) return `x-mcp-header '${name}' is declared twice`;
        if (!PRIMITIVE_TYPES.has(property.type as string)) {
          return `x-mcp-header '${name}' is on a parameter that is not a string, integer or boolean`;
        }
        seen.add(name.toLowerCase());
        headers.push({ name, path: here });
      }
      const nested = walk(property, here);
      if (nested) return nested;
    }
    // A declaration behind items, composition or $ref is not statically reachable.
    for (const keyword of ["items", "oneOf", "anyOf", "allOf", "not", "if", "then", "else"]) {
      if (JSON.stringify(schema[keyword] ?? null).includes('"x-mcp-header"')) {
        return `an x-mcp-header is declared under '${keyword}', where it cannot be mirrored`;
      }
    }
    return undefined;
  };
  const reason = isObject(inputSchema) ? walk(inputSchema, []) : undefined;
  return reason === undefined ? { valid: true, headers } : { valid: false, reason };
}

/** The value at `path` in a call's `args` (`undefined` where the path leads nowhere). */
export function argumentAt(args: unknown, path: readonly string[]): unknown {
  let value: unknown = args;
  for (const key of path) {
    value = isObject(value) && Object.hasOwn(value, key) ? value[key] : undefined;
  }
  return value;
}

/** The value at `path` in `args`, as a header value; `undefined` when absent or null. */
function argumentValue(args: unknown, path: readonly string[]): string | undefined {
  const value = argumentAt(args, path);
  if (value === undefined || value === null) return undefined;
  return encodeHeaderValue(typeof value === "string" ? value : String(value));
}

/**
 * The headers of one modern request: the standard ones from its body, plus the parameter
 * headers that `paramHeaders` declares for a `tools/call`.
 */
export function requestHeaders(
  message: JsonObject,
  paramHeaders: readonly ParamHeader[] = [],
): Record<string, string> {
  const headers: Record<string, string> = {};
  const method = message.method;
  if (typeof method !== "string") return headers;
  const params = isObject(message.params) ? message.params : {};
  const version = metaOf(params)?.[PROTOCOL_VERSION_KEY];
  if (typeof version === "string") headers["mcp-protocol-version"] = version;
  if (message.id === undefined) return headers;
  headers["mcp-method"] = method;
  const name = nameHeaderValue(method, params);
  if (name !== undefined) headers["mcp-name"] = encodeHeaderValue(name);
  if (method === "tools/call") {
    for (const header of paramHeaders) {
      const value = argumentValue(params.arguments, header.path);
      if (value !== undefined) headers[`mcp-param-${header.name.toLowerCase()}`] = value;
    }
  }
  return headers;
}

/** The `x-mcp-header` declarations of the tools a server listed, kept per tool name. */
export class ToolHeaderTable {
  readonly #byTool = new Map<string, readonly ParamHeader[]>();

  /**
   * Learns the declarations of a `tools/list` result and returns the result without the
   * tools whose declarations are invalid (the spec's MUST), with `onInvalid` told why.
   */
  learn(result: JsonObject, onInvalid: (tool: string, reason: string) => void): JsonObject {
    if (!Array.isArray(result.tools)) return result;
    const kept = result.tools.filter((tool: unknown) => {
      if (!isObject(tool) || typeof tool.name !== "string") return true;
      const scan = scanParamHeaders(tool.inputSchema);
      if (!scan.valid) {
        onInvalid(tool.name, scan.reason);
        // Known, with nothing that can be mirrored.
        this.#byTool.set(tool.name, []);
        return false;
      }
      this.#byTool.set(tool.name, scan.headers);
      return true;
    });
    return kept.length === result.tools.length ? result : { ...result, tools: kept };
  }

  /** The declarations of `tool`, if it was listed. */
  headersOf(tool: unknown): readonly ParamHeader[] {
    return typeof tool === "string" ? this.#byTool.get(tool) ?? [] : [];
  }

  /** Whether `tool` was listed (with or without declarations). */
  knows(tool: unknown): boolean {
    return typeof tool === "string" && this.#byTool.has(tool);
  }
}
