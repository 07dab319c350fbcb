/**
 * The options of the session tables of both HTTP transports (legacy SSE and Streamable HTTP).
 * @module
 */

/** How a session table serves one shared server. */
export interface SessionTableOptions {
  /** Largest accepted request body, in bytes (413 above). */
  readonly maxBodyBytes: number;
  /** Keep-alive interval of event streams in milliseconds (0: none); defaults to 15 s. */
  readonly keepAliveMs?: number;
  /** Unread bytes before a client is dropped from its event stream; defaults to 16 MiB. */
  readonly maxUnreadBytes?: number;
  /** Streamable HTTP without sessions: one multiplexer session per POST. */
  readonly stateless?: boolean;
}
