/**
 * Stdio server configurations for the relay tests, and a helper that runs a test against a
 * started {@linkcode SharedServer} and always stops it.
 * @module
 */
import type { StdioServerConfig } from "../../src/config.ts";
import {
  createSharedServer,
  type SharedServerOptions,
} from "../../src/server/child/shared_server.ts";
import type { SharedServer } from "../../src/core/types.ts";
import { EVERYTHING_SERVER, ROOT } from "./paths.ts";

/** The fixture server's script. */
export const FIXTURE_SERVER = `${ROOT}tests/fixtures/relay_fixture_server.ts`;

/** The environment a child needs to find `node`, `deno` and `sh`. */
export function childEnv(): Record<string, string> {
  return { PATH: Deno.env.get("PATH") ?? "", HOME: Deno.env.get("HOME") ?? "/" };
}

/** `node server-everything stdio`. */
export function everythingConfig(): StdioServerConfig {
  return {
    name: "everything",
    command: "node",
    args: [EVERYTHING_SERVER, "stdio"],
    env: childEnv(),
  };
}

/** The fixture server, run by the Deno running the tests. */
export function fixtureConfig(): StdioServerConfig {
  return {
    name: "fixture",
    command: Deno.execPath(),
    args: ["run", "--quiet", "--no-check", FIXTURE_SERVER],
    env: childEnv(),
  };
}

/** Options that keep tests quick and quiet; `stderr` collects the child's stderr lines. */
export function testOptions(stderr: string[] = []): SharedServerOptions {
  return {
    backoff: { initialMs: 50, maxMs: 400, stableMs: 5_000 },
    stopGraceMs: 500,
    onStderrLine: (line) => stderr.push(line),
  };
}

/** Starts a shared server for `config`, runs `body`, and stops the server whatever happens. */
export async function withServer(
  config: StdioServerConfig,
  body: (server: SharedServer) => Promise<void>,
  options: SharedServerOptions = testOptions(),
): Promise<void> {
  const server = createSharedServer(config, options);
  try {
    await server.start();
    await body(server);
  } finally {
    await server.stop();
  }
}
