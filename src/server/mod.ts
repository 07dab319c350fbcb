/**
 * Server mode: stdio servers exposed over SSE and Streamable HTTP. Starts every server in
 * parallel, listens, prints where each is served, and shuts down on SIGINT or SIGTERM (after
 * a drain, with `--drain-timeout`).
 * @module
 */
import type { ServerSettings, StdioServerConfig } from "../config.ts";
import { settlesWithin } from "../io/async.ts";
import { getLogger, maskCommandLine } from "../io/log.ts";
import { reloadOnChange } from "./config_reload.ts";
import { ServedServers } from "./served_servers.ts";
import { runtime } from "../runtime/mod.ts";
import { createProxyApp, type ProxyApp } from "./app.ts";
import { isLoopbackHost } from "./guards/loopback.ts";
import { observeServer } from "./observe/mod.ts";

const log = getLogger("mcp_proxy.server");

/** How long open HTTP exchanges may take to finish once shutdown has begun. */
const HTTP_SHUTDOWN_GRACE_MS = 5_000;

/**
 * Resolves with the name of the first of `signals`; later ones get the default action. SIGHUP
 * (the terminal went away) is among them unless it reloads the config file.
 */
function firstShutdownSignal(signals: readonly ShutdownSignal[]): Promise<string> {
  return new Promise((resolve) => {
    const stops = signals.map((signal) =>
      runtime.onSignal(signal, () => {
        for (const stop of stops) stop();
        resolve(signal);
      })
    );
  });
}

type ShutdownSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The base URL of a listener, with IPv6 hosts in brackets. */
export function baseUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function logUrls(base: string, prefixes: readonly string[]): void {
  for (const [label, path] of [["SSE", "/sse"], ["Streamable HTTP", "/mcp"]]) {
    log.info(`Serving MCP Servers via ${label}:`);
    for (const prefix of prefixes) log.info(`  - ${base}${prefix}${path}`);
  }
}

/** The command line of `config`, for logs: secret-looking option values masked. */
function commandLine({ command, args }: StdioServerConfig): string {
  return maskCommandLine([command, ...args].join(" "));
}

/** Says how the MCP endpoints are protected (never the keys), and warns when they are not. */
function warnIfExposed({ host, apiKeys }: ServerSettings): void {
  if (apiKeys.length > 0) {
    log.info(`API key required on the MCP endpoints (${apiKeys.length} key(s) accepted)`);
  } else if (!isLoopbackHost(host)) {
    log.warning(
      `Listening on ${host} without --api-key: anyone who can reach this address can use ` +
        "the servers. Set --api-key or MCP_PROXY_API_KEY, or bind 127.0.0.1.",
    );
  }
}

/** An uncaught error in one line: its name, message and where it was thrown. */
function describeUncaught(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const where = error.stack?.split("\n").find((line) => line.trim().startsWith("at "))?.trim();
  return `${error.name}: ${error.message}${where ? ` (${where})` : ""}`;
}

/**
 * Runs server mode until SIGINT or SIGTERM (or SIGHUP, unless it reloads the config file);
 * resolves to the exit code.
 */
export async function runServer(settings: ServerSettings): Promise<number> {
  // Signals first: the children live in process groups of their own, so a signal's default
  // action (ending only this process) would leave them behind.
  const shutdown = firstShutdownSignal(
    settings.configSource ? ["SIGINT", "SIGTERM"] : ["SIGINT", "SIGTERM", "SIGHUP"],
  );
  const configs = settings.defaultServer
    ? [settings.defaultServer, ...settings.namedServers]
    : settings.namedServers;
  // Resolved once some server runs: the proxy serves from then on, so the others' failed first
  // starts are retried; if none could start, they are stopped instead, never announced as retried.
  const serving = Promise.withResolvers<void>();
  // Before the servers are built: each reads what observes it when it is.
  const observing = observeServer(settings);
  const app = createProxyApp(
    [],
    {
      stateless: settings.stateless,
      allowOrigins: settings.allowOrigins,
      exposeHeaders: settings.exposeHeaders,
      host: settings.host,
      apiKeys: settings.apiKeys,
      maxBodyBytes: settings.maxBodyBytes,
      observer: observing.app,
      scaleOut: settings.scaleOut,
    },
  );
  const served = new ServedServers(app, serving.promise);
  const servers = served.add(configs, settings.aggregate);
  // From now on SIGHUP re-reads the config file (its default action would orphan children).
  const source = settings.configSource;
  const keep = new Set(settings.defaultServer ? [settings.defaultServer.name] : []);
  const stopReloading = source
    ? reloadOnChange(source, (next) => served.reload(next, keep))
    : () => {};
  warnIfExposed(settings);
  // Listen before the servers start: a slow one must not keep the port closed. Its clients
  // wait (it shows "starting" in /status) or get an error once it fails.
  let http;
  try {
    http = await runtime.serve({
      hostname: settings.host,
      port: settings.port,
      handler: app.handle,
      limits: settings.httpLimits,
      onWarning: (message) => log.warning(message),
      onRefused: observing.onRefused,
    });
  } catch (error) {
    log.error(`Could not listen on ${settings.host}:${settings.port}: ${(error as Error).message}`);
    stopReloading();
    return 1;
  }
  // After the listener's own guards: an error that escaped one client's exchange (a bug) is
  // logged, and the proxy goes on serving every other client rather than end with it.
  runtime.containUncaughtErrors((error) =>
    log.error(`Uncaught error, contained (the proxy keeps serving): ${describeUncaught(error)}`)
  );
  const base = baseUrl(settings.host, http.port);
  const starts = servers.map((server) => server.start());
  log.info(`Listening on ${base}; starting ${configs.length} MCP server(s)`);
  const stopEverything = async () => {
    stopReloading();
    await app.close();
    // Stopping the servers answers requests still in flight, which lets their exchanges end.
    await Promise.all([settlesWithin(http.shutdown(), HTTP_SHUTDOWN_GRACE_MS), served.stopAll()]);
  };

  Promise.any(starts).then(() => serving.resolve(), () => {});
  const started = Promise.allSettled(starts);
  const outcome = await Promise.race([started, shutdown]);
  if (typeof outcome === "string") {
    log.info(`Received ${outcome} during start-up; stopping`);
    await stopEverything();
    return 0;
  }
  const failed = configs.filter((_, i) => outcome[i].status === "rejected");
  if (failed.length === configs.length) {
    log.error(
      `No MCP server could start (${
        failed.map((c) => `'${commandLine(c)}'`).join(", ")
      }). Exiting.`,
    );
    await stopEverything();
    return 1;
  }
  for (const config of failed) {
    log.warning(`Serving without '${config.name}' until it starts; its routes answer with errors`);
  }
  if (settings.aggregate) {
    log.info(
      `Serving ${
        settings.aggregate.servers.map((name) => `'${name}'`).join(", ")
      } as one MCP server (the aggregate) at /mcp and /sse`,
    );
  }
  logUrls(base, [
    ...(settings.aggregate ? [""] : []),
    ...configs.map((config) => config.pathPrefix),
  ]);

  const signal = await shutdown;
  if (signal === "SIGTERM" && settings.drainTimeoutMs > 0) {
    await drain(app, settings.drainTimeoutMs);
  }
  log.info(`Received ${signal}; shutting down`);
  await stopEverything();
  return 0;
}

/**
 * The drain after SIGTERM: new sessions and calls are refused while the open ones are served,
 * until none is left, `timeoutMs` has passed, or a second SIGTERM or SIGINT comes.
 */
async function drain(app: ProxyApp, timeoutMs: number): Promise<void> {
  log.info(
    `Received SIGTERM; draining for up to ${timeoutMs / 1000} s: new sessions and calls get ` +
      "503, open ones are served",
  );
  const stop = Promise.withResolvers<never>();
  const stops = (["SIGINT", "SIGTERM"] as const).map((signal) =>
    runtime.onSignal(signal, () => stop.reject(signal))
  );
  try {
    const { sessions, calls } = await Promise.race([app.drain(timeoutMs), stop.promise]);
    log.info(`Drain over: ${sessions} session(s) and ${calls} call(s) left`);
  } catch (signal) {
    log.info(`Received ${signal} while draining; stopping at once`);
  } finally {
    for (const unsubscribe of stops) unsubscribe();
  }
}
