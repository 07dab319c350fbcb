/**
 * What an idle session costs the whole process: our proxy in server mode in front of the lean
 * echo child, its RSS read before and after `--sessions` idle `/mcp` sessions (each
 * initialized, then left), then after `--streams` open `/sse` streams (each kept open with its
 * connection, its endpoint event read). Unlike `session_memory.ts`'s heap figures, these include
 * what a session costs outside the JavaScript heap: for `/sse` its connection and the HTTP
 * engine's state for it.
 *
 * Run: `deno run -A bench/lean/session_rss.ts [--sessions 2000] [--streams 500] [--rounds 3]
 * [--build NAME=PATH]…`: ours (`MCP_PROXY_BIN` or the checkout's main.ts) and each build (a
 * `main.ts`, a bundle or an executable), measured afresh in every round, the order rotating.
 * Medians over rounds, KiB per session.
 * @module
 */
import { parseArgs } from "node:util";
import { commandFor, proxyCommand } from "../../tests/support/paths.ts";
import { freePort, readMemory, sleep, startProcess } from "../process.ts";
import { INITIALIZE_PARAMS, POST_HEADERS, requestLine, sseClient } from "./clients.ts";
import { spread } from "./report.ts";
import { ECHO_CHILD, firstAnswer } from "./systems.ts";

/** How long RSS is left to settle after the sessions were opened. */
const SETTLE_MS = 1_000;

/** Sessions opened at once. */
const CONCURRENCY = 20;

/** A build to measure: its name and command line. */
interface Build {
  name: string;
  command: { command: string; args: string[] };
}

/** KiB per idle `/mcp` session and per open `/sse` stream of one run of `build`. */
interface SessionCost {
  mcpKiB: number;
  sseKiB: number;
}

/** RSS of `pid` in KiB, after `SETTLE_MS`. */
async function settledRss(pid: number): Promise<number> {
  await sleep(SETTLE_MS);
  const memory = readMemory(pid);
  if (!memory) throw new Error("the proxy is gone");
  return memory.rssKb;
}

/** Runs `count` tasks, `CONCURRENCY` at a time. */
async function inParallel(count: number, task: () => Promise<void>): Promise<void> {
  let started = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (started < count) {
      started++;
      await task();
    }
  }));
}

/** Opens an idle `/mcp` session: `initialize` answered with a session id, then nothing. */
async function idleMcpSession(url: string): Promise<void> {
  const response = await fetch(url, {
    method: "POST",
    headers: POST_HEADERS,
    body: requestLine(0, "initialize", INITIALIZE_PARAMS),
  });
  const text = await response.text();
  if (!response.ok || !response.headers.get("mcp-session-id") || !text.includes('"result"')) {
    throw new Error(`initialize: HTTP ${response.status} ${text.slice(0, 200)}`);
  }
}

/** One run of `build`: its RSS per idle `/mcp` session and per open `/sse` stream. */
async function measure(build: Build, sessions: number, streams: number): Promise<SessionCost> {
  const port = freePort();
  const proxy = startProcess({
    command: build.command.command,
    args: [
      ...build.command.args,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--",
      ...ECHO_CHILD,
    ],
  });
  const base = `http://127.0.0.1:${port}`;
  const open: { close(): Promise<void> }[] = [];
  try {
    // The first session starts everything that is started once (the child, compiled code).
    await firstAnswer(`${base}/mcp`, proxy.spawnedAt);
    const before = await settledRss(proxy.pid);
    await inParallel(sessions, () => idleMcpSession(`${base}/mcp`));
    const withSessions = await settledRss(proxy.pid);
    await inParallel(streams, async () => {
      open.push(await sseClient(`${base}/sse`));
    });
    const withStreams = await settledRss(proxy.pid);
    return {
      mcpKiB: (withSessions - before) / sessions,
      sseKiB: (withStreams - withSessions) / streams,
    };
  } finally {
    await Promise.all(open.map((stream) => stream.close()));
    await proxy.stop();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      sessions: { type: "string", default: "2000" },
      streams: { type: "string", default: "500" },
      rounds: { type: "string", default: "3" },
      build: { type: "string", multiple: true, default: [] },
    },
  });
  const builds: Build[] = [
    { name: "ours", command: proxyCommand() },
    ...values.build.map((spec) => {
      const [name, path] = spec.split("=", 2);
      if (!path) throw new Error(`--build NAME=PATH, not ${spec}`);
      return { name, command: commandFor(path) };
    }),
  ];
  const results = new Map<string, SessionCost[]>(builds.map(({ name }) => [name, []]));
  const sessions = Number(values.sessions);
  const streams = Number(values.streams);
  for (let round = 0; round < Number(values.rounds); round++) {
    for (let i = 0; i < builds.length; i++) {
      const build = builds[(round + i) % builds.length];
      const cost = await measure(build, sessions, streams);
      results.get(build.name)!.push(cost);
      console.error(
        `round ${round + 1} ${build.name}: ${cost.mcpKiB.toFixed(1)} KiB per /mcp session, ` +
          `${cost.sseKiB.toFixed(1)} KiB per /sse stream`,
      );
    }
  }
  console.log(
    `| build | KiB per idle /mcp session (${sessions}) | KiB per open /sse stream (${streams}) |`,
  );
  console.log("| --- | ---: | ---: |");
  const kib = (value: number) => value.toFixed(1);
  for (const [name, costs] of results) {
    const mcp = spread(costs.map((cost) => cost.mcpKiB), kib);
    console.log(`| ${name} | ${mcp} | ${spread(costs.map((cost) => cost.sseKiB), kib)} |`);
  }
}
