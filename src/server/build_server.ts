/**
 * The {@linkcode SharedServer} each configured server is served through: its child (or one
 * child per user), with the filters its configuration asks for.
 * @module
 */
import type { ServedServerConfig } from "../config.ts";
import { writeChildStderr } from "../io/log.ts";
import type { SharedServer } from "../core/types.ts";
import { createFilteredServer } from "../core/gateway/filtered_server.ts";
import { observed } from "../core/observe/observed.ts";
import { createIsolatedServer } from "./child/isolated_server.ts";
import { createSharedServer } from "./child/shared_server.ts";

/**
 * The server that serves `config`, its children's stderr queued for ours (never blocking); a
 * failed first start is retried once `serving` resolves (once the proxy serves at all).
 */
export function buildServer(config: ServedServerConfig, serving: Promise<void>): SharedServer {
  const server = config.isolation
    ? createIsolatedServer({ ...config, isolation: config.isolation }, {
      onStderrLine: (line, child) => writeChildStderr(child, line),
    })
    : createSharedServer(config, {
      onStderrLine: (line) => writeChildStderr(config.name, line),
      firstRetryAfter: serving,
    });
  if (!config.filters) return server;
  return createFilteredServer(server, config.filters, {
    calls: observed.calls?.forServer(config.name),
  });
}
