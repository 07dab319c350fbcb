/**
 * A `fetch` that does not verify TLS certificates, for `--no-verify-ssl` under Deno.
 *
 * Deno's own `fetch` can only drop verification process-wide (`--unsafely-ignore-certificate-errors`,
 * a flag of the `deno` command, out of reach of a bundled program); `Deno.createHttpClient` has
 * `caCerts` but no switch to turn checks off. Deno's `node:https` does honour
 * `rejectUnauthorized: false`, so this adapter speaks HTTPS through it and returns a web
 * `Response` whose body streams (SSE needs that).
 * @module
 */

/** Statuses whose responses have no body by definition. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * Returns a `fetch` that sends `https:` requests without certificate verification and
 * everything else through the global `fetch`. Redirects are returned, not followed.
 */
export function insecureFetch(): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    if (new URL(request.url).protocol !== "https:") return await fetch(request);
    // Loaded on first use: `--no-verify-ssl` is rare and these cost start-up time.
    const [{ request: httpsRequest }, { Readable }] = await Promise.all([
      import("node:https"),
      import("node:stream"),
    ]);
    const body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
    return await new Promise<Response>((resolve, reject) => {
      const outgoing = httpsRequest(request.url, {
        method: request.method,
        headers: Object.fromEntries(request.headers),
        rejectUnauthorized: false,
        signal: request.signal,
      }, (incoming) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          for (const item of [value ?? []].flat()) headers.append(name, item);
        }
        const status = incoming.statusCode ?? 502;
        const hasBody = !NULL_BODY_STATUSES.has(status) && request.method !== "HEAD";
        if (!hasBody) incoming.resume();
        resolve(
          new Response(hasBody ? Readable.toWeb(incoming) as ReadableStream<Uint8Array> : null, {
            status,
            statusText: incoming.statusMessage,
            headers,
          }),
        );
      });
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  };
}
