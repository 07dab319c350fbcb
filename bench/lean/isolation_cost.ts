/**
 * What a child per user costs (`"isolation": "header:X-User"`): the first call of a new user,
 * which waits for that user's child to start (spawn, era probe, `initialize`), against a call
 * answered by a child that runs already, both in one run of one proxy. Each user makes one
 * first call and then `--calls` more on its child; the ratio is taken per user (first call ÷
 * the median of its later calls) and reported as the median over users. The children are the
 * lean echo child; the calls are modern-era (2026-07-28) `tools/call`s, one POST each.
 *
 * Run: `deno run -A bench/lean/isolation_cost.ts [--users N] [--calls N]`
 * (`MCP_PROXY_BIN` measures a built binary instead of main.ts).
 * @module
 */
import { parseArgs } from "node:util";
import { proxyCommand } from "../../tests/support/paths.ts";
import { freePort, startProcess, waitForPort } from "../process.ts";
import { markdownTable, median } from "../report.ts";
import { httpCaller, MODERN_ECHO_PARAMS, MODERN_HEADERS } from "./clients.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD } from "./systems.ts";

/** Per user: its first call, and the median of its calls on the running child, ms. */
export interface UserTimes {
  /** The first call, which started the user's child. */
  readonly firstMs: number;
  /** The median of the calls after it. */
  readonly runningMs: number;
}

/** How long `call` takes, ms. */
async function timed(call: () => Promise<void>): Promise<number> {
  const start = performance.now();
  await call();
  return performance.now() - start;
}

/**
 * Starts the proxy with one header-isolated server of the echo child, and times `users` new
 * users (after one unmeasured user, who warms the proxy up), each with `calls` calls on its
 * child after its first.
 */
export async function measureIsolation(users: number, calls: number): Promise<UserTimes[]> {
  const dir = await Deno.makeTempDir();
  const config = `${dir}/servers.json`;
  const [command, ...args] = ECHO_CHILD;
  const server = { command, args, isolation: "header:X-User", maxChildren: users + 1 };
  await Deno.writeTextFile(config, JSON.stringify({ mcpServers: { echo: server } }));
  const port = freePort();
  const proxy = proxyCommand();
  const process = startProcess({
    command: proxy.command,
    args: [...proxy.args, "--port", String(port), "--named-server-config", config],
  });
  try {
    await waitForPort(port);
    const url = `http://127.0.0.1:${port}/servers/echo/mcp`;
    const times: UserTimes[] = [];
    for (let user = 0; user <= users; user++) {
      const headers = { ...MODERN_HEADERS, "x-user": `user-${user}` };
      const call = httpCaller(url, headers, MODERN_ECHO_PARAMS, `user ${user}'s call`);
      const firstMs = await timed(call);
      const running: number[] = [];
      for (let i = 0; i < calls; i++) running.push(await timed(call));
      if (user > 0) times.push({ firstMs, runningMs: median(running) });
    }
    return times;
  } catch (error) {
    throw new Error(`${error}\n--- proxy output ---\n${process.output.tail()}`);
  } finally {
    await process.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The row of the lean table: a new user's first call against a call on a running child. */
export function isolationTable(times: readonly UserTimes[]): string {
  const ms = (value: number) => value.toFixed(1);
  return markdownTable(["", "ours", "baseline", "ours / baseline"], [[
    "child per user, /mcp modern era: a new user's first call vs a call on its running child, ms",
    spread(times.map((t) => t.firstMs), ms),
    spread(times.map((t) => t.runningMs), ms),
    spread(times.map((t) => t.firstMs / t.runningMs), (v) => v.toFixed(1)),
  ]]);
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { users: { type: "string", default: "8" }, calls: { type: "string", default: "20" } },
  });
  const times = await measureIsolation(Number(values.users), Number(values.calls));
  console.log(isolationTable(times));
}
