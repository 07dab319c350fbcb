/**
 * The loose JSON-RPC shape the relay routes on, and the error responses it makes itself.
 *
 * Messages are routed on `id`, `method` and a few `params` fields only; everything else is
 * forwarded untouched and unvalidated, which is what keeps the relay transparent and cheap.
 * @module
 */
import type { JSONRPCMessage, RequestId } from "../deps.ts";

/** Any JSON-RPC message, as parsed from the wire. */
export interface WireMessage {
  jsonrpc: "2.0";
  id?: RequestId | null;
  method?: string;
  params?: Params;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** Request or notification params. */
export type Params = Record<string, unknown> & { _meta?: Record<string, unknown> };

/** Error code for a request the server could not serve because its child is not running. */
export const SERVER_UNAVAILABLE = -32000;
/** JSON-RPC "Invalid params". */
export const INVALID_PARAMS = -32602;
/** JSON-RPC "Internal error". */
export const INTERNAL_ERROR = -32603;

/** A JSON-RPC error response. */
export function errorResponse(id: RequestId, code: number, message: string): JSONRPCMessage {
  return { jsonrpc: "2.0", id, error: { code, message } };
}

/** A JSON-RPC result response. */
export function resultResponse(id: RequestId, result: Record<string, unknown>): JSONRPCMessage {
  return { jsonrpc: "2.0", id, result } as JSONRPCMessage;
}
