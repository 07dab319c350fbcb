/**
 * What a server's filters decide, apart from any session: which entries of each list are
 * kept, and which names a call may use, with the errors a server answers for what it does not
 * have.
 * @module
 */
import type { ServerFilters } from "../../config.ts";
import {
  type ErrorObject,
  isObject,
  type Params,
  ProtocolErrorCode,
} from "../../protocol/jsonrpc.ts";
import { compileNameFilter, type NamePredicate, restricts } from "./glob.ts";

/** The list methods that are filtered, and where each result holds its entries. */
export const LIST_FIELDS = {
  "tools/list": { field: "tools", key: "name" },
  "prompts/list": { field: "prompts", key: "name" },
  "resources/list": { field: "resources", key: "uri" },
  "resources/templates/list": { field: "resourceTemplates", key: "uriTemplate" },
} as const;

/** A list method that filters can touch. */
export type ListMethod = keyof typeof LIST_FIELDS;

/** Whether `method` is one of the {@linkcode LIST_FIELDS}. */
export function isListMethod(method: string): method is ListMethod {
  return Object.hasOwn(LIST_FIELDS, method);
}

/** A server's filters, compiled; a predicate is absent when it would keep every name. */
export interface FilterRules {
  /** Tool names kept. */
  readonly tool?: NamePredicate;
  /** Only tools whose annotations say `readOnlyHint: true` are kept. */
  readonly readOnly: boolean;
  /** Prompt names kept. */
  readonly prompt?: NamePredicate;
  /** Resource URIs and URI templates kept. */
  readonly resource?: NamePredicate;
}

/** The rules of `filters`, or `undefined` when they keep everything. */
export function compileRules(filters: ServerFilters): FilterRules | undefined {
  const compile = (filter: ServerFilters["tools"]) =>
    restricts(filter) ? compileNameFilter(filter) : undefined;
  const rules: FilterRules = {
    tool: compile(filters.tools),
    readOnly: filters.readOnly === true,
    prompt: compile(filters.prompts),
    resource: compile(filters.resources),
  };
  const restricting = rules.tool || rules.readOnly || rules.prompt || rules.resource;
  return restricting ? rules : undefined;
}

/** Whether the rules remove anything from the answers to `method`. */
export function filtersList(rules: FilterRules, method: ListMethod): boolean {
  switch (method) {
    case "tools/list":
      return rules.tool !== undefined || rules.readOnly;
    case "prompts/list":
      return rules.prompt !== undefined;
    default:
      return rules.resource !== undefined;
  }
}

/** Whether a tool's annotations say it only reads. */
export function isReadOnlyTool(tool: Record<string, unknown>): boolean {
  return isObject(tool.annotations) && tool.annotations.readOnlyHint === true;
}

/** Whether the rules keep one entry of the answer to `method` (one that is not an object is dropped). */
function keeps(rules: FilterRules, method: ListMethod, entry: unknown): boolean {
  if (!isObject(entry)) return false;
  const name = entry[LIST_FIELDS[method].key];
  if (typeof name !== "string") return false;
  switch (method) {
    case "tools/list":
      return (rules.tool?.(name) ?? true) && (!rules.readOnly || isReadOnlyTool(entry));
    case "prompts/list":
      return rules.prompt?.(name) ?? true;
    default:
      return rules.resource?.(name) ?? true;
  }
}

/**
 * The result of `method` with the entries the rules drop removed (its other members, such as
 * `nextCursor`, kept); `undefined` when nothing was dropped.
 */
export function filteredList(
  rules: FilterRules,
  method: ListMethod,
  result: Record<string, unknown>,
): Record<string, unknown> | undefined {
  const field = LIST_FIELDS[method].field;
  const entries = result[field];
  if (!Array.isArray(entries)) return undefined;
  const kept = entries.filter((entry) => keeps(rules, method, entry));
  return kept.length === entries.length ? undefined : { ...result, [field]: kept };
}

/** The error a server answers for a tool it does not have. */
export function unknownTool(name: string): ErrorObject {
  return { code: ProtocolErrorCode.InvalidParams, message: `Unknown tool: ${name}` };
}

/** The error a server answers for a prompt it does not have. */
export function unknownPrompt(name: string): ErrorObject {
  return { code: ProtocolErrorCode.InvalidParams, message: `Unknown prompt: ${name}` };
}

/**
 * The error a server answers for a resource it does not have: -32002 as the 2025-11-25 spec
 * says, or -32602 for a modern client's request relayed to a modern child as it is (the
 * modern era's code, which the bridge would otherwise have put in its place).
 */
export function unknownResource(uri: string, modern: boolean): ErrorObject {
  return {
    code: modern ? ProtocolErrorCode.InvalidParams : ProtocolErrorCode.ResourceNotFound,
    message: `Resource not found: ${uri}`,
    data: { uri },
  };
}

/** The methods whose requests name a prompt or a resource, judged by {@linkcode refusalOf}. */
export const NAMING_METHODS: ReadonlySet<string> = new Set([
  "prompts/get",
  "resources/read",
  "resources/subscribe",
  "completion/complete",
]);

/** The error of a request whose `field` should name something and does not. */
export function notAName(field: string): ErrorObject {
  return {
    code: ProtocolErrorCode.InvalidParams,
    message: `Invalid params: ${field} must be a string`,
  };
}

/**
 * The refusal of a request that names a filtered prompt or resource (`prompts/get`,
 * `resources/read`, `resources/subscribe`, `completion/complete`), or `undefined` if the rules
 * let it through. Tools are the session's to judge (read-only needs their annotations).
 */
export function refusalOf(
  rules: FilterRules,
  method: string,
  params: Params,
  modern: boolean,
): ErrorObject | undefined {
  const resource = (uri: string) => unknownResource(uri, modern);
  switch (method) {
    case "prompts/get":
      return nameRefusal(rules.prompt, params.name, "name", unknownPrompt);
    case "resources/read":
    case "resources/subscribe":
      return nameRefusal(rules.resource, params.uri, "uri", resource);
    case "completion/complete": {
      const ref = isObject(params.ref) ? params.ref : {};
      if (ref.type === "ref/prompt") {
        return nameRefusal(rules.prompt, ref.name, "ref.name", unknownPrompt);
      }
      if (ref.type !== "ref/resource") return undefined;
      return nameRefusal(rules.resource, ref.uri, "ref.uri", resource);
    }
  }
  return undefined;
}

/**
 * The refusal of `name` (the request's `field`) when `kept` leaves it out. A name that is not
 * a string is refused too: a child that read it loosely could take it for a filtered one.
 */
function nameRefusal(
  kept: NamePredicate | undefined,
  name: unknown,
  field: string,
  refusal: (name: string) => ErrorObject,
): ErrorObject | undefined {
  if (kept === undefined) return undefined;
  if (typeof name !== "string") return notAName(field);
  return kept(name) ? undefined : refusal(name);
}
