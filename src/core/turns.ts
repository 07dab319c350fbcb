/**
 * Whose turn it is to call a server that asks its clients things (sampling, elicitation,
 * roots). A legacy stdio server does not say which call a question belongs to; the proxy
 * makes that knowable. While the server has never asked, calls run concurrently. Once it has,
 * calls that may ask ({@linkcode mayAskClient}) reach it from one client session at a time,
 * so a question belongs to the one session whose such calls are in flight. A session that
 * keeps the turn while its client leaves a question unanswered for the patience, with other
 * sessions' calls waiting, has its calls cancelled.
 * @module
 */
import { mayAskClient } from "../protocol/ask_order.ts";
import type { IncomingRequest, RequestId } from "../protocol/jsonrpc.ts";

/**
 * How long a session's turn waits while all its calls wait on its client's answers (a person
 * reading a question, or a client that went away): then, other sessions' calls waiting, its
 * calls are cancelled rather than holding every other client back.
 */
export const TURN_PATIENCE_MS = 5_000;

/** A call that waits for its session's turn. */
export interface Held<Session> {
  /** The session that sent it. */
  readonly session: Session;
  /** The call. */
  readonly incoming: IncomingRequest;
}

/**
 * In which order calls that may ask reach the server: `concurrent` while it has never asked a
 * client anything (most servers never do); `serial` once it has: one session's such calls at a
 * time, the others `held` in arrival order.
 */
type AskOrder<Session> =
  | { readonly kind: "concurrent" }
  | { readonly kind: "serial"; readonly held: Held<Session>[] };

/** What one session holds: calls that may ask in flight, and questions its client owes. */
interface Standing {
  calls: number;
  questions: number;
  /** Since when (`performance.now()`) questions have been open. */
  questionsSince: number;
}

/** What {@linkcode Turns} asks of the multiplexer. */
export interface TurnsHost<Session> {
  /** Sends a call whose turn came. */
  admit(session: Session, incoming: IncomingRequest): void;
  /**
   * Cancels `session`'s calls that may ask, and withdraws its open questions: it kept the turn
   * for the patience while others waited. Each cancelled call must be ended with
   * {@linkcode Turns.callEnded}.
   */
  cancelWaiting(session: Session, waitedMs: number): void;
}

/** The turn order of one server's calls that may ask. */
export class Turns<Session> {
  readonly #host: TurnsHost<Session>;
  readonly #patienceMs: number;
  #order: AskOrder<Session> = { kind: "concurrent" };
  /** Sessions with calls that may ask in flight: the candidates for a question. */
  readonly #asking = new Map<Session, Standing>();
  /** Looks at the turn again once its holder may have waited the patience. */
  #patience: ReturnType<typeof setTimeout> | undefined;

  /** Turns that wait `patienceMs` for a holder's client before passing on. */
  constructor(host: TurnsHost<Session>, patienceMs = TURN_PATIENCE_MS) {
    this.#host = host;
    this.#patienceMs = patienceMs;
  }

  /**
   * The server asked a client something: from now on, calls that may ask go one session at a
   * time. Returns whether this is news.
   */
  learnThatServerAsks(): boolean {
    if (this.#order.kind === "serial") return false;
    this.#order = { kind: "serial", held: [] };
    return true;
  }

  /** Holds `incoming` of `session` when it must wait for its turn; returns whether it did. */
  holds(session: Session, incoming: IncomingRequest): boolean {
    const order = this.#order;
    if (order.kind === "concurrent" || !mayAskClient(incoming.message.method)) return false;
    if (order.held.length === 0 && (this.#asking.size === 0 || this.#asking.has(session))) {
      return false;
    }
    order.held.push({ session, incoming });
    this.#armPatience();
    return true;
  }

  /** Whether a call of `session` with the client's `id` waits for its turn. */
  isHeld(session: Session, id: RequestId): boolean {
    return this.#heldIndex(session, id) >= 0;
  }

  /** Forgets a call still waiting for its turn (its client cancelled it); whether it was. */
  dropHeld(session: Session, id: RequestId): boolean {
    const index = this.#heldIndex(session, id);
    if (index < 0) return false;
    (this.#order as Extract<AskOrder<Session>, { kind: "serial" }>).held.splice(index, 1);
    this.#disarmIfIdle();
    return true;
  }

  /** A call of `session` reached the server; returns whether it may ask. */
  callStarted(session: Session, method: string): boolean {
    if (!mayAskClient(method)) return false;
    const standing = this.#asking.get(session);
    if (standing) standing.calls++;
    else this.#asking.set(session, { calls: 1, questions: 0, questionsSince: 0 });
    return true;
  }

  /** A call of `session` that may ask ended: the turn passes once none of its calls is left. */
  callEnded(session: Session): void {
    const standing = this.#asking.get(session);
    if (!standing || --standing.calls > 0) return;
    this.#asking.delete(session);
    this.passTurn();
  }

  /** The session a question belongs to when it is the one with calls that may ask in flight. */
  onlyAsker(): Session | undefined {
    return this.#asking.size === 1 ? this.#asking.keys().next().value : undefined;
  }

  /** How many sessions have calls that may ask in flight. */
  get askers(): number {
    return this.#asking.size;
  }

  /** `session`'s client was sent a question. */
  questionAsked(session: Session): void {
    const standing = this.#asking.get(session);
    if (standing && standing.questions++ === 0) standing.questionsSince = performance.now();
  }

  /** A question to `session`'s client was answered, withdrawn or cancelled. */
  questionClosed(session: Session): void {
    const standing = this.#asking.get(session);
    if (standing && standing.questions > 0) standing.questions--;
  }

  /** Forgets a closed session: its calls, questions and waiting calls. */
  forget(session: Session): void {
    this.#asking.delete(session);
    const order = this.#order;
    if (order.kind === "serial") {
      const others = order.held.filter((held) => held.session !== session);
      order.held.splice(0, order.held.length, ...others);
    }
    this.passTurn();
    this.#disarmIfIdle();
  }

  /** The server went away: nothing is in flight; returns the calls that waited, in order. */
  reset(): Held<Session>[] {
    this.#asking.clear();
    const order = this.#order;
    const held = order.kind === "serial" ? order.held.splice(0) : [];
    this.#disarmIfIdle();
    return held;
  }

  /**
   * Gives the turn to the session whose call waited longest, once no session's calls that may
   * ask are in flight (or all that are have waited the patience on their clients, and are
   * cancelled): all its waiting calls go, the others keep waiting.
   */
  passTurn(): void {
    const order = this.#order;
    const next = order.kind === "serial" ? order.held[0]?.session : undefined;
    if (order.kind === "concurrent" || next === undefined) return;
    if (this.#asking.size > 0) {
      const now = performance.now();
      const holders = [...this.#asking];
      const patient = holders.every(([, standing]) =>
        standing.questions > 0 && now - standing.questionsSince >= this.#patienceMs
      );
      if (!patient) return this.#armPatience();
      // Cancelling their calls ends them (callEnded), which passes the turn.
      for (const [session] of holders) this.#host.cancelWaiting(session, this.#patienceMs);
      if (this.#asking.size > 0) this.#armPatience();
      return;
    }
    const mine = order.held.filter((held) => held.session === next);
    const others = order.held.filter((held) => held.session !== next);
    order.held.splice(0, order.held.length, ...others);
    for (const { incoming } of mine) this.#host.admit(next, incoming);
    if (others.length > 0) this.#armPatience();
    else this.#disarmIfIdle();
  }

  #heldIndex(session: Session, id: RequestId): number {
    const order = this.#order;
    if (order.kind === "concurrent") return -1;
    return order.held.findIndex((held) =>
      held.session === session && held.incoming.message.id === id
    );
  }

  #armPatience(): void {
    if (this.#patience !== undefined) return;
    this.#patience = setTimeout(() => {
      this.#patience = undefined;
      this.passTurn();
    }, this.#patienceMs);
  }

  /** Stops looking at the turn once no call waits for it. */
  #disarmIfIdle(): void {
    const order = this.#order;
    if (order.kind === "serial" && order.held.length > 0) return;
    clearTimeout(this.#patience);
    this.#patience = undefined;
  }
}
