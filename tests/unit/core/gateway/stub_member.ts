/**
 * A member for the aggregate's unit tests: a {@linkcode SharedServer} over the real
 * multiplexer, whose upstream is a small MCP server in-process (labelled, so that two share
 * tool and prompt names but answer differently), and whose life the test drives: start,
 * crash, come back, fail. And a client of the aggregate, whose requests resolve with their
 * answers.
 * @module
 */
import assert from "node:assert/strict";
import { DEFAULT_SERVING_LIMITS } from "../../../../src/config.ts";
import type { Logger } from "../../../../src/io/log.ts";
import { Multiplexer, type Upstream } from "../../../../src/core/multiplexer.ts";
import type {
  ClientSink,
  MuxSession,
  ServerState,
  SessionOpening,
  SharedServer,
} from "../../../../src/core/types.ts";
import type { AggregateServer } from "../../../../src/core/gateway/aggregate.ts";
import type { RequestId, WireMessage } from "../../../../src/protocol/jsonrpc.ts";
import { incoming } from "../../../support/messages.ts";

/** Logs nothing; warnings are kept for the tests that look. */
export const quietLog: Logger & { warnings: string[] } = {
  warnings: [],
  debug() {},
  info() {},
  warning(message) {
    quietLog.warnings.push(message);
  },
  error() {},
};

/** How a stub member's server is made. */
export interface StubOptions {
  /** Its resources are listed this many per page (default: all on one page). */
  readonly pageSize?: number;
  /** How many resources it lists (`LABEL://doc/N`), besides `shared://doc`. */
  readonly resources?: number;
  /** Its `initialize` capabilities (default: everything). */
  readonly capabilities?: Record<string, unknown>;
  /** Thrown by `openSession` when set (a member that needs a header the client lacks). */
  readonly refuse?: Error;
}

const ALL_CAPABILITIES = {
  tools: { listChanged: true },
  prompts: {},
  resources: { subscribe: true, listChanged: true },
  completions: {},
  logging: {},
};

/** A stub member: a real multiplexer, an in-process upstream labelled `label`. */
export class StubMember implements SharedServer, Upstream {
  readonly name: string;
  readonly limits = DEFAULT_SERVING_LIMITS;
  readonly era = "legacy" as const;
  /** Every message the upstream got, in order. */
  readonly received: WireMessage[] = [];
  /** Calls of `hold` waiting, by upstream id. */
  readonly held = new Map<RequestId, WireMessage>();
  #state: ServerState = "starting";
  readonly #listeners = new Set<(state: ServerState) => void>();
  readonly #mux: Multiplexer;
  readonly #options: StubOptions;
  /** The upstream's own questions waiting for answers, by id. */
  readonly #asked = new Map<RequestId, (answer: WireMessage) => void>();

  /** A member called `name`, not started. */
  constructor(name: string, options: StubOptions = {}) {
    this.name = name;
    this.#options = options;
    this.#mux = new Multiplexer(name, quietLog);
  }

  get state(): ServerState {
    return this.#state;
  }

  onStateChange(listener: (state: ServerState) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Opens its multiplexer to the upstream; the state becomes running. */
  start(): Promise<void> {
    this.#mux.attach(this);
    this.#mux.open({
      protocolVersion: "2025-11-25",
      capabilities: this.#options.capabilities ?? ALL_CAPABILITIES,
      serverInfo: { name: `stub-${this.name}`, version: "1" },
      instructions: `Use ${this.name} well.`,
    });
    this.#setState("running");
    return Promise.resolve();
  }

  /** The upstream goes away (requests in flight get errors); the state becomes restarting. */
  crash(): void {
    this.#setState("restarting");
    this.#mux.detach(`MCP server '${this.name}' exited`);
  }

  /** The first start failed: the state becomes failed, requests are refused. */
  fail(): void {
    this.#setState("failed");
    this.#mux.refuse(`MCP server '${this.name}' is not running: it failed`);
  }

  stop(): Promise<void> {
    this.#setState("stopped");
    this.#mux.refuse(`MCP server '${this.name}' was stopped`);
    return Promise.resolve();
  }

  openSession(sink: ClientSink, _opening?: SessionOpening): MuxSession {
    if (this.#options.refuse) throw this.#options.refuse;
    return this.#mux.openSession(sink);
  }

  /** Sends a notification of the upstream (a list change, a resource update). */
  notify(method: string, params?: Record<string, unknown>): void {
    this.#mux.fromUpstream(incoming({ jsonrpc: "2.0", method, params }));
  }

  /** Answers a held call. */
  release(id: RequestId, text: string): void {
    this.held.delete(id);
    this.#reply(id, { result: { content: [{ type: "text", text }] } });
  }

  /** The upstream's side: what the multiplexer writes to it. */
  send(message: WireMessage): void {
    this.received.push(structuredClone(message));
    if (message.method === undefined) {
      this.#asked.get(message.id as RequestId)?.(message);
      this.#asked.delete(message.id as RequestId);
      return;
    }
    if (message.id === undefined || message.id === null) return;
    const id = message.id;
    queueMicrotask(() => this.#answer(id, message));
  }

  #setState(state: ServerState): void {
    this.#state = state;
    for (const listener of [...this.#listeners]) listener(state);
  }

  #reply(id: RequestId, body: Record<string, unknown>): void {
    this.#mux.fromUpstream(incoming({ jsonrpc: "2.0", id, ...body }));
  }

  #text(id: RequestId, text: string): void {
    this.#reply(id, { result: { content: [{ type: "text", text }] } });
  }

  #answer(id: RequestId, message: WireMessage): void {
    const params = message.params ?? {};
    const label = this.name;
    switch (message.method) {
      case "initialize":
      case "logging/setLevel":
      case "resources/subscribe":
      case "resources/unsubscribe":
        return this.#reply(id, { result: {} });
      case "tools/list":
        return this.#reply(id, {
          result: { tools: ["echo", "hold", "ask", "progress"].map((name) => ({ name })) },
        });
      case "tools/call":
        return this.#call(id, params);
      case "prompts/list":
        return this.#reply(id, { result: { prompts: [{ name: "greet" }] } });
      case "prompts/get":
        return this.#reply(id, {
          result: { messages: [{ role: "user", content: { type: "text", text: `${label}` } }] },
        });
      case "resources/list":
        return this.#reply(id, { result: this.#resourcesPage(params.cursor) });
      case "resources/templates/list":
        return this.#reply(id, {
          result: { resourceTemplates: [{ uriTemplate: `${label}://item/{id}`, name: "item" }] },
        });
      case "resources/read":
        return this.#reply(id, {
          result: { contents: [{ uri: params.uri, text: `${label} ${params.uri}` }] },
        });
      case "completion/complete":
        return this.#reply(id, {
          result: { completion: { values: [`${label}-${JSON.stringify(params.ref)}`] } },
        });
    }
    this.#reply(id, { error: { code: -32601, message: "Method not found" } });
  }

  #call(id: RequestId, params: Record<string, unknown>): void {
    const label = this.name;
    const args = (params.arguments ?? {}) as Record<string, unknown>;
    switch (params.name) {
      case "echo":
        return this.#text(id, `${label}: ${args.text}`);
      case "hold":
        this.held.set(id, { jsonrpc: "2.0", id, params });
        return;
      case "progress": {
        const token = (params._meta as Record<string, unknown> | undefined)?.progressToken;
        this.notify("notifications/progress", { progressToken: token, progress: 1 });
        return this.#text(id, `${label}: progressed`);
      }
      case "ask": {
        // Every stub asks with the same id: the aggregate must tell them apart.
        const questionId = "question-1";
        this.#asked.set(
          questionId,
          (answer) => this.#text(id, `${label}: ${JSON.stringify(answer.result)}`),
        );
        this.#mux.fromUpstream(incoming({
          jsonrpc: "2.0",
          id: questionId,
          method: "elicitation/create",
          params: { message: `${label} asks` },
        }));
        return;
      }
    }
    this.#reply(id, { error: { code: -32602, message: `Unknown tool ${params.name}` } });
  }

  #resourcesPage(cursor: unknown): Record<string, unknown> {
    const all = [
      "shared://doc",
      ...Array.from({ length: this.#options.resources ?? 1 }, (_, i) => `${this.name}://doc/${i}`),
    ];
    const start = typeof cursor === "string" ? Number(cursor) : 0;
    const size = this.#options.pageSize ?? all.length;
    const page = all.slice(start, start + size).map((uri) => ({ uri, name: uri }));
    const next = start + size < all.length ? { nextCursor: String(start + size) } : {};
    return { resources: page, ...next };
  }
}

/** A client of the aggregate: what it received, and requests that resolve with their answers. */
export class AggregateClient {
  readonly received: { message: WireMessage; related: RequestId | undefined }[] = [];
  readonly session: MuxSession;
  #nextId = 0;
  readonly #waiting = new Map<RequestId, (message: WireMessage) => void>();

  constructor(aggregate: AggregateServer) {
    this.session = aggregate.openSession({
      send: (message, related) => {
        this.received.push({ message: structuredClone(message), related });
        if (message.method === undefined) this.#waiting.get(message.id!)?.(message);
      },
    });
  }

  /** Sends a message of the client. */
  send(value: Record<string, unknown>): void {
    this.session.receive(incoming({ jsonrpc: "2.0", ...value }));
  }

  /** Sends a request; resolves with its answer. */
  request(method: string, params: Record<string, unknown> = {}, id?: RequestId) {
    const requestId = id ?? ++this.#nextId;
    const answer = new Promise<WireMessage>((resolve) => this.#waiting.set(requestId, resolve));
    this.send({ id: requestId, method, params });
    return answer;
  }

  /** Sends a request; resolves with its result, failing on an error. */
  async result(method: string, params: Record<string, unknown> = {}) {
    const answer = await this.request(method, params);
    assert.equal(answer.error, undefined, `${method}: ${JSON.stringify(answer.error)}`);
    return answer.result as Record<string, unknown> & { [key: string]: unknown };
  }

  /** Initialises the session, asking for `protocolVersion`. */
  async initialize(protocolVersion = "2025-06-18") {
    return await this.result("initialize", {
      protocolVersion,
      capabilities: { elicitation: {} },
      clientInfo: { name: "test", version: "1" },
    });
  }

  /** The notifications received with `method`. */
  notifications(method: string) {
    return this.received.filter((r) => r.message.method === method && r.message.id === undefined);
  }
}
