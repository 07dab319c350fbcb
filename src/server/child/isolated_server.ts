/**
 * A stdio server with a child per user (mcp-proxy addition): instead of one child shared by
 * every client, a pool of children, each serving one legacy session (`"isolation": "session"`)
 * or every client that sends one value of a request header (`"isolation": "header:NAME"`),
 * each started with that user's `headerEnv` headers as environment variables.
 * @module
 */
import { createHash, randomBytes } from "node:crypto";
import {
  DEFAULT_SERVING_LIMITS,
  type IsolationSettings,
  type ServingLimits,
  type StdioServerConfig,
} from "../../config.ts";
import { formatDuration } from "../../io/async.ts";
import { getLogger } from "../../io/log.ts";
import type { PostHeaders } from "../../protocol/http_classify.ts";
import {
  type ClientSink,
  type MuxSession,
  type ServerState,
  type SessionOpening,
  SessionRefused,
  type SharedServer,
} from "../../core/types.ts";
import { createSharedServer, type SharedServerOptions } from "./shared_server.ts";
import { ServerStateCell } from "../../core/server_state.ts";

const log = getLogger("mcp_proxy.server");

/** How many hex digits of a user's key name its child in logs: enough to tell users apart. */
const LABEL_DIGITS = 8;

/** A stdio server to run a child per user of. */
export type IsolatedServerConfig = StdioServerConfig & { readonly isolation: IsolationSettings };

/** Tuning of {@linkcode createIsolatedServer}: that of each child, mostly for tests. */
export interface IsolatedServerOptions
  extends Omit<SharedServerOptions, "onStderrLine" | "firstRetryAfter"> {
  /**
   * Receives each line a child writes to stderr, with that child's name (default: our stderr,
   * prefixed `[child name] `).
   */
  onStderrLine?: (line: string, child: string) => void;
}

/** A server with a child per user, which always tells how many children it runs. */
export interface IsolatedServer extends SharedServer {
  /** How many children run (or start) now, for `/status`. */
  readonly children: number;
}

/**
 * Creates the server for `config` that runs a child per user, as `config.isolation` says.
 *
 * No child starts with the server: `start()` resolves at once and the state is `"running"`
 * from then on, meaning that the server takes clients (each child has a state of its own,
 * which its clients see as the shared server's: their requests wait while it starts and get
 * errors if it cannot). A user's first session starts the user's child with `config.env` plus
 * the variables of `headerEnv`, read from the headers of the request that opened the session;
 * later sessions of the same user share it.
 *
 * - `session`: each session gets a child of its own, stopped when the session closes. A
 *   modern (2026-07-28) request, or a POST to `/mcp` under `--stateless`, has no session and
 *   is refused with 400.
 * - `header:NAME`: one child per distinct value of the header and of the `headerEnv` headers
 *   together, so that two clients with the same NAME but different credentials never share.
 *   Users are told apart by a salted SHA-256 hash of those values, of which logs show a short
 *   prefix; the values themselves are never kept or logged. A child without sessions for
 *   `idleTimeoutMs` is stopped (at once when 0). Serves both eras.
 *
 * A request without the isolation header or one of the `headerEnv` headers is refused with
 * 400 (a child without the user's credential could fall back on the proxy's own); a new user
 * past `maxChildren` children with 503. `stop()` stops every child.
 */
export function createIsolatedServer(
  config: IsolatedServerConfig,
  options: IsolatedServerOptions = {},
): IsolatedServer {
  return new PerUserServer(config, options);
}

/** One user's child and what keeps it alive. */
interface Child {
  readonly server: SharedServer;
  /** Whose child it is, for logs: `user` and a prefix of its key, or `session` and a number. */
  readonly label: string;
  /** Open sessions on it. */
  sessions: number;
  /** Stops it once it was idle long enough. */
  idleTimer?: ReturnType<typeof setTimeout>;
}

class PerUserServer implements IsolatedServer {
  readonly name: string;
  readonly limits: ServingLimits;
  readonly #state = new ServerStateCell("starting");
  readonly #config: IsolatedServerConfig;
  readonly #settings: IsolationSettings;
  readonly #options: IsolatedServerOptions;
  /** The children by their user's key. */
  readonly #children = new Map<string, Child>();
  /** Stops of children under way, for `stop()` to wait on. */
  readonly #stopping = new Set<Promise<void>>();
  /** Mixed into every key: a prefix in the log cannot be matched against guessed values. */
  readonly #salt = randomBytes(32);
  #sessionsOpened = 0;
  #era: "legacy" | "modern" | undefined;
  #stopped = false;

  constructor(config: IsolatedServerConfig, options: IsolatedServerOptions) {
    this.name = config.name;
    this.limits = config.limits ?? DEFAULT_SERVING_LIMITS;
    this.#config = config;
    this.#settings = config.isolation;
    this.#options = options;
  }

  get state(): ServerState {
    return this.#state.value;
  }

  get era(): "legacy" | "modern" | undefined {
    return this.#era;
  }

  get children(): number {
    return this.#children.size;
  }

  onStateChange(listener: (state: ServerState) => void): () => void {
    return this.#state.onChange(listener);
  }

  start(): Promise<void> {
    if (!this.#stopped) this.#state.set("running");
    return Promise.resolve();
  }

  openSession(sink: ClientSink, opening: SessionOpening = {}): MuxSession {
    if (this.#stopped) throw new SessionRefused(503, `MCP server '${this.name}' was stopped`);
    const { isolation } = this.#settings;
    if (isolation.kind === "session" && (opening.modern || opening.stateless)) {
      const perSession = `MCP server '${this.name}' runs a child per session ` +
        '("isolation": "session"), which ';
      throw new SessionRefused(
        400,
        opening.modern
          ? `${perSession}2026-07-28 requests do not have; use "isolation": "header:<name>" ` +
            "or a 2025-11-25 client"
          : `${perSession}requests to /mcp under --stateless do not have; use /sse, ` +
            '"isolation": "header:<name>", or no --stateless',
      );
    }
    const value = isolation.kind === "header"
      ? present(opening.headers, isolation.header)
      : undefined;
    if (isolation.kind === "header" && value === undefined) {
      throw new SessionRefused(
        400,
        `MCP server '${this.name}' runs a child per value of the ${isolation.header} header ` +
          `("isolation": "header:${isolation.header}"); send it with every request`,
      );
    }
    const env = this.#userEnv(opening.headers);
    let key: string;
    let label: string;
    if (value !== undefined) {
      key = this.#keyOf([value, ...Object.values(env)]);
      label = `user ${key.slice(0, LABEL_DIGITS)}`;
    } else {
      key = label = `session ${++this.#sessionsOpened}`;
    }
    const child = this.#children.get(key) ?? this.#spawn(key, label, env);
    const session = child.server.openSession(sink, opening);
    child.sessions++;
    clearTimeout(child.idleTimer);
    let open = true;
    return {
      receive: session.receive,
      close: () => {
        if (!open) return;
        open = false;
        session.close();
        this.#release(key, child);
      },
    };
  }

  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopped = true;
      this.#state.set("stopped");
      for (const [key, child] of this.#children) this.#retire(key, child, "the server stopped");
    }
    await Promise.all(this.#stopping);
  }

  /**
   * The variables `headerEnv` sets for the client of `headers`; refuses the client when one
   * of its headers is missing.
   */
  #userEnv(headers: PostHeaders | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    // Sorted by header name: the key of one user's values must not depend on the file's order.
    for (const header of Object.keys(this.#settings.headerEnv).sort()) {
      const variable = this.#settings.headerEnv[header];
      const value = present(headers, header);
      if (value === undefined) {
        throw new SessionRefused(
          400,
          `MCP server '${this.name}' gives each user's child the ${header} header as ` +
            `${variable} ("headerEnv"); send it with every request`,
        );
      }
      env[variable] = value;
    }
    return env;
  }

  /** The pool key of a user's values: a salted hash, so that the values are not kept. */
  #keyOf(values: readonly string[]): string {
    return createHash("sha256").update(this.#salt).update(JSON.stringify(values)).digest("hex");
  }

  /** Starts the child of the user `key`, unless the pool is full. */
  #spawn(key: string, label: string, env: Record<string, string>): Child {
    const { maxChildren } = this.#settings;
    if (this.#children.size >= maxChildren) {
      log.warning(
        `MCP server '${this.name}': refused a new user (${label}): ${maxChildren} children run`,
      );
      throw new SessionRefused(
        503,
        `MCP server '${this.name}' has ${this.#children.size} children, the most its config ` +
          `allows; try again later, or raise "maxChildren" (${maxChildren})`,
      );
    }
    const { command, args, cwd, limits } = this.#config;
    const name = `${this.name} (${label})`;
    const onStderrLine = this.#options.onStderrLine;
    const server = createSharedServer({
      name,
      command,
      args,
      cwd,
      limits,
      env: { ...this.#config.env, ...env },
    }, {
      backoff: this.#options.backoff,
      stopGraceMs: this.#options.stopGraceMs,
      onStderrLine: onStderrLine && ((line) => onStderrLine(line, name)),
      serverLabel: this.name,
    });
    const child: Child = { server, label, sessions: 0 };
    this.#children.set(key, child);
    server.onStateChange(() => {
      this.#era = server.era ?? this.#era;
    });
    log.info(
      `MCP server '${this.name}': starting a child for ${label} ` +
        `(${this.#children.size} of at most ${maxChildren})`,
    );
    // A child that cannot start says why in the log and to its clients, and retries.
    server.start().catch(() => {});
    return child;
  }

  /** One of the child's sessions closed: stops it when that was its last, now or once idle. */
  #release(key: string, child: Child): void {
    if (--child.sessions > 0 || this.#stopped) return;
    const idleMs = this.#settings.idleTimeoutMs;
    if (this.#settings.isolation.kind === "session" || idleMs === 0) {
      this.#retire(key, child, "its last session closed");
      return;
    }
    child.idleTimer = setTimeout(
      () => this.#retire(key, child, `unused for ${formatDuration(idleMs)}`),
      idleMs,
    );
  }

  /** Takes the child out of the pool and stops it. */
  #retire(key: string, child: Child, why: string): void {
    if (this.#children.get(key) !== child) return;
    this.#children.delete(key);
    clearTimeout(child.idleTimer);
    log.info(`MCP server '${this.name}': stopping the child of ${child.label} (${why})`);
    const stopped = child.server.stop().finally(() => this.#stopping.delete(stopped));
    this.#stopping.add(stopped);
  }
}

/** The value of header `name`, unless it is absent or blank. */
function present(headers: PostHeaders | undefined, name: string): string | undefined {
  const value = headers?.get(name)?.trim();
  return value ? value : undefined;
}
