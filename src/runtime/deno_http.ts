/**
 * The Deno HTTP server, hardened against hostile clients: our own accept loop in front of
 * Deno's HTTP engine, so that connections can be counted, timed out and shed.
 *
 * `Deno.serve` offers no header, body or keep-alive timeout and no connection cap, and its
 * accept loop ends the process on `EMFILE`. Each accepted connection is therefore handed to
 * the engine behind `Deno.serve` one at a time (`serveHttpOnConnection`, the same fast path,
 * reached through `Deno[Deno.internal]`), with an abort signal that closes it; `node:http`
 * under Deno has the timeouts but costs about three times the CPU per call.
 *
 * The engine also speaks HTTP/2 with prior knowledge (h2c) on the same port, up to 200 streams
 * per connection, so the connection cap alone does not bound what is in flight: exchanges are
 * counted too, per connection and in all, and those past either bound are answered 503 at once.
 * @module
 */
import {
  DEFAULT_HTTP_LIMITS,
  type HttpLimits,
  type HttpServer,
  type ServeOptions,
} from "./types.ts";
import { withEnd } from "./stream_end.ts";

/** What `serveHttpOnConnection` is given and returns (Deno 2.x internals, untyped). */
type ServeOnConnection = (
  connection: Deno.Conn,
  signal: AbortSignal,
  handler: (request: Request, info: ConnectionRequestInfo) => Response | Promise<Response>,
  onError: (error: unknown) => Response | Promise<Response>,
  onListen: () => void,
) => { finished: Promise<void> };

/** The handler's second argument under `serveHttpOnConnection`. */
interface ConnectionRequestInfo {
  remoteAddr: Deno.NetAddr;
  /** Settles once the response was sent (or the exchange ended otherwise). */
  completed: Promise<void>;
}

/**
 * Bodies up to this size with a declared length are read before the handler runs, under the
 * body deadline; larger or chunked ones are passed through as they arrive.
 */
const PREREAD_MAX_BYTES = 64 * 1024;

/**
 * Exchanges one connection may have in flight: only an HTTP/2 connection can have more than
 * one. The floor RFC 9113 recommends for `SETTINGS_MAX_CONCURRENT_STREAMS`.
 */
export const MAX_STREAMS_PER_CONNECTION = 100;

/** How long the accept loop pauses after running out of descriptors, at most. */
const MAX_ACCEPT_BACKOFF_MS = 1_000;

/** How often a suppressed shedding warning may be repeated, with its count. */
const WARNING_INTERVAL_MS = 10_000;

/** Sent to connections refused for lack of room; fits any socket buffer. */
const SERVICE_UNAVAILABLE = new TextEncoder().encode(
  "HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
);

function serveOnConnection(): ServeOnConnection {
  const symbol = Object.getOwnPropertySymbols(Deno).find((s) => s.description === "Deno.internal");
  const internal = symbol && (Deno as unknown as Record<symbol, Record<string, unknown>>)[symbol];
  const serve = internal?.serveHttpOnConnection;
  if (typeof serve !== "function") {
    throw new Error(`Deno ${Deno.version.deno} lacks serveHttpOnConnection; use Deno 2.9`);
  }
  return serve as ServeOnConnection;
}

/** Whether an accept error means the process (or system) is out of file descriptors. */
function isOutOfDescriptors(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return code === "EMFILE" || code === "ENFILE" || /os error 2[34]\b/.test(String(message));
}

/** Whether an accept error means the listener was closed. */
function isListenerClosed(error: unknown): boolean {
  return error instanceof Deno.errors.BadResource || error instanceof Deno.errors.Interrupted;
}

/**
 * A descriptor held in reserve: given up to accept (and close) one connection when the
 * process has run out, so that the kernel's queue drains instead of spinning.
 */
class ReserveDescriptor {
  #file: Deno.FsFile | undefined;

  constructor() {
    this.#take();
  }

  /** Accepts one pending connection with the reserve released, and closes it. */
  async shedOne(listener: Deno.Listener): Promise<boolean> {
    if (!this.#file) return false;
    this.#file.close();
    this.#file = undefined;
    try {
      const conn = await listener.accept();
      conn.close();
      return true;
    } catch {
      return false;
    } finally {
      this.#take();
    }
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  #take(): void {
    try {
      this.#file = Deno.openSync(Deno.build.os === "windows" ? "NUL" : "/dev/null");
    } catch {
      // Still out of descriptors; the next shed tries again.
    }
  }
}

/** One open connection and the time by which it must have made progress. */
interface OpenConnection {
  /** The sweep after which the connection is closed; `Infinity` while busy. */
  deadline: number;
  /** Exchanges begun and not yet completed. */
  inFlight: number;
  /** Closes the connection at once. */
  close: AbortController;
}

/** Warns once, then at most every {@linkcode WARNING_INTERVAL_MS} with a count of repeats. */
function rateLimitedWarning(warn: (message: string) => void) {
  let last = -Infinity;
  let suppressed = 0;
  return (message: string) => {
    const now = performance.now();
    if (now - last < WARNING_INTERVAL_MS) {
      suppressed++;
      return;
    }
    warn(suppressed > 0 ? `${message} (${suppressed} more since the last warning)` : message);
    last = now;
    suppressed = 0;
  };
}

/**
 * `request` with its body passed through, so that the connection's body deadline ends once the
 * body has been read to the end. Costs ~100 µs per request more than reading it in one go.
 */
function passThroughBody(request: Request, connection: OpenConnection): Request {
  if (!request.body) {
    connection.deadline = Infinity;
    return request;
  }
  const body = withEnd(request.body, (how) => {
    if (how === "read") connection.deadline = Infinity;
  });
  return new Request(request, { body });
}

/**
 * Deno's engine closes a connection when its signal aborts; a connection the peer closed
 * meanwhile makes that close throw `BadResource` inside the engine's own abort listener, where
 * nothing can catch it and it would end the process. It is harmless: the connection is gone.
 */
function ignoreEngineCloseRaces(): void {
  globalThis.addEventListener("error", (event) => {
    const error = event.error;
    if (error instanceof Deno.errors.BadResource && /deno_http\/00_serve/.test(error.stack ?? "")) {
      event.preventDefault();
    }
  });
}

let engineCloseRacesIgnored = false;

/** Starts the hardened HTTP server described in the module documentation. */
export function serveGuarded(options: ServeOptions): Promise<HttpServer> {
  const serve = serveOnConnection();
  if (!engineCloseRacesIgnored) {
    engineCloseRacesIgnored = true;
    ignoreEngineCloseRaces();
  }
  const limits: HttpLimits = options.limits ?? DEFAULT_HTTP_LIMITS;
  const warn = rateLimitedWarning(options.onWarning ?? (() => {}));
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const addr = listener.addr as Deno.NetAddr;
  const reserve = new ReserveDescriptor();
  const connections = new Set<OpenConnection>();
  const finished = new Set<Promise<void>>();
  let closing = false;
  /** Exchanges in flight on all connections; at most `limits.maxConnections`. */
  let exchanges = 0;

  // Deadlines are counted in sweeps, not read from a clock: a clock read is an op, and each
  // exchange would pay two. A connection closes one to two sweep intervals after its limit.
  const sweepMs = Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4));
  let sweeps = 0;
  const sweepsAfter = (ms: number) => sweeps + Math.ceil(ms / sweepMs);
  const sweeper = setInterval(() => {
    sweeps++;
    for (const connection of connections) {
      if (connection.deadline < sweeps) connection.close.abort();
    }
  }, sweepMs);

  const handle = (connection: OpenConnection) =>
  (
    request: Request,
    info: ConnectionRequestInfo,
  ): Response | Promise<Response> => {
    if (connection.inFlight >= MAX_STREAMS_PER_CONNECTION || exchanges >= limits.maxConnections) {
      warn(
        connection.inFlight >= MAX_STREAMS_PER_CONNECTION
          ? `An HTTP/2 connection has ${connection.inFlight} exchanges in flight; ` +
            "refusing more on it"
          : `${exchanges} exchanges in flight (--max-connections); refusing new ones`,
      );
      options.onRefused?.("exchange");
      return new Response(null, { status: 503 });
    }
    exchanges++;
    connection.inFlight++;
    connection.deadline = Infinity;
    const ended = () => {
      exchanges--;
      if (--connection.inFlight > 0) return;
      // Not at once: an exchange is complete once its answer is handed to the engine, which
      // writes it on a later turn; closing now would cut the answers of the last calls.
      if (closing) setTimeout(() => connection.close.abort(), 0);
      else connection.deadline = sweepsAfter(limits.keepAliveTimeoutMs);
    };
    info.completed.then(ended, ended);
    // Not `request.body`: touching it turns a body the engine already holds into a stream,
    // which costs about half of what a whole small exchange does.
    if (request.method === "GET" || request.method === "HEAD") return options.handler({ request });
    connection.deadline = sweepsAfter(limits.bodyTimeoutMs);
    const length = Number(request.headers.get("content-length") ?? NaN);
    if (!(length <= PREREAD_MAX_BYTES)) {
      return options.handler({ request: passThroughBody(request, connection) });
    }
    // As text: Deno takes a body it holds whole straight to a string (no bytes, no decoder).
    return request.text().then(
      (bodyText) => {
        connection.deadline = Infinity;
        return options.handler({ request, bodyText });
      },
      // Cut off by the body timeout: the connection is gone, nobody reads this.
      () => new Response(null, { status: 408 }),
    );
  };

  const refuse = (conn: Deno.Conn) => {
    conn.write(SERVICE_UNAVAILABLE).catch(() => {}).finally(() => {
      try {
        conn.close();
      } catch {
        // Closed by the peer meanwhile.
      }
    });
  };

  const accept = async () => {
    let backoffMs = 0;
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (closing || isListenerClosed(error)) return;
        if (isOutOfDescriptors(error)) {
          warn(
            `Out of file descriptors with ${connections.size} connections open; ` +
              "refusing new connections until some close",
          );
          await reserve.shedOne(listener);
        }
        // Any other accept error (a peer that reset before accept) is one connection's.
        backoffMs = Math.min(MAX_ACCEPT_BACKOFF_MS, Math.max(5, backoffMs * 2));
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      if (connections.size >= limits.maxConnections) {
        warn(`${connections.size} connections open (--max-connections); refusing new ones`);
        options.onRefused?.("connection");
        refuse(conn);
        continue;
      }
      // As Deno.serve does: small writes (an SSE event, a JSON answer) go out at once.
      (conn as Deno.TcpConn).setNoDelay(true);
      const connection: OpenConnection = {
        deadline: sweepsAfter(limits.headersTimeoutMs),
        inFlight: 0,
        close: new AbortController(),
      };
      connections.add(connection);
      const done = serve(
        conn,
        connection.close.signal,
        handle(connection),
        () => new Response(null, { status: 500 }),
        () => {},
      ).finished.catch(() => {}).finally(() => {
        connections.delete(connection);
        finished.delete(done);
      });
      finished.add(done);
    }
  };
  const accepting = accept();

  return Promise.resolve({
    port: addr.port,
    hostname: addr.hostname,
    async shutdown() {
      closing = true;
      listener.close();
      await accepting;
      reserve.close();
      // Idle connections close now, busy ones once their exchange ends (as Deno.serve's).
      for (const connection of connections) {
        if (connection.inFlight === 0) connection.close.abort();
      }
      await Promise.all(finished);
      clearInterval(sweeper);
    },
  });
}
