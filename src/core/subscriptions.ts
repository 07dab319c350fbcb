/**
 * Resource subscriptions of many client sessions, held upstream once per URI: the first
 * subscriber subscribes upstream, the last one to leave unsubscribes.
 * @module
 */

/** Most resource URIs one client session may subscribe to. */
export const MAX_SUBSCRIPTIONS_PER_SESSION = 1_000;

/** What a session that would pass {@linkcode MAX_SUBSCRIPTIONS_PER_SESSION} is answered (-32602). */
export const SESSION_SUBSCRIPTIONS_FULL: string =
  `Invalid params: a session may subscribe to at most ${MAX_SUBSCRIPTIONS_PER_SESSION} ` +
  "resources; unsubscribe from some first";

/** Which sessions subscribed to which resource URIs. */
export class Subscriptions<Session> {
  readonly #byUri = new Map<string, Set<Session>>();
  readonly #bySession = new Map<Session, Set<string>>();

  /** Whether `session` subscribed to `uri`. */
  has(session: Session, uri: string): boolean {
    return this.#byUri.get(uri)?.has(session) ?? false;
  }

  /**
   * Whether `session` may subscribe to `uri`: it holds it already, or fewer than
   * {@linkcode MAX_SUBSCRIPTIONS_PER_SESSION} URIs.
   */
  admits(session: Session, uri: string): boolean {
    const held = this.#bySession.get(session);
    return held === undefined || held.size < MAX_SUBSCRIPTIONS_PER_SESSION || held.has(uri);
  }

  /** Adds a subscription; returns whether `uri` had no subscriber before (subscribe upstream). */
  add(session: Session, uri: string): boolean {
    let sessions = this.#bySession.get(session);
    if (!sessions) this.#bySession.set(session, sessions = new Set());
    sessions.add(uri);
    const subscribers = this.#byUri.get(uri);
    if (subscribers) {
      subscribers.add(session);
      return false;
    }
    this.#byUri.set(uri, new Set([session]));
    return true;
  }

  /** Removes a subscription; returns whether `uri` has no subscriber left (unsubscribe upstream). */
  remove(session: Session, uri: string): boolean {
    this.#bySession.get(session)?.delete(uri);
    const subscribers = this.#byUri.get(uri);
    if (!subscribers?.delete(session) || subscribers.size > 0) return false;
    this.#byUri.delete(uri);
    return true;
  }

  /** Removes every subscription of `session`; returns the URIs left without a subscriber. */
  removeSession(session: Session): string[] {
    const uris = [...this.#bySession.get(session) ?? []];
    this.#bySession.delete(session);
    return uris.filter((uri) => this.remove(session, uri));
  }

  /** The sessions subscribed to `uri`. */
  subscribers(uri: string): Iterable<Session> {
    return this.#byUri.get(uri) ?? [];
  }

  /** Every URI with at least one subscriber (re-subscribed after a restart). */
  uris(): Iterable<string> {
    return this.#byUri.keys();
  }
}
