/**
 * HTTP error answers with a JSON-RPC error body, so that an MCP client can tell what went wrong
 * from the body as well as the status.
 * @module
 */

/** JSON-RPC: the body is not valid JSON. */
export const PARSE_ERROR = -32700;

/** JSON-RPC: the JSON is not a valid request object. */
export const INVALID_REQUEST = -32600;

/** Implementation-defined server error (the MCP SDK's code for transport-level refusals). */
export const TRANSPORT_ERROR = -32000;

/** The SDK's code for an unknown or ended session. */
export const SESSION_NOT_FOUND = -32001;

/**
 * A response with status `status` and body `{"jsonrpc":"2.0","error":{code,message},"id":null}`:
 * the id is null because the request it answers was not (or could not be) read.
 */
export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: "2.0", error: { code, message }, id: null }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}
