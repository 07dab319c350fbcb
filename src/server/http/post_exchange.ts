/**
 * The answer to one Streamable HTTP POST that carries requests: plain `application/json`
 * when the responses come before anything else, else an event stream.
 *
 * Most calls are answered with nothing before their response; a JSON body spares both sides
 * the event-stream machinery. A notification (progress, logging) or a server-to-client
 * request (sampling) tied to a request must reach the client before the response, so the
 * first such message switches the answer to an event stream, which stays open until every
 * response is sent.
 * @module
 */
import { errorResponse, type RequestId, type WireMessage } from "../../protocol/jsonrpc.ts";
import type { Abandonable, AbandonWatch } from "./abandon_watch.ts";
import { responseWith } from "./response.ts";
import { type KeepAliveTicker, SSE_HEADERS, SseStream } from "./sse_stream.ts";

/** How an exchange reaches the rest of its session. */
export interface ExchangeContext {
  /** Headers for the answer (the session id). */
  readonly headers: Readonly<Record<string, string>>;
  /** Keep-alive for the event stream, if the answer becomes one. */
  readonly keepAlive: KeepAliveTicker;
  /** Called once when the exchange is over: every response sent, or the client gone. */
  readonly onDone: (exchange: PostExchange) => void;
  /** Notices a client that leaves before its answer: it watches the exchange until it is over. */
  readonly abandonWatch: AbandonWatch;
  /** The POST the exchange answers (whose client the watch may see leave). */
  readonly request: Request;
}

/** One POST's requests awaiting their responses. */
export class PostExchange implements Abandonable {
  /**
   * The client's ids of the requests still unanswered. An array, not a set: most POSTs hold
   * one request, and a set costs an allocation to make and another when it empties.
   */
  readonly #pending: RequestId[];
  /** Resolves with the HTTP answer: JSON once all responses are in, or an event stream. */
  readonly response: Promise<Response>;
  /**
   * The status of a JSON answer: 200, unless the modern era maps its error to another one
   * (404 for an unknown method, 400 for a missing client capability).
   */
  status = 200;
  readonly #batch: boolean;
  readonly #context: ExchangeContext;
  readonly #resolve: (response: Response) => void;
  /** Responses held for a JSON answer, each as its JSON text. */
  #responses: string[] = [];
  #stream: SseStream | undefined;
  #done = false;

  /** An exchange for the requests `ids`; `batch` when the POST body was an array. */
  constructor(ids: readonly RequestId[], batch: boolean, context: ExchangeContext) {
    this.#pending = ids.slice();
    this.#batch = batch;
    this.#context = context;
    const { promise, resolve } = Promise.withResolvers<Response>();
    this.response = promise;
    this.#resolve = resolve;
    context.abandonWatch.add(context.request, this);
  }

  /** The client's ids of the requests still unanswered. */
  get pending(): readonly RequestId[] {
    return this.#pending;
  }

  /** Whether the exchange is over: every response sent, or the client gone. */
  get done(): boolean {
    return this.#done;
  }

  /**
   * Delivers a message tied to one of the exchange's requests (its response, or not); `text`
   * is its JSON, when known.
   */
  deliver(message: WireMessage, text?: string): void {
    if (this.#done) return;
    const isResponse = message.method === undefined;
    if (isResponse && message.id != null) this.#answered(message.id);
    const stream = this.#stream ?? (isResponse ? undefined : this.#openStream());
    if (stream) {
      stream.send(message, text);
    } else {
      this.#responses.push(text ?? JSON.stringify(message));
    }
    if (this.#pending.length === 0) this.#finish();
  }

  /**
   * Ends the exchange early (the session ended): each unanswered request gets an error
   * response with `reason`, so that no client waits forever.
   */
  abort(code: number, reason: string): void {
    for (const id of [...this.pending]) {
      this.deliver(errorResponse(id, code, reason));
    }
  }

  /** The client went away before its answer: nothing more is sent and the exchange ends. */
  abandon(): void {
    if (this.#done) return;
    this.#stream?.close();
    // Settles the handler's promise, so that the HTTP server lets go of the connection.
    this.#resolve(new Response(null, { status: 499 }));
    this.#end();
  }

  /** Takes `id` off the unanswered ones (order does not matter). */
  #answered(id: RequestId): void {
    const pending = this.#pending;
    const at = pending.indexOf(id);
    if (at === -1) return;
    pending[at] = pending[pending.length - 1];
    pending.pop();
  }

  #openStream(): SseStream {
    const stream = new SseStream(() => this.#end());
    this.#stream = stream;
    this.#context.keepAlive.add(stream);
    for (const response of this.#responses) stream.sendText(response);
    this.#responses = [];
    this.#resolve(
      new Response(stream.body, { headers: { ...SSE_HEADERS, ...this.#context.headers } }),
    );
    return stream;
  }

  #finish(): void {
    if (this.#stream) {
      this.#stream.close();
    } else {
      const body = this.#batch ? `[${this.#responses.join(",")}]` : this.#responses[0];
      this.#resolve(
        responseWith(
          body,
          { status: this.status, contentType: "application/json" },
          this.#context.headers,
        ),
      );
    }
    this.#end();
  }

  /** The answer is complete or the client cancelled the stream. */
  #end(): void {
    if (this.#done) return;
    this.#done = true;
    this.#context.abandonWatch.forget(this);
    if (this.#stream) this.#context.keepAlive.remove(this.#stream);
    this.#context.onDone(this);
  }
}
