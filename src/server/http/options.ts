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
  /**
   * This instance's id among several behind a load balancer: session ids, the SSE endpoint
   * and request states name it. Absent: alone.
   */
  readonly instanceId?: string;
  /** The key that seals request states, shared by every instance; absent: a random one. */
  readonly stateKey?: string;
}
