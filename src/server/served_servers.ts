/**
 * The servers server mode runs and where each is mounted, and how a config reload changes
 * them: added servers start, removed ones drain and stop, changed ones are replaced (the old
 * one drains), unchanged ones are left alone with their sessions and children.
 * @module
 */
import type { AggregateSettings, ServedConfiguration, ServedServerConfig } from "../config.ts";
import { getLogger } from "../io/log.ts";
import type { SharedServer } from "../core/types.ts";
import type { ProxyApp } from "./app.ts";
import { buildServer } from "./build_server.ts";

const log = getLogger("mcp_proxy.server");

/**
 * How long a removed or replaced server keeps serving the sessions open on it, so that calls
 * in flight can finish; then they are closed and its child stopped.
 */
export const RELOAD_DRAIN_MS = 10_000;

/** One running server and the configuration it was built from. */
interface Running {
  readonly config: ServedServerConfig;
  /** The configuration as compared on reload (its environment included, never logged). */
  readonly fingerprint: string;
  readonly server: SharedServer;
}

/** The servers of a run, mounted on `app`. */
export class ServedServers {
  readonly #app: ProxyApp;
  readonly #serving: Promise<void>;
  readonly #running = new Map<string, Running>();
  /** Servers being drained and stopped after a reload, until they are. */
  readonly #retiring = new Set<Promise<void>>();
  #aggregate: AggregateSettings | undefined;

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
    this.#aggregate = aggregate;
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
    this.#aggregate = next.aggregate;
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
    ]);
  }

  /** Builds and mounts the server of `config`. */
  #mount(config: ServedServerConfig): SharedServer {
    const server = buildServer(config, this.#serving);
    this.#running.set(config.name, { config, fingerprint: fingerprintOf(config), server });
    this.#app.mount({ server, pathPrefix: config.pathPrefix });
    return server;
  }

  /** Unmounts `running` at once; its open sessions drain, then it stops. */
  #retire(running: Running): void {
    this.#running.delete(running.config.name);
    const retired = this.#app.unmount(running.config.pathPrefix, RELOAD_DRAIN_MS)
      .then(() => running.server.stop())
      .finally(() => this.#retiring.delete(retired));
    this.#retiring.add(retired);
  }
}

/** What decides whether a server changed: everything it is built from. */
function fingerprintOf(config: ServedServerConfig): string {
  return JSON.stringify(config);
}

function describeNames(what: string, names: readonly string[]): string {
  return names.length === 0 ? `none ${what}` : `${what} ${names.map((n) => `'${n}'`).join(", ")}`;
}
