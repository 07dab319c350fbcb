/**
 * The multiplexer's link to its upstream: client traffic waits (queued) for the upstream to
 * open, is refused with a reason, or flows to the open upstream. An attached upstream that is
 * not open yet only gets the proxy's own requests (its handshake), and responses to its own
 * requests.
 * @module
 */
import type { ChildHandshake, SessionContext } from "../protocol/handshake.ts";
import {
  errorResponse,
  type IncomingNotification,
  type IncomingRequest,
  ProtocolErrorCode,
  type WireMessage,
} from "../protocol/jsonrpc.ts";
import { readsOneWay, withId } from "../protocol/wire_text.ts";
import type { Session } from "./mux_session.ts";

/** Where the multiplexer writes messages for the upstream server. */
export interface Upstream {
  /**
   * Writes one message to the server: a client's, forwarded for `session`, or the proxy's own
   * (`session` undefined). `text` is `message` as JSON, when the client's own text could be
   * kept: an upstream that writes `message` unchanged may write it instead.
   */
  send(message: WireMessage, session?: SessionContext, text?: string): void;
}

/** A client message that waits for the upstream to open. */
export interface Queued {
  /** The session that sent it. */
  readonly session: Session;
  /** The message, as its client sent it. */
  readonly incoming: IncomingRequest | IncomingNotification;
}

/** The state of the link; the multiplexer replaces it whole on each change. */
export type Link =
  | { readonly kind: "waiting"; readonly upstream: Upstream | undefined; readonly queue: Queued[] }
  | { readonly kind: "refusing"; readonly upstream: Upstream | undefined; readonly reason: string }
  | { readonly kind: "open"; readonly upstream: Upstream; readonly child: ChildHandshake };

/** A link where traffic waits for `upstream` (none yet if `undefined`) to open. */
export function waitingFor(upstream: Upstream | undefined): Link {
  return { kind: "waiting", upstream, queue: [] };
}

/**
 * `link` with `upstream` in place of its own (`undefined`: it went away). An open link's
 * upstream is replaced by one that has not opened: traffic waits again.
 */
export function withUpstream(link: Link, upstream: Upstream | undefined): Link {
  return link.kind === "open" ? waitingFor(upstream) : { ...link, upstream };
}

/** `link` without what `session` (which closed) had queued. */
export function withoutSession(link: Link, session: Session): Link {
  if (link.kind !== "waiting") return link;
  return { ...link, queue: link.queue.filter((queued) => queued.session !== session) };
}

/** Queues a client's message on a waiting link, or refuses it on a refusing one. */
export function holdOrRefuse(link: Link, session: Session, incoming: Queued["incoming"]): void {
  if (link.kind === "waiting") link.queue.push({ session, incoming });
  else if (link.kind === "refusing") refuseMessage(session, incoming, link.reason);
}

/** Answers a client's request with an error saying `reason` (a notification needs none). */
export function refuseMessage(
  session: Session,
  incoming: Queued["incoming"],
  reason: string,
): void {
  if (incoming.kind !== "request") return;
  const id = incoming.message.id;
  session.calls?.refused(session.client, incoming);
  session.deliver(errorResponse(id, ProtocolErrorCode.ConnectionClosed, reason), id);
}

/**
 * A client's request as it goes upstream under the proxy's id `id`: its progress token
 * replaced by `id`, and its `_meta.traceparent` by `traceparent` when the call is traced. With
 * the message, the client's own text with only its id changed, when nothing else changes and
 * the id's place is plain (then it is written instead of serializing the message again).
 */
export function asForwarded(
  { message, params, text }: IncomingRequest,
  id: number,
  traceparent: string | undefined,
): [WireMessage, string | undefined] {
  const progressToken = params._meta?.progressToken;
  if (progressToken === undefined && traceparent === undefined) {
    const forwardedText = text !== undefined && readsOneWay(text)
      ? withId(text, message.id, id)
      : undefined;
    return [{ ...message, id }, forwardedText];
  }
  const meta = { ...params._meta };
  if (progressToken !== undefined) meta.progressToken = id;
  if (traceparent !== undefined) meta.traceparent = traceparent;
  return [{ ...message, id, params: { ...params, _meta: meta } }, undefined];
}
