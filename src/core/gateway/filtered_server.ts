/**
 * A server seen through its filters (mcp-proxy addition): the tools, prompts and resources the
 * filters leave out are absent from every list its sessions get and unknown to every request
 * that names them, which the child never sees.
 *
 * The filters work on sessions, so they hold on every endpoint: legacy clients' sessions, and
 * the sessions the modern bridge opens for each 2026-07-28 request. A list request goes to the
 * child under an id of the proxy's own, so that its answer is told apart from any other (a
 * client could reuse the id) and filtered before the client sees it. Methods no filter touches
 * pass through as they are, with no bookkeeping.
 *
 * With `readOnly`, a call is let through once the session has seen the tool listed with
 * `readOnlyHint: true`. A session that never listed the tools (every modern request has a
 * session of its own) lists them first, every page, on its own session and for itself alone.
 * @module
 */
import type { ServerFilters } from "../../config.ts";
import {
  type ErrorObject,
  errorResponse,
  type Incoming,
  type IncomingNotification,
  type IncomingRequest,
  isObject,
  type Params,
  ProtocolErrorCode,
  type RequestId,
  type WireMessage,
} from "../../protocol/jsonrpc.ts";
import { withId } from "../../protocol/wire_text.ts";
import type { ServerCalls } from "../observe/call_watch.ts";
import type { ClientSink, MuxSession, SessionOpening, SharedServer } from "../types.ts";
import {
  compileRules,
  filteredList,
  type FilterRules,
  filtersList,
  isListMethod,
  isReadOnlyTool,
  type ListMethod,
  NAMING_METHODS,
  notAName,
  refusalOf,
  unknownTool,
} from "./filter_rules.ts";

/** The prefix of the ids of list requests sent under the proxy's own ids. */
const LIST_ID = "mcp-proxy:filter";

/** Most pages of `tools/list` one read-only check reads, against cursors that never end. */
export const MAX_LISTING_PAGES = 100;

/** What a filtered server is given beside its filters. */
export interface FilteredServerOptions {
  /** Told of each call the filters refuse (it never reaches the server's own watch). */
  readonly calls?: ServerCalls;
}

/**
 * `inner` with `filters` applied to every session it opens; `inner` itself when the filters
 * keep everything. Its name, state, limits, era and life cycle are `inner`'s.
 */
export function createFilteredServer(
  inner: SharedServer,
  filters: ServerFilters,
  options: FilteredServerOptions = {},
): SharedServer {
  const rules = compileRules(filters);
  if (rules === undefined) return inner;
  return {
    get name() {
      return inner.name;
    },
    get state() {
      return inner.state;
    },
    get limits() {
      return inner.limits;
    },
    get era() {
      return inner.era;
    },
    get children() {
      return inner.children;
    },
    onStateChange: (listener) => inner.onStateChange(listener),
    start: () => inner.start(),
    stop: () => inner.stop(),
    openSession(sink: ClientSink, opening?: SessionOpening): MuxSession {
      return new FilteredSession(inner, rules, sink, opening, options.calls);
    },
  };
}

/** A list request at the child under one of the proxy's ids. */
interface ListRequest {
  readonly method: ListMethod;
  /** The client's id, or `undefined` for a page of the session's own read-only check. */
  readonly clientId: RequestId | undefined;
}

/** The session's own listing of the tools, and the calls waiting for it. */
interface ToolListing {
  /** The calls that need it, in the order they came. */
  readonly waiting: IncomingRequest[];
  /**
   * The read-only tools listed so far: its own, since a list change during the listing clears
   * what the session knew.
   */
  readonly readOnly: Set<string>;
  pages: number;
}

/** One client's session, filtered. */
class FilteredSession implements MuxSession {
  readonly #inner: MuxSession;
  readonly #rules: FilterRules;
  readonly #sink: ClientSink;
  readonly #server: SharedServer;
  readonly #modern: boolean;
  readonly #calls: ServerCalls | undefined;
  /** The client, as the call log names it. */
  readonly #client: string | undefined;
  /** List requests at the child, by the proxy's id. */
  readonly #lists = new Map<string, ListRequest>();
  #nextListId = 0;
  /** Whether each tool the session saw listed is read-only (with `readOnly` only). */
  readonly #readOnly = new Map<string, boolean>();
  #listing: ToolListing | undefined;
  #closed = false;

  constructor(
    server: SharedServer,
    rules: FilterRules,
    sink: ClientSink,
    opening: SessionOpening | undefined,
    calls: ServerCalls | undefined,
  ) {
    this.#server = server;
    this.#rules = rules;
    this.#sink = sink;
    this.#modern = opening?.modern === true;
    this.#calls = calls;
    this.#client = opening?.client;
    this.#inner = server.openSession({
      send: (message, relatedRequestId, text) => this.#fromServer(message, relatedRequestId, text),
      answersRequests: sink.answersRequests,
    }, opening);
  }

  receive(incoming: Incoming): void {
    if (this.#closed) return;
    if (incoming.kind === "request") return this.#request(incoming);
    if (incoming.kind === "notification" && incoming.message.method === "notifications/cancelled") {
      return this.#cancelled(incoming);
    }
    this.#inner.receive(incoming);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#lists.clear();
    this.#listing = undefined;
    this.#inner.close();
  }

  #request(incoming: IncomingRequest): void {
    const { message, params } = incoming;
    if (typeof message.id === "string" && message.id.startsWith(LIST_ID)) {
      // Its answer could be taken for that of the proxy's own list request, and go unfiltered.
      const reason = `Invalid Request: ids starting with ${LIST_ID} are mcp-proxy's own`;
      return this.#refuse(message.id, { code: ProtocolErrorCode.InvalidRequest, message: reason });
    }
    const method = message.method;
    if (isListMethod(method)) {
      if (!filtersList(this.#rules, method)) return this.#inner.receive(incoming);
      this.#sendList(method, message.id, params);
      return;
    }
    if (method === "tools/call") {
      if (this.#rules.tool || this.#rules.readOnly) return this.#call(incoming);
      return this.#inner.receive(incoming);
    }
    if (!NAMING_METHODS.has(method)) return this.#inner.receive(incoming);
    const modern = this.#modern && this.#server.era === "modern";
    const refusal = refusalOf(this.#rules, method, params, modern);
    if (refusal) return this.#hidden(incoming, refusal);
    this.#forwardJudged(incoming);
  }

  /**
   * Passes on a request the filters let through on a name they read. Its text is not: JSON
   * leaves a repeated key to the parser, and a child whose parser kept the first `name` of two
   * would run another tool than the one judged. Serialized again, the child reads what was
   * judged.
   */
  #forwardJudged(incoming: IncomingRequest): void {
    const { message, params } = incoming;
    this.#inner.receive(
      incoming.text === undefined ? incoming : { kind: "request", message, params },
    );
  }

  /** Sends a list request under a new id of the proxy's. */
  #sendList(method: ListMethod, clientId: RequestId | undefined, params: Params): void {
    const id = `${LIST_ID}:${++this.#nextListId}`;
    // Tracked before it is sent: the answer may come back before `receive` returns.
    this.#lists.set(id, { method, clientId });
    const message = { jsonrpc: "2.0" as const, id, method, params };
    this.#inner.receive({ kind: "request", message, params });
  }

  #call(incoming: IncomingRequest): void {
    const name = incoming.params.name;
    if (typeof name !== "string") return this.#refuse(incoming.message.id, notAName("name"));
    if (this.#rules.tool?.(name) === false) return this.#hidden(incoming, unknownTool(name));
    if (!this.#rules.readOnly) return this.#forwardJudged(incoming);
    const readOnly = this.#readOnly.get(name);
    if (readOnly === true) return this.#forwardJudged(incoming);
    if (readOnly === false) return this.#hidden(incoming, unknownTool(name));
    if (this.#listing) {
      this.#listing.waiting.push(incoming);
      return;
    }
    this.#listing = { waiting: [incoming], readOnly: new Set(), pages: 0 };
    this.#sendList("tools/list", undefined, {});
  }

  /** A page of the session's own listing came: the next page is asked for, or the calls judged. */
  #listed(response: WireMessage): void {
    const listing = this.#listing;
    if (!listing) return;
    const result = response.result;
    if (!isObject(result)) {
      this.#listing = undefined;
      const error = response.error ??
        { code: ProtocolErrorCode.InternalError, message: "tools/list failed" };
      for (const call of listing.waiting) this.#refuse(call.message.id, error);
      return;
    }
    const tools = Array.isArray(result.tools) ? result.tools : [];
    for (const tool of tools) {
      if (isObject(tool) && typeof tool.name === "string" && isReadOnlyTool(tool)) {
        listing.readOnly.add(tool.name);
      }
    }
    const cursor = result.nextCursor;
    if (typeof cursor === "string" && ++listing.pages < MAX_LISTING_PAGES) {
      this.#sendList("tools/list", undefined, { cursor });
      return;
    }
    this.#listing = undefined;
    for (const call of listing.waiting) {
      const name = call.params.name as string;
      if (listing.readOnly.has(name)) this.#forwardJudged(call);
      else this.#hidden(call, unknownTool(name));
    }
  }

  /** A client's cancellation: of a list request under the proxy's id, or of a waiting call. */
  #cancelled(incoming: IncomingNotification): void {
    const requestId = incoming.params.requestId;
    const listing = this.#listing;
    const waiting = listing?.waiting.findIndex((call) => call.message.id === requestId) ?? -1;
    if (waiting !== -1) {
      listing!.waiting.splice(waiting, 1);
      return;
    }
    for (const [id, list] of this.#lists) {
      if (list.clientId === undefined || list.clientId !== requestId) continue;
      // No answer will come: the multiplexer forgets a request its client cancelled.
      this.#lists.delete(id);
      const params = { ...incoming.params, requestId: id };
      return this.#inner.receive({
        kind: "notification",
        message: { ...incoming.message, params },
        params,
      });
    }
    this.#inner.receive(incoming);
  }

  /** Refuses a call to what the filters hide, as a call to what does not exist; it is logged. */
  #hidden(request: IncomingRequest, error: ErrorObject): void {
    this.#calls?.refused(this.#client, request);
    this.#refuse(request.message.id, error);
  }

  #refuse(id: RequestId, error: ErrorObject): void {
    this.#deliver(errorResponse(id, error.code, error.message, error.data), id);
  }

  #fromServer(message: WireMessage, relatedRequestId?: RequestId, text?: string): void {
    if (this.#closed) return;
    if (message.method === undefined) {
      const id = message.id;
      if (typeof id === "string" && id.startsWith(LIST_ID)) {
        const list = this.#lists.get(id);
        // An answer no list request waits for any more is not passed on, unfiltered.
        if (list) this.#listAnswered(id, list, message, text);
        return;
      }
    } else if (typeof relatedRequestId === "string" && this.#lists.size > 0) {
      const list = this.#lists.get(relatedRequestId);
      // A message of a list request belongs to the client's request, or to the oldest call
      // waiting for the session's own listing.
      if (list) relatedRequestId = list.clientId ?? this.#listing?.waiting[0]?.message.id;
    }
    if (message.method === "notifications/tools/list_changed") this.#readOnly.clear();
    else if (message.method === "notifications/resources/updated" && this.#rules.resource) {
      const uri = isObject(message.params) ? message.params.uri : undefined;
      if (typeof uri === "string" && !this.#rules.resource(uri)) return;
    }
    this.#deliver(message, relatedRequestId, text);
  }

  /** The answer to a list request under the proxy's id: filtered, under the client's id. */
  #listAnswered(id: string, list: ListRequest, message: WireMessage, text?: string): void {
    this.#lists.delete(id);
    const result = message.result;
    if (list.method === "tools/list" && this.#rules.readOnly && isObject(result)) {
      this.#learn(result);
    }
    if (list.clientId === undefined) return this.#listed(message);
    const clientId = list.clientId;
    const filtered = isObject(result) ? filteredList(this.#rules, list.method, result) : undefined;
    if (filtered !== undefined) {
      return this.#deliver({ ...message, id: clientId, result: filtered }, clientId);
    }
    const clientText = text === undefined ? undefined : withId(text, id, clientId);
    this.#deliver({ ...message, id: clientId }, clientId, clientText);
  }

  /** Remembers which tools of a `tools/list` page are read-only. */
  #learn(result: Record<string, unknown>): void {
    if (!Array.isArray(result.tools)) return;
    for (const tool of result.tools) {
      if (isObject(tool) && typeof tool.name === "string") {
        this.#readOnly.set(tool.name, isReadOnlyTool(tool));
      }
    }
  }

  /** Hands a message to the client. */
  #deliver(message: WireMessage, relatedRequestId?: RequestId, text?: string): void {
    try {
      this.#sink.send(message, relatedRequestId, text);
    } catch {
      // A broken sink is the client's end going away, which its transport reports.
    }
  }
}
