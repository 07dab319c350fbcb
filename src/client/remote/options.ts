/**
 * Where and how client mode reaches the remote server: what era detection, both kinds of
 * remote and the relays all need, declared once.
 * @module
 */
import type { Logger } from "../../io/log.ts";
import type { RemoteFetch } from "./redirects.ts";

/** The remote server and the means to reach it; extended by each user with what it adds. */
export interface RemoteOptions {
  /** The remote MCP server's URL. */
  readonly url: string;
  /** Sent with every request to the remote (the user's `--headers`). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `fetch` for the remote: TLS options applied, OAuth token or password attached. */
  readonly fetch: RemoteFetch;
  /** Where detection, reconnections, failed sends and dropped messages are reported. */
  readonly log: Logger;
}
