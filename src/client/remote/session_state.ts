/**
 * The state a client builds up in a remote session beyond `initialize`: resource
 * subscriptions and the logging level. A new session starts without it, so it is replayed.
 * @module
 */
import type { RequestId } from "../../protocol/jsonrpc.ts";

/** A request to send again on a new session. */
export interface ReplayedRequest {
  /** `logging/setLevel` or `resources/subscribe`. */
  method: string;
  /** The client's params, as it sent them. */
  params: Record<string, unknown>;
}

/** Methods whose success changes the session's state, and the state entry they set. */
function stateKey(method: string, params: Record<string, unknown>): string | undefined {
  if (method === "logging/setLevel") return method;
  if (method === "resources/subscribe" || method === "resources/unsubscribe") {
    return `resources/subscribe ${String(params.uri)}`;
  }
  return undefined;
}

/** Follows the client's state-changing requests and their outcomes. */
export class SessionState {
  #pending = new Map<RequestId, ReplayedRequest & { key: string }>();
  #state = new Map<string, ReplayedRequest>();

  /** Notes a request on its way to the server. */
  request(id: RequestId, method: string, params: Record<string, unknown> = {}): void {
    const key = stateKey(method, params);
    if (key !== undefined) this.#pending.set(id, { key, method, params });
  }

  /** Notes the server's answer to request `id`; only a success changes the state. */
  response(id: RequestId, succeeded: boolean): void {
    const request = this.#pending.get(id);
    if (!request) return;
    this.#pending.delete(id);
    if (!succeeded) return;
    if (request.method === "resources/unsubscribe") this.#state.delete(request.key);
    else this.#state.set(request.key, { method: request.method, params: request.params });
  }

  /** Forgets requests that will never be answered (their session is gone). */
  dropPending(): void {
    this.#pending.clear();
  }

  /** The requests that rebuild the state on a new session. */
  replay(): ReplayedRequest[] {
    return [...this.#state.values()];
  }
}
