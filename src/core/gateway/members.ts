/**
 * What the parts of the aggregate share: its members, and what a session reads of the
 * aggregate it belongs to.
 * @module
 */
import type { Logger } from "../../io/log.ts";
import type { SharedServer } from "../types.ts";
import type { ResourceRoutes } from "./resource_routes.ts";

/** One server of the aggregate. */
export interface AggregateMember {
  /** The server. */
  readonly server: SharedServer;
  /** What its tool and prompt names start with in the aggregate (then the separator). */
  readonly prefix: string;
}

/** What an aggregate session reads of its aggregate, and tells it. */
export interface AggregateContext {
  /** The members, in configured order (the first wins a resource URI two list). */
  readonly members: readonly AggregateMember[];
  /** Between a member's prefix and a tool or prompt name. */
  readonly separator: string;
  /** Which member each resource URI belongs to. */
  readonly routes: ResourceRoutes<SharedServer>;
  /** Where the sessions log. */
  readonly log: Logger;
  /** Why the aggregate serves no more, once it was stopped. */
  readonly stopped: string | undefined;
  /** The member's latest answer to `initialize` in any session, if it gave one. */
  handshakeOf(server: SharedServer): Record<string, unknown> | undefined;
  /** Takes note of a member's answer to `initialize`. */
  learnHandshake(server: SharedServer, result: Record<string, unknown>): void;
}
