/**
 * The servers server mode runs and where each is mounted, and how a config reload changes
 * them: added servers start, removed ones drain and stop, changed ones are replaced (the old
 * one drains), unchanged ones are left alone with their sessions and children.
 * @module
 */
import {
  type AggregateSettings,
  DEFAULT_SERVING_LIMITS,
  type ServedConfiguration,
  type ServedServerConfig,
} from "../config.ts";
import { sleep } from "../io/async.ts";
import { getLogger } from "../io/log.ts";
import {
  type AggregateMember,
  type AggregateServer,
  createAggregateServer,
} from "../core/gateway/aggregate.ts";
import type { SharedServer } from "../core/types.ts";
import type { ProxyApp } from "./app.ts";
import { buildServer } from "./build_server.ts";

const log = getLogger("mcp_proxy.server");

/**
 * How long a removed or replaced server keeps serving the sessions open on it (and the
 * aggregate's calls running on it), so that calls in flight can finish; then they are closed
 * and its child stopped.
 */
export const RELOAD_DRAIN_MS = 10_000;

/** How often a retiring server is checked for aggregate calls still running on it. */
const AGGREGATE_CALLS_CHECK_MS = 100;

/** One running server and the configuration it was built from. */
interface Running {
  readonly config: ServedServerConfig;
  /** The configuration as compared on reload (its environment included, never logged). */
  readonly fingerprint: string;
  readonly server: SharedServer;
}

/** The aggregate being served, and what it was built from. */
interface RunningAggregate {
  readonly settings: AggregateSettings;
  readonly server: AggregateServer;
}

/** Where the aggregate is served: the root's `/mcp` and `/sse`. */
const AGGREGATE_PATH_PREFIX = "";

/** The servers of a run, mounted on `app`. */
export class ServedServers {
  readonly #app: ProxyApp;
  readonly #serving: Promise<void>;
  readonly #running = new Map<string, Running>();
  /** Servers being drained and stopped after a reload, until they are. */
  readonly #retiring = new Set<Promise<void>>();
  #aggregate: RunningAggregate | undefined;

  /**
   * Servers to be mounted on `app`; a server whose first start fails retries once `serving`
   * resolves (see {@linkcode buildServer}).
   */
  constructor(app: ProxyApp, serving: Promise<void>) {
    this.#app = app;
    this.#serving = serving;
  }

  /** Every running server, in the order they were added. */
  get servers(): SharedServer[] {
    return [...this.#running.values()].map(({ server }) => server);
  }

  /**
   * Builds and mounts the servers of `configs` (the first configuration), and returns them
   * for the caller to start once it listens.
   */
  add(configs: readonly ServedServerConfig[], aggregate?: AggregateSettings): SharedServer[] {
    const servers = configs.map((config) => this.#mount(config));
    this.#aggregateAs(aggregate);
    return servers;
  }

  /**
   * Moves to `next`: servers it adds are started, servers it drops or changes are drained
   * (their open sessions served for {@linkcode RELOAD_DRAIN_MS}) and stopped, and the rest are
   * left as they are. `keep` names servers outside the file (the default server), never touched.
   */
  reload(next: ServedConfiguration, keep: ReadonlySet<string>): void {
    const wanted = new Map(next.namedServers.map((config) => [config.name, config]));
    const added: string[] = [];
    const removed: string[] = [];
    const restarted: string[] = [];
    for (const [name, running] of this.#running) {
      if (keep.has(name)) continue;
      const config = wanted.get(name);
      if (config && fingerprintOf(config) === running.fingerprint) continue;
      (config ? restarted : removed).push(name);
      this.#retire(running);
    }
    for (const config of next.namedServers) {
      if (this.#running.has(config.name)) continue;
      if (!restarted.includes(config.name)) added.push(config.name);
      this.#mount(config).start().catch(() => {
        // Logged by the server, which keeps retrying.
      });
    }
    this.#aggregateAs(next.aggregate);
    const unchanged = this.#running.size - added.length - restarted.length;
    log.info(
      `Configuration reloaded: ${describeNames("added", added)}, ${
        describeNames("removed", removed)
      }, ${describeNames("restarted", restarted)}, ${unchanged} unchanged`,
    );
  }

  /** Stops every server, those still draining after a reload included. */
  async stopAll(): Promise<void> {
    await Promise.all([
      ...this.servers.map((server) => server.stop()),
      ...this.#retiring,
      this.#aggregate?.server.stop(),
    ]);
  }

  /**
   * Serves the aggregate `settings` asks for over the running servers (its members follow
   * a reload: those replaced are swapped, its clients told the lists changed), or none.
   */
  #aggregateAs(settings: AggregateSettings | undefined): void {
    const current = this.#aggregate;
    if (current && settings && current.settings.separator === settings.separator) {
      this.#aggregate = { settings, server: current.server };
      current.server.setMembers(this.#membersOf(settings));
      return;
    }
    if (current) {
      this.#aggregate = undefined;
      const retired = this.#app.unmount(AGGREGATE_PATH_PREFIX, RELOAD_DRAIN_MS)
        .then(() => current.server.stop())
        .finally(() => this.#retiring.delete(retired));
      this.#retiring.add(retired);
    }
    if (!settings) return;
    const members = this.#membersOf(settings);
    const server = createAggregateServer(members, {
      separator: settings.separator,
      limits: this.#running.get(settings.servers[0])?.config.limits ?? DEFAULT_SERVING_LIMITS,
    });
    this.#aggregate = { settings, server };
    this.#app.mount({ server, pathPrefix: AGGREGATE_PATH_PREFIX, aggregate: server });
  }

  /** The running servers `settings` names, in its order, with their prefixes. */
  #membersOf(settings: AggregateSettings): AggregateMember[] {
    return settings.servers.flatMap((name) => {
      const running = this.#running.get(name);
      return running ? [{ server: running.server, prefix: running.config.prefix }] : [];
    });
  }

  /** Builds and mounts the server of `config`. */
  #mount(config: ServedServerConfig): SharedServer {
    const server = buildServer(config, this.#serving);
    this.#running.set(config.name, { config, fingerprint: fingerprintOf(config), server });
    this.#app.mount({ server, pathPrefix: config.pathPrefix });
    return server;
  }

  /**
   * Unmounts `running` at once; its open sessions and the aggregate's calls on it drain (for
   * {@linkcode RELOAD_DRAIN_MS} at most), then it stops.
   */
  #retire(running: Running): void {
    this.#running.delete(running.config.name);
    const until = Date.now() + RELOAD_DRAIN_MS;
    const retired = this.#app.unmount(running.config.pathPrefix, RELOAD_DRAIN_MS)
      .then(() => this.#aggregateCallsEnded(running.server, until))
      .then(() => running.server.stop())
      .finally(() => this.#retiring.delete(retired));
    this.#retiring.add(retired);
  }

  /** Resolves once the aggregate runs no call on `server` (which left it), or at `until`. */
  async #aggregateCallsEnded(server: SharedServer, until: number): Promise<void> {
    while (Date.now() < until && (this.#aggregate?.server.callsOn(server) ?? 0) > 0) {
      await sleep(Math.min(AGGREGATE_CALLS_CHECK_MS, until - Date.now()));
    }
  }
}

/** What decides whether a server changed: everything it is built from. */
function fingerprintOf(config: ServedServerConfig): string {
  return JSON.stringify(config);
}

function describeNames(what: string, names: readonly string[]): string {
  return names.length === 0 ? `none ${what}` : `${what} ${names.map((n) => `'${n}'`).join(", ")}`;
}
