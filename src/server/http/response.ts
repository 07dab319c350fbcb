/**
 * Building the transports' frequent answers cheaply.
 * @module
 */
import { utf8Length } from "../../core/observe/metrics.ts";
import { observed } from "../../core/observe/observed.ts";

/** The body sizes of answers built here, kept while metrics count the bytes sent. */
const bodySizes = new WeakMap<Response, number>();

/** The size in bytes of `response`'s body, if it was built here while metrics are on. */
export function sentBodySize(response: Response): number | undefined {
  return bodySizes.get(response);
}

/**
 * A response whose `headers` are set after it was built. Deno builds a response with no
 * headers or a lone `content-type` on a fast path (about 0.1 µs) and any other header list on
 * a slow one (about 2.2 µs); setting the rest afterwards costs about 0.4 µs. Every JSON answer
 * of a session carries its `mcp-session-id`, so this is paid once per call.
 */
export function responseWith(
  body: string | null,
  init: { status: number; contentType?: string },
  headers: Readonly<Record<string, string>>,
): Response {
  const response = new Response(
    body,
    init.contentType === undefined
      ? { status: init.status }
      : { status: init.status, headers: { "content-type": init.contentType } },
  );
  for (const name in headers) response.headers.set(name, headers[name]);
  if (body !== null && observed.metrics) bodySizes.set(response, utf8Length(body));
  return response;
}
