/**
 * The aggregate's lists (tools, prompts, resources, resource templates): the members' lists
 * one after the other, in configured order, walked with one cursor (see `aggregate_names.ts`).
 * A page holds the members' whole lists up to the first member that pages its own, then
 * continues where that member's cursor says. A member that is not running, refused the client,
 * has no such list, or answers with an error is left out.
 * @module
 */
import {
  errorResponse,
  isObject,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  resultResponse,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import type { SharedServer } from "../types.ts";
import { capabilitiesOf } from "./aggregate_handshake.ts";
import { decodeCursor, encodeCursor, type MergedCursor, prefixedName } from "./aggregate_names.ts";
import type { AggregateContext, AggregateMember } from "./members.ts";
import type { MemberLink } from "./member_link.ts";

/** What a merged list needs of its aggregate session. */
export interface ListHost {
  /** The aggregate. */
  readonly context: AggregateContext;
  /** The session's link to `server`, opened on first use. */
  linkOf(server: SharedServer): MemberLink;
}

/** One of the lists. */
export interface ListKind {
  /** The list method. */
  readonly method: string;
  /** The result's array. */
  readonly key: string;
  /** The server capability that offers it. */
  readonly capability: string;
  /**
   * The member's items as the aggregate lists them; `fromStart`: the first page of the
   * member's list.
   */
  adopt(host: ListHost, member: AggregateMember, items: unknown[], fromStart: boolean): unknown[];
}

/** Items named `prefix` + separator + their own name. */
function prefixed(host: ListHost, member: AggregateMember, items: unknown[]): unknown[] {
  const separator = host.context.separator;
  return items.map((item) =>
    isObject(item) && typeof item.name === "string"
      ? { ...item, name: prefixedName(member.prefix, separator, item.name) }
      : item
  );
}

/** The lists the aggregate merges, by method. */
export const LIST_KINDS: Readonly<Record<string, ListKind>> = {
  "tools/list": {
    method: "tools/list",
    key: "tools",
    capability: "tools",
    adopt: (host, member, items) => prefixed(host, member, items),
  },
  "prompts/list": {
    method: "prompts/list",
    key: "prompts",
    capability: "prompts",
    adopt: (host, member, items) => prefixed(host, member, items),
  },
  "resources/list": {
    method: "resources/list",
    key: "resources",
    capability: "resources",
    adopt: (host, member, items) => host.context.routes.recordResources(member.server, items),
  },
  "resources/templates/list": {
    method: "resources/templates/list",
    key: "resourceTemplates",
    capability: "resources",
    adopt: (host, member, items, fromStart) => {
      host.context.routes.recordTemplates(member.server, items, fromStart);
      return items;
    },
  },
};

/** Items gathered for one page, and where the next one starts (none: the list ended). */
interface Gathered {
  readonly items: unknown[];
  readonly next: MergedCursor | undefined;
}

/**
 * Gathers `kind` from `from` on: up to the first member that pages its list, or, with
 * `whole`, to the end. `undefined` when the client no longer wants it.
 */
async function gather(
  host: ListHost,
  kind: ListKind,
  params: Params,
  clientId: RequestId,
  from: { index: number; cursor: string | undefined },
  whole: boolean,
): Promise<Gathered | undefined> {
  const members = host.context.members;
  const items: unknown[] = [];
  let cursor = from.cursor;
  for (let index = from.index; index < members.length; index++, cursor = undefined) {
    const member = members[index];
    const link = host.linkOf(member.server);
    if (link.unavailable !== undefined) continue;
    const handshake = link.handshake ?? host.context.handshakeOf(member.server);
    if (handshake !== undefined && capabilitiesOf(handshake)[kind.capability] === undefined) {
      continue;
    }
    for (;;) {
      const pageParams: Params = { ...params };
      delete pageParams.cursor;
      if (cursor !== undefined) pageParams.cursor = cursor;
      const response = await link.request(kind.method, pageParams, clientId);
      if (response === undefined) return undefined;
      const result = response.result;
      if (!isObject(result)) {
        host.context.log.debug(
          `MCP server '${member.server.name}' answered ${kind.method} with an error; the ` +
            `aggregate lists without it: ${response.error?.message}`,
        );
        break;
      }
      const page = Array.isArray(result[kind.key]) ? result[kind.key] as unknown[] : [];
      items.push(...kind.adopt(host, member, page, cursor === undefined));
      const next = typeof result.nextCursor === "string" ? result.nextCursor : undefined;
      if (next === undefined) break;
      if (!whole) return { items, next: { server: member.server.name, cursor: next } };
      cursor = next;
    }
  }
  return { items, next: undefined };
}

/** The answer to the client's list request `id` (a method of {@linkcode LIST_KINDS}). */
export async function listPage(
  host: ListHost,
  kind: ListKind,
  id: RequestId,
  params: Params,
): Promise<WireMessage | undefined> {
  let from = { index: 0, cursor: undefined as string | undefined };
  if (params.cursor !== undefined) {
    const position = typeof params.cursor === "string" ? decodeCursor(params.cursor) : undefined;
    const index = position === undefined
      ? -1
      : host.context.members.findIndex((member) => member.server.name === position.server);
    if (position === undefined || index === -1) {
      return errorResponse(id, ProtocolErrorCode.InvalidParams, "Invalid params: unknown cursor");
    }
    from = { index, cursor: position.cursor };
  }
  const gathered = await gather(host, kind, params, id, from, false);
  if (gathered === undefined) return undefined;
  const result: Record<string, unknown> = { [kind.key]: gathered.items };
  if (gathered.next !== undefined) result.nextCursor = encodeCursor(gathered.next);
  return resultResponse(id, result);
}

/**
 * Lists every member's resources and templates to the end, so that the routes know them all
 * (for a URI no route leads to yet); `false` when the client no longer wants it.
 */
export async function refreshResourceRoutes(host: ListHost, clientId: RequestId): Promise<boolean> {
  for (const method of ["resources/list", "resources/templates/list"]) {
    const start = { index: 0, cursor: undefined };
    const gathered = await gather(host, LIST_KINDS[method], {}, clientId, start, true);
    if (gathered === undefined) return false;
  }
  return true;
}
