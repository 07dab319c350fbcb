/**
 * HTTP error answers with a JSON-RPC error body, so that an MCP client can tell what went wrong
 * from the body as well as the status.
 * @module
 */
import { errorResponse, ProtocolErrorCode, type RequestId } from "../../protocol/jsonrpc.ts";
import { responseWith } from "./response.ts";

/**
 * A response with status `status` and a JSON-RPC error body; its id is `id`, or null when the
 * request it answers was not (or could not be) read.
 */
export function jsonRpcErrorResponse(
  status: number,
  code: number,
  message: string,
  headers: Readonly<Record<string, string>> = {},
  id: RequestId | null = null,
): Response {
  return responseWith(
    JSON.stringify(errorResponse(id, code, message)),
    { status, contentType: "application/json" },
    headers,
  );
}

/** Refuses a request for the transport's own reasons (the SDK transports' code, -32000). */
export function refuse(
  status: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  return jsonRpcErrorResponse(status, ProtocolErrorCode.TransportRefused, message, headers);
}

/** 404 for an unknown or ended session (the SDK transports' code, -32001). */
export function sessionNotFound(): Response {
  return jsonRpcErrorResponse(404, ProtocolErrorCode.SessionNotFound, "Session not found");
}
