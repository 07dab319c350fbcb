/**
 * A load balancer without sticky sessions, for scale-out tests: an HTTP server on loopback
 * that passes each request to the next of its backends in turn, bodies and answers streamed
 * (event streams included), so that every request of one client lands on another instance.
 * @module
 */

/** Headers of one connection, which a proxy does not pass on. */
const HOP_BY_HOP = ["connection", "keep-alive", "transfer-encoding", "host", "content-length"];

/** A running round-robin balancer; dispose of it after its backends have stopped. */
export interface RoundRobin {
  /** `http://127.0.0.1:port`, where clients connect. */
  readonly base: string;
  /** How many requests each backend got, in the order of the backends. */
  readonly sent: number[];
  [Symbol.asyncDispose](): Promise<void>;
}

function withoutHopByHop(headers: Headers): Headers {
  const kept = new Headers(headers);
  for (const name of HOP_BY_HOP) kept.delete(name);
  return kept;
}

/** Starts a balancer in front of `backends` (each `http://host:port`). */
export async function startRoundRobin(backends: readonly string[]): Promise<RoundRobin> {
  const sent = backends.map(() => 0);
  let next = 0;
  const listening = Promise.withResolvers<number>();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: ({ port }) => listening.resolve(port) },
    async (request) => {
      const turn = next++ % backends.length;
      sent[turn]++;
      const { pathname, search } = new URL(request.url);
      try {
        const answer = await fetch(`${backends[turn]}${pathname}${search}`, {
          method: request.method,
          headers: withoutHopByHop(request.headers),
          body: request.body,
          signal: request.signal,
        });
        return new Response(answer.body, {
          status: answer.status,
          headers: withoutHopByHop(answer.headers),
        });
      } catch (error) {
        return new Response(`round robin: ${(error as Error).message}`, { status: 502 });
      }
    },
  );
  const port = await listening.promise;
  return {
    base: `http://127.0.0.1:${port}`,
    sent,
    // An event stream passed on ends only when its backend ends it (Deno pipes a fetched body
    // into an answer on its own, deaf to the fetch's abort): stop the backends first.
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
