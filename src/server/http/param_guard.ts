/**
 * The `Mcp-Param-*` rung of the modern validation ladder on the server side: a `tools/call`
 * whose tool declares parameters with `x-mcp-header` must carry them as headers that match its
 * arguments, so that gateways can route and authorise on the headers. Which parameters a tool
 * mirrors is read from the server's own `tools/list`.
 * @module
 */
import { PROXY_CLIENT_INFO } from "../../protocol/handshake.ts";
import { isObject, MODERN_PROTOCOL_VERSION, type RequestMessage } from "../../protocol/jsonrpc.ts";
import { type Envelope, type JsonObject, withEnvelope } from "../../protocol/envelope.ts";
import {
  checkParamHeaders,
  type LadderRefusal,
  type PostHeaders,
} from "../../protocol/http_classify.ts";
import { ToolHeaderTable } from "../../protocol/headers.ts";
import type { ModernBridge } from "../../core/modern_bridge.ts";

/** Lists one page of the server's tools (from `cursor`); rejects when the server cannot. */
export type ToolLister = (cursor: string | undefined) => Promise<JsonObject>;

/** The request headers the guard reads: by name, and every name (for `Mcp-Param-*` ones). */
export interface CallHeaders extends PostHeaders {
  /** Every header name, lower-case (as `Headers.keys`). */
  keys(): Iterable<string>;
}

/** Pages of `tools/list` read at most per refresh, against a server whose cursors never end. */
const MAX_PAGES = 100;

const PARAM_HEADER_PREFIX = "mcp-param-";

/**
 * How long a listing of the server's tools is taken as the truth: calls are judged on it, and
 * the tools are not listed again before then. Without it, every call of a tool the server does
 * not list (or with headers that fail) cost the server one more `tools/list`.
 */
export const TOOL_LISTING_FRESH_MS = 30_000;

/**
 * Checks modern `tools/call` requests against the `x-mcp-header` declarations of their tools.
 *
 * The declarations are learnt from every `tools/list` answer the proxy passes on, and listed
 * afresh from the server (every page, one listing at a time however many calls wait for it)
 * before a call is refused or let through unchecked on what may be stale knowledge: when the
 * call names a tool not known yet, fails the check, or carries an `Mcp-Param-*` header its tool
 * does not declare (the tool may have gained the declaration since). A listing is taken as the
 * truth for {@linkcode TOOL_LISTING_FRESH_MS}: a tool it does not name declares nothing.
 */
export class ParamHeaderGuard {
  readonly #list: ToolLister;
  #table = new ToolHeaderTable();
  #refreshing: Promise<void> | undefined;
  /** When the server's tools were last listed in full (`performance.now()`). */
  #listedAt = -Infinity;

  /** A guard that lists the server's tools with `list`. */
  constructor(list: ToolLister) {
    this.#list = list;
  }

  /** Learns the declarations of one page of a `tools/list` result the server gave. */
  learn(result: JsonObject): void {
    this.#table.learn(result, () => {});
  }

  /**
   * The refusal of a `tools/call` with these headers and `params`, if it must be refused: at
   * once when what is known settles it (the usual case), else once the tools were listed again.
   */
  check(
    headers: CallHeaders,
    id: unknown,
    params: JsonObject,
  ): LadderRefusal | undefined | Promise<LadderRefusal | undefined> {
    const first = this.#verdict(headers, id, params);
    if (first.settled) return first.refusal;
    return this.#refresh().then(() => this.#verdict(headers, id, params).refusal);
  }

  /** The check on what is known now, and whether knowing more could change it. */
  #verdict(
    headers: CallHeaders,
    id: unknown,
    params: JsonObject,
  ): { refusal: LadderRefusal | undefined; settled: boolean } {
    const tool = params.name;
    const declared = this.#table.headersOf(tool);
    const refusal = checkParamHeaders(headers, id, params.arguments, declared);
    if (performance.now() - this.#listedAt < TOOL_LISTING_FRESH_MS) {
      return { refusal, settled: true };
    }
    if (!this.#table.knows(tool) || refusal) return { refusal, settled: false };
    // Only now are the header names read: listing them costs the runtime a sorted copy of
    // every header, a tenth of a modern call's CPU when done for each.
    for (const name of headers.keys()) {
      if (!name.startsWith(PARAM_HEADER_PREFIX)) continue;
      const declaredName = name.slice(PARAM_HEADER_PREFIX.length);
      if (!declared.some((header) => header.name.toLowerCase() === declaredName)) {
        return { refusal, settled: false };
      }
    }
    return { refusal, settled: true };
  }

  /** Lists the server's tools again, unless a listing is under way already. */
  #refresh(): Promise<void> {
    this.#refreshing ??= this.#listAll().finally(() => this.#refreshing = undefined);
    return this.#refreshing;
  }

  async #listAll(): Promise<void> {
    const table = new ToolHeaderTable();
    let cursor: string | undefined;
    try {
      for (let page = 0; page < MAX_PAGES; page++) {
        const result = await this.#list(cursor);
        table.learn(result, () => {});
        if (typeof result.nextCursor !== "string" || result.nextCursor === "") break;
        cursor = result.nextCursor;
      }
    } catch {
      // The server cannot list now: what was known stays, and the call is judged on it.
      return;
    }
    this.#table = table;
    this.#listedAt = performance.now();
  }
}

/** The envelope of the proxy's own `tools/list` requests. */
const PROXY_ENVELOPE: Envelope = {
  protocolVersion: MODERN_PROTOCOL_VERSION,
  clientCapabilities: {},
  clientInfo: { ...PROXY_CLIENT_INFO },
  logLevel: undefined,
};

/** A {@linkcode ToolLister} that sends the proxy's own modern `tools/list` through `bridge`. */
export function listerThrough(bridge: Pick<ModernBridge, "serve">): ToolLister {
  let listed = 0;
  return (cursor) => {
    const { promise, resolve, reject } = Promise.withResolvers<JsonObject>();
    const id = `mcp-proxy:tools/list:${++listed}`;
    const request = {
      jsonrpc: "2.0",
      id,
      method: "tools/list",
      params: withEnvelope(cursor === undefined ? {} : { cursor }, PROXY_ENVELOPE),
    } as RequestMessage;
    // The bridge ends the call itself once it is answered (or the server's time is up).
    // The call log names the client: the proxy itself.
    bridge.serve({ era: "modern", request, envelope: PROXY_ENVELOPE, client: "mcp-proxy" }, {
      send(message) {
        if (message.id !== id) return;
        if (isObject(message.result)) resolve(message.result);
        else reject(new Error(`tools/list failed: ${JSON.stringify(message.error)}`));
      },
    });
    return promise;
  };
}
