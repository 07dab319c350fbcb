/**
 * The aggregate: many named servers served as one MCP server (mcp-proxy addition). It is a
 * {@linkcode SharedServer} of the legacy era built over the members' own: each of its sessions
 * holds one session with each member, so that what a member sends (progress, logs, questions)
 * reaches only the client whose session caused it.
 *
 * - Tools and prompts are named `PREFIX` + separator + their name (see `aggregate_names.ts`);
 *   a call goes to the member whose prefix starts the name, under its own name there.
 * - Lists merge every member's, in configured order, with one cursor.
 * - A resource goes to the member that listed its URI (the first configured, when two did) or
 *   a template matching it (see `resource_routes.ts`).
 * - A member that is not running is left out of lists, and a call to it gets an error naming
 *   it; the others keep serving. Each change of a member's state tells every client its lists
 *   may have changed.
 *
 * The members are started and stopped by their owner, not by the aggregate.
 * @module
 */
import type { ServingLimits } from "../../config.ts";
import { getLogger, type Logger } from "../../io/log.ts";
import type {
  ClientSink,
  MuxSession,
  ServerState,
  SessionOpening,
  SharedServer,
} from "../types.ts";
import { AggregateSession } from "./aggregate_session.ts";
import type { AggregateContext, AggregateMember } from "./members.ts";
import { ResourceRoutes } from "./resource_routes.ts";
import { ServerStateCell } from "../server_state.ts";

export type { AggregateMember } from "./members.ts";

/** How the aggregate names and serves. */
export interface AggregateOptions {
  /** Between a member's prefix and a tool or prompt name. */
  readonly separator: string;
  /** What its clients may hold (the HTTP side reads the session timeout). */
  readonly limits: ServingLimits;
  /** Where it logs (default `mcp_proxy.aggregate`). */
  readonly log?: Logger;
}

/** The aggregate of named servers, served as one. */
export interface AggregateServer extends SharedServer {
  /**
   * Replaces the members (config reload): sessions open member sessions for new members
   * lazily, close those of removed ones once the calls running there end, and get
   * list_changed for tools, prompts and resources.
   */
  setMembers(members: readonly AggregateMember[]): void;
  /** For /status: each member's name and state. */
  readonly members: readonly AggregateMember[];
  /**
   * How many calls its clients run on `server` now: a member that left still answers those
   * it took, and its owner waits for them before it stops it.
   */
  callsOn(server: SharedServer): number;
}

/** The aggregate of `members`, in that order. */
export function createAggregateServer(
  members: readonly AggregateMember[],
  options: AggregateOptions,
): AggregateServer {
  return new Aggregate(members, options);
}

class Aggregate implements AggregateServer, AggregateContext {
  readonly name = "aggregate";
  readonly era = "legacy" as const;
  readonly limits: ServingLimits;
  readonly separator: string;
  readonly log: Logger;
  readonly routes: ResourceRoutes<SharedServer>;
  #members: readonly AggregateMember[] = [];
  /** Stops the state listener of each member. */
  readonly #unwatch = new Map<SharedServer, () => void>();
  /** Each member's latest answer to `initialize`. */
  readonly #handshakes = new Map<SharedServer, Record<string, unknown>>();
  readonly #sessions = new Set<AggregateSession>();
  readonly #state = new ServerStateCell("starting");
  #stopped: string | undefined;

  constructor(members: readonly AggregateMember[], options: AggregateOptions) {
    this.limits = options.limits;
    this.separator = options.separator;
    this.log = options.log ?? getLogger("mcp_proxy.aggregate");
    this.routes = new ResourceRoutes(() => this.#members.map((member) => member.server), this.log);
    this.setMembers(members);
  }

  get members(): readonly AggregateMember[] {
    return this.#members;
  }

  get state(): ServerState {
    return this.#state.value;
  }

  get stopped(): string | undefined {
    return this.#stopped;
  }

  onStateChange(listener: (state: ServerState) => void): () => void {
    return this.#state.onChange(listener);
  }

  /** Nothing to start: the members are started by their owner. */
  start(): Promise<void> {
    return Promise.resolve();
  }

  openSession(sink: ClientSink, opening?: SessionOpening): MuxSession {
    const session = new AggregateSession(this, sink, opening, (closed) => {
      this.#sessions.delete(closed);
    });
    this.#sessions.add(session);
    return session;
  }

  /** Ends the open sessions (their requests in flight get an error); the members keep running. */
  stop(): Promise<void> {
    if (this.#stopped === undefined) {
      this.#stopped = "MCP server 'aggregate' was stopped";
      for (const session of [...this.#sessions]) session.end(this.#stopped);
      for (const unwatch of this.#unwatch.values()) unwatch();
      this.#unwatch.clear();
      this.#updateState();
    }
    return Promise.resolve();
  }

  setMembers(members: readonly AggregateMember[]): void {
    const previous = this.#members;
    this.#members = [...members];
    const servers = new Set(members.map((member) => member.server));
    for (const { server } of previous) {
      if (servers.has(server)) continue;
      this.#unwatch.get(server)?.();
      this.#unwatch.delete(server);
      this.#handshakes.delete(server);
      this.routes.forget(server);
      const reason = `MCP server '${server.name}' left the aggregate`;
      for (const session of this.#sessions) session.memberRemoved(server, reason);
    }
    if (this.#stopped === undefined) {
      for (const { server } of members) {
        if (this.#unwatch.has(server)) continue;
        this.#unwatch.set(server, server.onStateChange(() => this.#memberChanged(server)));
      }
    }
    if (previous.length > 0) {
      this.log.info(
        `The aggregate serves ${members.map((member) => `'${member.server.name}'`).join(", ")}`,
      );
      for (const session of this.#sessions) session.membersChanged();
    }
    this.#updateState();
  }

  callsOn(server: SharedServer): number {
    let calls = 0;
    for (const session of this.#sessions) calls += session.callsOn(server);
    return calls;
  }

  handshakeOf(server: SharedServer): Record<string, unknown> | undefined {
    return this.#handshakes.get(server);
  }

  learnHandshake(server: SharedServer, result: Record<string, unknown>): void {
    this.#handshakes.set(server, result);
  }

  #memberChanged(server: SharedServer): void {
    for (const session of [...this.#sessions]) session.memberChanged(server);
    this.#updateState();
  }

  /**
   * Running while any member runs; else restarting while one restarts, starting while one
   * starts, failed when none can serve.
   */
  #updateState(): void {
    const states = new Set(this.#members.map((member) => member.server.state));
    const state: ServerState = this.#stopped !== undefined
      ? "stopped"
      : (["running", "restarting", "starting"] as const).find((s) => states.has(s)) ?? "failed";
    this.#state.set(state);
  }
}
